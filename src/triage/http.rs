//! The one HTTP call the model providers make: a JSON POST on a synchronous ureq agent (rustls on
//! the ring provider), bounded by the call's deadline, retried with exponential backoff for
//! errors that may pass (429, 5xx, a reset or refused connection) and never for those that will
//! not (400, 401, 403 and the other 4xx).

use std::io::ErrorKind;
use std::thread;
use std::time::{Duration, Instant};

/// Why a provider call produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The deadline (the SLA) passed.
    #[error("no answer within the SLA ({0})")]
    Timeout(String),
    /// A transient error persisted through every retry.
    #[error("provider kept failing after {attempts} attempts: {detail}")]
    Transient { attempts: u32, detail: String },
    /// An error retrying cannot fix (bad request, bad key, forbidden, bad endpoint).
    #[error("provider refused the call: {0}")]
    Permanent(String),
}

/// How calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait before the second attempt; doubled each time.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

/// The largest answer read from a provider.
const MAX_BODY_BYTES: u64 = 1 << 20;

/// Whether an HTTP status is worth retrying.
pub fn retryable_status(status: u16) -> bool {
    status == 429 || status == 408 || (500..=599).contains(&status)
}

enum Attempt {
    Done(String),
    Retry {
        detail: String,
        after: Option<Duration>,
    },
    Fail(CallError),
}

fn one_attempt(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(String, String)],
    body: &str,
    remaining: Duration,
) -> Attempt {
    let mut request = agent
        .post(url)
        .config()
        .timeout_global(Some(remaining))
        .http_status_as_error(false)
        .build()
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let mut response = match request.send(body) {
        Ok(response) => response,
        Err(error) => return classify(error),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = match response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_string()
    {
        Ok(text) => text,
        Err(error) => return classify(error),
    };
    if (200..300).contains(&status) {
        Attempt::Done(text)
    } else {
        let excerpt: String = text.chars().take(200).collect();
        let detail = format!("HTTP {status} from {url}: {excerpt}");
        if retryable_status(status) {
            Attempt::Retry {
                detail,
                after: retry_after,
            }
        } else {
            Attempt::Fail(CallError::Permanent(detail))
        }
    }
}

fn classify(error: ureq::Error) -> Attempt {
    match error {
        ureq::Error::Timeout(which) => Attempt::Fail(CallError::Timeout(format!("{which:?}"))),
        ureq::Error::Io(io) if matches!(io.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            Attempt::Fail(CallError::Timeout(io.to_string()))
        }
        ureq::Error::Io(io) => Attempt::Retry {
            detail: format!("connection error: {io}"),
            after: None,
        },
        ureq::Error::ConnectionFailed | ureq::Error::Protocol(_) => Attempt::Retry {
            detail: error.to_string(),
            after: None,
        },
        other => Attempt::Fail(CallError::Permanent(other.to_string())),
    }
}

/// Posts `body` to `url` and returns the answer's text, retrying transient errors until the
/// policy's attempts or the deadline run out.
pub fn post_json(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(String, String)],
    body: &str,
    deadline: Instant,
    retry: RetryPolicy,
) -> Result<String, CallError> {
    let mut backoff = retry.initial_backoff;
    let mut last = String::new();
    for attempt in 1..=retry.max_attempts.max(1) {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(CallError::Timeout(format!(
                "after {} attempts; last: {last}",
                attempt - 1
            )));
        }
        match one_attempt(agent, url, headers, body, remaining) {
            Attempt::Done(text) => return Ok(text),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry { detail, after } => {
                tracing::warn!(attempt, error = %detail, "Triage provider call failed; retrying");
                last = detail;
                if attempt == retry.max_attempts.max(1) {
                    break;
                }
                let wait = after.unwrap_or(backoff).min(retry.max_backoff);
                if Instant::now() + wait >= deadline {
                    return Err(CallError::Timeout(format!(
                        "the next retry would pass the SLA; last: {last}"
                    )));
                }
                thread::sleep(wait);
                backoff = (backoff * 2).min(retry.max_backoff);
            }
        }
    }
    Err(CallError::Transient {
        attempts: retry.max_attempts.max(1),
        detail: last,
    })
}

/// The agent every provider uses: no redirects (an API endpoint has no business redirecting a
/// key elsewhere), our user agent.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .user_agent(concat!("otsentry/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// What the HTTP providers share: the base URL (without a trailing slash), the model, the retry
/// policy and the agent, and one call that posts a JSON body under the deadline and turns the
/// response body into the answer's text with the provider's own extractor.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub base: String,
    pub model: String,
    pub retry: RetryPolicy,
    agent: ureq::Agent,
}

impl Endpoint {
    pub fn new(base: &str, model: &str, retry: RetryPolicy) -> Endpoint {
        Endpoint {
            base: base.trim_end_matches('/').to_string(),
            model: model.to_string(),
            retry,
            agent: agent(),
        }
    }

    /// The base URL with `path` appended. A base that already ends with the whole path, or
    /// with its tail from a `/` on, is the whole URL; one that ends with its head up to a `/`
    /// (`/v1`, as Ollama and vLLM print their base) gets the rest.
    pub fn url(&self, path: &str) -> String {
        let base = &self.base;
        let cuts: Vec<usize> = path.match_indices('/').map(|(at, _)| at).skip(1).collect();
        if base.ends_with(path) || cuts.iter().any(|&at| base.ends_with(&path[at..])) {
            return base.clone();
        }
        match cuts.iter().rev().find(|&&at| base.ends_with(&path[..at])) {
            Some(&at) => format!("{base}{}", &path[at..]),
            None => format!("{base}{path}"),
        }
    }

    /// Posts `body` to `url` and returns the answer's text.
    pub fn call(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &serde_json::Value,
        deadline: Instant,
        reply_text: fn(&str) -> String,
    ) -> Result<String, CallError> {
        post_json(
            &self.agent,
            url,
            headers,
            &body.to_string(),
            deadline,
            self.retry,
        )
        .map(|text| reply_text(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_gets_the_path_it_lacks() {
        let url =
            |base: &str, path: &str| Endpoint::new(base, "m", RetryPolicy::default()).url(path);
        let chat = "/v1/chat/completions";
        for (base, expected) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:8080/",
                "http://127.0.0.1:8080/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:11434/v1",
                "http://127.0.0.1:11434/v1/chat/completions",
            ),
            (
                "http://h/v1/chat/completions",
                "http://h/v1/chat/completions",
            ),
            (
                "http://h/api/chat/completions",
                "http://h/api/chat/completions",
            ),
        ] {
            assert_eq!(url(base, chat), expected, "{base}");
        }
        assert_eq!(
            url("https://api.anthropic.com", "/v1/messages"),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            url("http://h/v1/messages", "/v1/messages"),
            "http://h/v1/messages"
        );
    }
}
