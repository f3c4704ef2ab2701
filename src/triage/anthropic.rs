//! The Anthropic Messages API provider: `POST {endpoint}/v1/messages` with the key from the
//! configured environment variable in `x-api-key`, the instructions as the system prompt and the
//! alert document as the user message; the answer is the text of the reply's text blocks.

use std::time::Instant;

use serde_json::json;

use super::context::TriageContext;
use super::http::{CallError, Endpoint, RetryPolicy};
use super::provider::{INSTRUCTIONS, MAX_TOKENS, Provider};

/// The API version header the Messages API requires.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
pub const DEFAULT_ENDPOINT: &str = "https://api.anthropic.com";

#[derive(Debug, Clone)]
pub struct Anthropic {
    pub endpoint: Endpoint,
    pub api_key: String,
}

impl Anthropic {
    pub fn new(endpoint: &str, model: &str, api_key: &str, retry: RetryPolicy) -> Self {
        Anthropic {
            endpoint: Endpoint::new(endpoint, model, retry),
            api_key: api_key.to_string(),
        }
    }
}

/// The text blocks of a Messages API reply, or the whole body when it is not one (the contract
/// then reports it as invalid output).
pub fn reply_text(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.to_string();
    };
    let Some(blocks) = value.get("content").and_then(|content| content.as_array()) else {
        return body.to_string();
    };
    blocks
        .iter()
        .filter(|block| block.get("type").and_then(|kind| kind.as_str()) == Some("text"))
        .filter_map(|block| block.get("text").and_then(|text| text.as_str()))
        .collect::<Vec<_>>()
        .join("")
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.endpoint.model
    }

    fn advise(&self, context: &TriageContext, deadline: Instant) -> Result<String, CallError> {
        let body = json!({
            "model": self.endpoint.model,
            "max_tokens": MAX_TOKENS,
            "temperature": 0,
            "system": INSTRUCTIONS,
            "messages": [{
                "role": "user",
                "content": [{"type": "text", "text": context.to_json()}],
            }],
        });
        let headers = [
            ("x-api-key".to_string(), self.api_key.clone()),
            (
                "anthropic-version".to_string(),
                ANTHROPIC_VERSION.to_string(),
            ),
        ];
        let url = self.endpoint.url("/v1/messages");
        self.endpoint
            .call(&url, &headers, &body, deadline, reply_text)
    }
}
