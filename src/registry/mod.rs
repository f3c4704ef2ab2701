//! The model registry: the stages of a model's life and the only moves between them (`stage`),
//! the checks a model must pass before it replaces production (`promotion`), the baseline diff
//! between a candidate and production (`diff`), the staging evidence in words (`evidence`), the
//! model card (`card`), and the conditions
//! under which no retrain may run (`retrain`).
//!
//! Everything here is a pure function of records: the versions themselves live in the store,
//! and every change to them goes through governance (`crate::governance`, `models.rs`), which
//! calls these checks inside the transaction that writes the change and its audit entry.

pub mod card;
pub mod diff;
pub mod evidence;
pub mod promotion;
pub mod retrain;
pub mod stage;

pub use diff::{DiffItem, baseline_diff};
pub use promotion::{Blocker, DEFAULT_STAGING_PERIOD_DAYS, PromotionInput, clear_for_production};
pub use retrain::{RetrainRefusal, RetrainWindow, retrain_blockers};
pub use stage::{Clearance, Transition, WrongStage};
