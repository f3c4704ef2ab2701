//! The file format: the alert's ECS JSON and a newline per event, as the tcp sink sends it.

pub use crate::sinks::tcp::encode;
