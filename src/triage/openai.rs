//! The OpenAI-compatible chat completions provider, for the local inference servers an
//! air-gapped site runs (llama.cpp's `llama-server`, Ollama, vLLM): `POST
//! {endpoint}/v1/chat/completions` with the instructions as the system message and the alert
//! document as the user message, a JSON object asked for; the answer is the first choice's content.
//! A key is sent as a bearer token only when one is configured.

use std::time::Instant;

use serde_json::json;

use super::context::TriageContext;
use super::http::{CallError, RetryPolicy, agent, post_json};
use super::provider::{INSTRUCTIONS, MAX_TOKENS, Provider};

#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    pub endpoint: String,
    pub model: String,
    pub api_key: Option<String>,
    pub retry: RetryPolicy,
    agent: ureq::Agent,
}

impl OpenAiCompatible {
    pub fn new(endpoint: &str, model: &str, api_key: Option<&str>, retry: RetryPolicy) -> Self {
        OpenAiCompatible {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            model: model.to_string(),
            api_key: api_key.map(str::to_string),
            retry,
            agent: agent(),
        }
    }

    fn url(&self) -> String {
        if self.endpoint.ends_with("/chat/completions") {
            self.endpoint.clone()
        } else if self.endpoint.ends_with("/v1") {
            format!("{}/chat/completions", self.endpoint)
        } else {
            format!("{}/v1/chat/completions", self.endpoint)
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
        &self.model
    }

    fn advise(&self, context: &TriageContext, deadline: Instant) -> Result<String, CallError> {
        let body = json!({
            "model": self.model,
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
        let text = post_json(
            &self.agent,
            &self.url(),
            &headers,
            &body.to_string(),
            deadline,
            self.retry,
        )?;
        Ok(reply_text(&text))
    }
}
