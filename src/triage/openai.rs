//! The OpenAI-compatible chat completions provider, for the local inference servers an
//! air-gapped site runs (llama.cpp's `llama-server`, Ollama, vLLM): `POST
//! {endpoint}/v1/chat/completions` with the instructions as the system message and the alert
//! document as the user message, a JSON object asked for; the answer is the first choice's content.
//! A key is sent as a bearer token only when one is configured.

use std::time::Instant;

use serde_json::json;

use super::context::TriageContext;
use super::http::{CallError, Endpoint, RetryPolicy};
use super::provider::{INSTRUCTIONS, MAX_TOKENS, Provider};

#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    pub endpoint: Endpoint,
    pub api_key: Option<String>,
}

impl OpenAiCompatible {
    pub fn new(endpoint: &str, model: &str, api_key: Option<&str>, retry: RetryPolicy) -> Self {
        OpenAiCompatible {
            endpoint: Endpoint::new(endpoint, model, retry),
            api_key: api_key.map(str::to_string),
        }
    }
}

/// The first choice's message content, or the whole body when it is not a completion.
pub fn reply_text(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .pointer("/choices/0/message/content")
                .and_then(|content| content.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.to_string())
}

impl Provider for OpenAiCompatible {
    fn name(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.endpoint.model
    }

    fn advise(&self, context: &TriageContext, deadline: Instant) -> Result<String, CallError> {
        let body = json!({
            "model": self.endpoint.model,
            "max_tokens": MAX_TOKENS,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": context.to_json()},
            ],
        });
        let headers: Vec<(String, String)> = self
            .api_key
            .iter()
            .map(|key| ("authorization".to_string(), format!("Bearer {key}")))
            .collect();
        let url = self.endpoint.url("/v1/chat/completions");
        self.endpoint
            .call(&url, &headers, &body, deadline, reply_text)
    }
}
