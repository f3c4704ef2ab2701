//! The advisory triage assistant (docs/triage.md): for each alert, enrichment into a JSON
//! document (`context.rs`), a provider's answer (`provider.rs`: the Anthropic Messages API in
//! `anthropic.rs`, OpenAI-compatible servers in `openai.rs`, the offline rules in `rules.rs`, the
//! default), over one HTTP call with retries and backoff (`http.rs`), the output contract enforced
//! in code (`contract.rs`), the SLA, the queue and the circuit breaker (`triager.rs`,
//! `breaker.rs`), the configuration (`config.rs`), the annotation and drafts written through the
//! AI principal (`record.rs`), and the backtest against analysts' decisions (`backtest.rs`).
//!
//! **Architecture invariant:** triage is advice. It writes only through the triage component's
//! `AiAlertWriter` (an annotation, drafts `pending_human_approval`), never changes an alert's
//! status, severity or assignment, and never delays delivery: a driver submits and moves on.

mod anthropic;
pub mod backtest;
pub mod breaker;
pub mod config;
pub mod context;
pub mod contract;
pub mod event;
pub mod http;
pub mod live;
mod openai;
pub mod pending;
pub mod provider;
pub mod record;
pub mod rules;
pub mod triager;

pub use anthropic::Anthropic;
pub use breaker::{Breaker, BreakerConfig, BreakerState};
pub use config::{ProviderKind, TriageSection, TriageSettings};
pub use context::TriageContext;
pub use contract::{Advice, Classification, SkipReason, enforce, parse_reply};
pub use event::{TriageAction, TriageEvent};
pub use http::{CallError, RetryPolicy};
pub use openai::OpenAiCompatible;
pub use provider::Provider;
pub use rules::OfflineRules;
pub use triager::{
    Submission, TriageJob, TriageMetrics, TriageOutcome, Triager, TriagerConfig, triage_one,
};
