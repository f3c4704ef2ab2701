//! Baselines the event detectors learn in training and keep in the model file, each as its own
//! named section ([`BaselineSection`]): the list of learners, and the encoding and decoding of a
//! section.
//!
//! A learner sees every training record the feature state machine sees, in reading order, with
//! the record's interned ids, so a baseline can be keyed by the same edge ids scoring finds on
//! each row. The model file stores sections by name and knows nothing of what they hold; a
//! detector reads its own section back, checks its version, and says plainly when a model has
//! none (a model trained before the detector existed): it then stays silent rather than guess.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::features::{FlowEvent, RawRow, Schema};
use crate::model::{BaselineSection, LoadedModel};

/// What a learner sees of one training record.
#[derive(Clone, Copy, Debug)]
pub struct TrainingRecord<'a> {
    pub event: &'a FlowEvent<'a>,
    pub schema: Schema,
    /// The record's interned ids in the training vocabulary (the ids scoring will see).
    pub raw: &'a RawRow,
}

/// A detector's training half: it watches the training pass and writes one section.
pub trait Learner: Send {
    /// The section's name: the detector's name.
    fn name(&self) -> &'static str;

    /// Sees one training record, in reading order.
    fn observe(&mut self, record: &TrainingRecord<'_>);

    /// Sees one training value record (`modbus_detailed`: register values, no schema, no
    /// interned ids), in reading order; most learners ignore them.
    fn observe_values(&mut self, _event: &FlowEvent<'_>) {}

    /// The learnt baseline, at the end of the pass.
    fn finish(self: Box<Self>) -> Result<BaselineSection, BaselineError>;
}

/// Every detector that learns a baseline of its own, in a fixed order (one line each).
pub fn learners() -> Vec<Box<dyn Learner>> {
    vec![
        Box::new(super::rhythm::RhythmLearner::default()),
        Box::new(super::schedule::ScheduleLearner::default()),
        Box::new(super::function_code::Learner::default()),
        Box::new(super::process_value::Learner::default()),
        Box::new(super::flow_shape::Learner::default()),
    ]
}

/// Feeds one training record to every learner.
pub fn observe_all(learners: &mut [Box<dyn Learner>], record: &TrainingRecord<'_>) {
    for learner in learners {
        learner.observe(record);
    }
}

/// Feeds one training value record to every learner.
pub fn observe_values_all(learners: &mut [Box<dyn Learner>], event: &FlowEvent<'_>) {
    for learner in learners {
        learner.observe_values(event);
    }
}

/// Ends the pass: every learner's section.
pub fn finish_all(learners: Vec<Box<dyn Learner>>) -> Result<Vec<BaselineSection>, BaselineError> {
    learners
        .into_iter()
        .map(|learner| learner.finish())
        .collect()
}

/// Why a baseline section could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot encode the {name} baseline: {source}")]
    Encode {
        name: &'static str,
        source: postcard::Error,
    },
    #[error("the model's {name} baseline cannot be decoded: {source}")]
    Decode {
        name: &'static str,
        source: postcard::Error,
    },
    #[error(
        "the model's {name} baseline is version {found}, this otsentry reads version {expected}; retrain the model with this otsentry"
    )]
    Version {
        name: &'static str,
        found: u32,
        expected: u32,
    },
}

/// A baseline as a section.
pub fn encode<T: Serialize>(
    name: &'static str,
    version: u32,
    baseline: &T,
) -> Result<BaselineSection, BaselineError> {
    let body =
        postcard::to_allocvec(baseline).map_err(|source| BaselineError::Encode { name, source })?;
    Ok(BaselineSection {
        name: name.to_string(),
        version,
        body,
    })
}

/// The baseline a model holds under `name`, `None` when it has no such section.
pub fn decode<T: DeserializeOwned>(
    model: &LoadedModel,
    name: &'static str,
    version: u32,
) -> Result<Option<T>, BaselineError> {
    let Some(section) = model.baseline(name) else {
        return Ok(None);
    };
    if section.version != version {
        return Err(BaselineError::Version {
            name,
            found: section.version,
            expected: version,
        });
    }
    postcard::from_bytes(&section.body)
        .map(Some)
        .map_err(|source| BaselineError::Decode { name, source })
}

/// Helpers for the detectors' unit tests: connection events, and a training pass and a scoring
/// pass through the real feature state machine.
#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::detect::{Detector, Finding, Observation};
    use crate::features::{ConnFields, EdgeRef, EventKind, Extractor, Proto};

    /// A connection `src -> dst:port/tcp service` at `ts` lasting `duration` seconds.
    pub fn conn(
        ts: f64,
        src: &str,
        dst: &str,
        port: u16,
        service: &'static str,
        duration: f64,
    ) -> FlowEvent<'static> {
        FlowEvent {
            ts,
            uid: "Ctest",
            orig_p: 40000,
            edge: EdgeRef {
                orig_h: src.parse().unwrap(),
                resp_h: dst.parse().unwrap(),
                resp_p: port,
                proto: Proto::Tcp,
                service,
            },
            ot: port == 502,
            kind: EventKind::Conn(ConnFields {
                duration: Some(duration),
                orig_bytes: Some(100),
                resp_bytes: Some(100),
                orig_pkts: Some(5),
                resp_pkts: Some(5),
                conn_state: "SF",
            }),
        }
    }

    /// Trains `learner` on `training` and returns its section and the frozen vocabulary.
    pub fn learn(
        mut learner: Box<dyn Learner>,
        training: &[FlowEvent<'_>],
    ) -> (BaselineSection, Extractor) {
        let mut extractor = Extractor::fit(Schema::Conn, 1 << 16);
        for event in training {
            let raw = extractor.push(event).unwrap();
            learner.observe(&TrainingRecord {
                event,
                schema: Schema::Conn,
                raw: &raw,
            });
        }
        extractor.freeze();
        (
            learner.finish().unwrap(),
            Extractor::score(extractor.into_vocab()),
        )
    }

    /// Scores `events` with `detector` over `extractor`'s vocabulary.
    pub fn score(
        detector: &mut dyn Detector,
        extractor: &mut Extractor,
        events: &[FlowEvent<'_>],
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        for event in events {
            let raw = extractor.push(event).unwrap();
            let observation = Observation {
                event,
                schema: Schema::Conn,
                raw: &raw,
                vocab: extractor.vocab(),
            };
            detector.observe(&observation, &mut findings);
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_round_trips_and_names_its_errors() {
        let value: Vec<(String, u64)> = vec![("edge".to_string(), 7)];
        let section = encode("example", 3, &value).unwrap();
        assert_eq!((section.name.as_str(), section.version), ("example", 3));
        let back: Vec<(String, u64)> = postcard::from_bytes(&section.body).unwrap();
        assert_eq!(back, value);
        let error = BaselineError::Version {
            name: "example",
            found: 3,
            expected: 4,
        };
        assert!(error.to_string().contains("retrain"), "{error}");
    }
}
