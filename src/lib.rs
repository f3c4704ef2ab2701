//! otsentry: explainable, governed anomaly detection for OT/ICS networks, from Zeek logs.
//!
//! The binary in `main.rs` parses arguments and calls into these modules; all logic lives here.

pub mod api;
pub mod audit;
pub mod cli;
pub mod demo;
pub mod eval;
pub mod features;
pub mod governance;
pub mod inspect;
pub mod model;
pub mod ot;
pub mod score;
pub mod simulate;
pub mod store;
pub mod text;
pub mod train;
