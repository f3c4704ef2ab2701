//! Triage configuration: a small YAML file (`triage:` with provider, model, endpoint, the name of
//! the environment variable holding the key, SLA, queue limit, workers, retries, breaker), each
//! value also settable by a flag, mirrored by [`TriageFile`] (`deny_unknown_fields`) and checked
//! into [`TriageSettings`], which builds the provider. The offline rules are the default.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::anthropic::{self, Anthropic};
use super::breaker::BreakerConfig;
use super::http::RetryPolicy;
use super::openai::OpenAiCompatible;
use super::provider::Provider;
use super::rules::OfflineRules;
use super::triager::TriagerConfig;

/// Why a triage configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read triage configuration {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("triage configuration {path}, line {line}: {message}")]
    Shape {
        path: String,
        line: u64,
        message: String,
    },
    #[error("triage configuration: {0}")]
    Invalid(String),
}

/// Which provider answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Deterministic offline rules, no model (the default).
    Rules,
    /// The Anthropic Messages API.
    Anthropic,
    /// An OpenAI-compatible chat completions server (llama.cpp, Ollama, vLLM).
    Openai,
}

/// The YAML file, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageFile {
    pub triage: TriageSection,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageSection {
    pub provider: Option<ProviderKind>,
    pub model: Option<String>,
    pub endpoint: Option<String>,
    /// The name of the environment variable holding the API key (never the key itself).
    pub api_key_env: Option<String>,
    pub sla_seconds: Option<f64>,
    pub queue_limit: Option<usize>,
    pub workers: Option<usize>,
    pub max_attempts: Option<u32>,
    pub breaker_failures: Option<u32>,
    pub breaker_cooldown_seconds: Option<f64>,
}

impl TriageSection {
    /// `other`'s values where it has them (flags over the file).
    pub fn overlay(self, other: TriageSection) -> TriageSection {
        TriageSection {
            provider: other.provider.or(self.provider),
            model: other.model.or(self.model),
            endpoint: other.endpoint.or(self.endpoint),
            api_key_env: other.api_key_env.or(self.api_key_env),
            sla_seconds: other.sla_seconds.or(self.sla_seconds),
            queue_limit: other.queue_limit.or(self.queue_limit),
            workers: other.workers.or(self.workers),
            max_attempts: other.max_attempts.or(self.max_attempts),
            breaker_failures: other.breaker_failures.or(self.breaker_failures),
            breaker_cooldown_seconds: other
                .breaker_cooldown_seconds
                .or(self.breaker_cooldown_seconds),
        }
    }
}

/// Reads a configuration file.
pub fn load(path: &Path) -> Result<TriageSection, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

pub fn parse(text: &str, origin: &str) -> Result<TriageSection, ConfigError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(64 * 1024),
            max_depth: 8,
            max_documents: 1,
        },
    };
    serde_saphyr::from_str_with_options::<TriageFile>(text, options)
        .map(|file| file.triage)
        .map_err(|error| ConfigError::Shape {
            path: origin.to_string(),
            line: error.location().map_or(0, |location| location.line()),
            message: error
                .without_snippet()
                .to_string()
                .lines()
                .next()
                .unwrap_or("")
                .replace("unknown field", "unknown key")
                .replace("missing field", "missing key"),
        })
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct TriageSettings {
    pub provider: ProviderKind,
    pub model: String,
    pub endpoint: String,
    /// The key read from the named variable.
    api_key: Option<String>,
    pub triager: TriagerConfig,
    pub retry: RetryPolicy,
}

fn seconds(value: Option<f64>, default: f64, what: &str) -> Result<Duration, ConfigError> {
    let value = value.unwrap_or(default);
    if value.is_finite() && value > 0.0 && value <= 3_600.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(ConfigError::Invalid(format!(
            "{what} must be a number of seconds above 0 and at most 3600, not {value}"
        )))
    }
}

impl TriageSection {
    /// Checks the values and reads the key from its environment variable.
    pub fn check(self) -> Result<TriageSettings, ConfigError> {
        let provider = self.provider.unwrap_or(ProviderKind::Rules);
        let sla = seconds(self.sla_seconds, 30.0, "sla_seconds")?;
        let cooldown = seconds(
            self.breaker_cooldown_seconds,
            60.0,
            "breaker_cooldown_seconds",
        )?;
        let queue_limit = self.queue_limit.unwrap_or(100);
        if queue_limit == 0 {
            return Err(ConfigError::Invalid(
                "queue_limit must be at least 1".into(),
            ));
        }
        let workers = self.workers.unwrap_or(2).clamp(1, 64);
        let max_attempts = self.max_attempts.unwrap_or(4).clamp(1, 10);
        let api_key = match &self.api_key_env {
            Some(name) => match std::env::var(name) {
                Ok(key) if !key.trim().is_empty() => Some(key.trim().to_string()),
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "the API key variable {name} is not set"
                    )));
                }
            },
            None => None,
        };
        let (model, endpoint) = match provider {
            ProviderKind::Rules => (super::rules::RULES_MODEL.to_string(), String::new()),
            ProviderKind::Anthropic => {
                if api_key.is_none() {
                    return Err(ConfigError::Invalid(
                        "the anthropic provider needs api_key_env naming the variable that holds the key".into(),
                    ));
                }
                (
                    self.model.ok_or_else(|| {
                        ConfigError::Invalid("the anthropic provider needs a model".into())
                    })?,
                    self.endpoint
                        .unwrap_or_else(|| anthropic::DEFAULT_ENDPOINT.to_string()),
                )
            }
            ProviderKind::Openai => (
                self.model.ok_or_else(|| {
                    ConfigError::Invalid(
                        "the openai provider needs a model (the name the server serves)".into(),
                    )
                })?,
                self.endpoint.ok_or_else(|| {
                    ConfigError::Invalid(
                        "the openai provider needs an endpoint, such as http://127.0.0.1:8080"
                            .into(),
                    )
                })?,
            ),
        };
        let web = endpoint.starts_with("http://") || endpoint.starts_with("https://");
        if !(endpoint.is_empty() || web) {
            return Err(ConfigError::Invalid(format!(
                "endpoint `{endpoint}` must start with http:// or https://"
            )));
        }
        Ok(TriageSettings {
            provider,
            model,
            endpoint,
            api_key,
            triager: TriagerConfig {
                sla,
                queue_limit,
                workers,
                breaker: BreakerConfig {
                    failure_threshold: self.breaker_failures.unwrap_or(5).max(1),
                    cooldown,
                },
            },
            retry: RetryPolicy {
                max_attempts,
                ..RetryPolicy::default()
            },
        })
    }
}

impl TriageSettings {
    /// `rules`, `anthropic` or `openai`.
    pub fn provider_name(&self) -> &'static str {
        match self.provider {
            ProviderKind::Rules => "rules",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Openai => "openai",
        }
    }

    /// The provider these settings name.
    pub fn build_provider(&self) -> Arc<dyn Provider> {
        match self.provider {
            ProviderKind::Rules => Arc::new(OfflineRules),
            ProviderKind::Anthropic => Arc::new(Anthropic::new(
                &self.endpoint,
                &self.model,
                self.api_key.as_deref().unwrap_or(""),
                self.retry,
            )),
            ProviderKind::Openai => Arc::new(OpenAiCompatible::new(
                &self.endpoint,
                &self.model,
                self.api_key.as_deref(),
                self.retry,
            )),
        }
    }
}
