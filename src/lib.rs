//! otsentry: explainable, governed anomaly detection for OT/ICS networks, from Zeek logs.
//!
//! The binary in `main.rs` parses arguments and calls into these modules; all logic lives here.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod cli;
pub mod delivery;
pub mod demo;
pub mod detect;
pub mod eval;
pub mod features;
pub mod governance;
pub mod inspect;
pub mod inventory;
pub mod metrics;
pub mod model;
pub mod ot;
pub mod pipeline;
pub mod score;
pub mod simulate;
pub mod sinks;
pub mod sources;
pub mod store;
pub mod text;
pub mod train;
pub mod watch;
