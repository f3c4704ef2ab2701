//! The deterministic detectors' baselines: what each learnt from the training window, saved in
//! the model artifact beside the forests, one named section per detector.
//!
//! Each detector that needs a baseline has a [`Learner`] that sees every in-scope training record
//! (value records included) in reading order, and a section type of its own, kept in the
//! detector's file. A section is stored as its own postcard bytes under the detector's name, so
//! adding a detector adds a section without changing the others or the artifact's layout, and a
//! model trained before a detector existed loads with that section missing (the detector then
//! has no baseline and says so in its findings' absence, never by guessing one).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::features::FlowEvent;

/// A detector's training pass: it sees every in-scope record before the training window's end.
pub trait Learner: Send {
    /// The detector's name: the section the baseline is saved under.
    fn name(&self) -> &'static str;

    /// Learns from one record, in reading order.
    fn observe(&mut self, event: &FlowEvent<'_>);

    /// The finished baseline, encoded for the artifact.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, postcard::Error>;
}

/// Every detector's learner, in a fixed order.
pub fn learners() -> Vec<Box<dyn Learner>> {
    vec![
        Box::new(super::function_code::Learner::default()),
        Box::new(super::process_value::Learner::default()),
    ]
}

/// The baselines of a model: each detector's section, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baselines {
    pub sections: BTreeMap<String, Vec<u8>>,
}

/// Why a baseline could not be made or read.
#[derive(Debug, Error)]
pub enum BaselineError {
    #[error("cannot encode the {section} baseline: {source}")]
    Encode {
        section: String,
        source: postcard::Error,
    },
    #[error(
        "the model's {section} baseline does not fit this otsentry ({source}); retrain the model with this version"
    )]
    Decode {
        section: String,
        source: postcard::Error,
    },
}

impl Baselines {
    /// Finishes every learner into its section.
    pub fn finish(learners: Vec<Box<dyn Learner>>) -> Result<Baselines, BaselineError> {
        let mut sections = BTreeMap::new();
        for learner in learners {
            let section = learner.name().to_string();
            let bytes = learner
                .finish()
                .map_err(|source| BaselineError::Encode {
                    section: section.clone(),
                    source,
                })?;
            sections.insert(section, bytes);
        }
        Ok(Baselines { sections })
    }

    /// The section of detector `name`, decoded; `None` when the model has none (it was trained
    /// before the detector existed).
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, BaselineError> {
        let Some(bytes) = self.sections.get(name) else {
            return Ok(None);
        };
        postcard::from_bytes(bytes)
            .map(Some)
            .map_err(|source| BaselineError::Decode {
                section: name.to_string(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_round_trips_and_a_missing_one_is_none() {
        let mut baselines = Baselines::default();
        let value: Vec<(String, u64)> = vec![("edge".to_string(), 7)];
        baselines.sections.insert(
            "example".to_string(),
            postcard::to_allocvec(&value).unwrap(),
        );
        let back: Option<Vec<(String, u64)>> = baselines.section("example").unwrap();
        assert_eq!(back, Some(value));
        assert!(baselines.section::<Vec<u64>>("absent").unwrap().is_none());
    }

    #[test]
    fn a_section_of_another_shape_is_a_clear_error() {
        let mut baselines = Baselines::default();
        baselines
            .sections
            .insert("example".to_string(), vec![0xff, 0xff]);
        let error = baselines
            .section::<Vec<String>>("example")
            .unwrap_err()
            .to_string();
        assert!(error.contains("example baseline"), "{error}");
        assert!(error.contains("retrain"), "{error}");
    }
}
