//! otsentry: explainable, governed anomaly detection for OT/ICS networks, from Zeek logs.
//!
//! The binary in `main.rs` parses arguments and calls into these modules; all logic lives here.

pub mod api;
pub mod audit;
pub mod cli;
pub mod eval;
pub mod governance;
pub mod inspect;
pub mod ot;
pub mod simulate;
pub mod store;
