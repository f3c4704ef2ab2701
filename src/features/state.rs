//! The feature state machine's state in a checkpoint: what scoring added to the training
//! vocabulary (keys seen after training, in id order) and the per-edge rhythm state.
//!
//! Restoring interns the added keys again, in order, into a fresh copy of the training
//! vocabulary, so every id is what it was, and the run continues as if it had never stopped.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Extractor;
use super::vocab::{EdgeIds, Vocab};

/// One extractor's checkpointed state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractorState {
    /// Interner lengths of the training vocabulary: hosts, services, labels, edges, pairs.
    pub trained_lengths: [usize; 5],
    pub hosts: Vec<IpAddr>,
    pub services: Vec<String>,
    pub labels: Vec<String>,
    pub edges: Vec<EdgeIds>,
    pub pairs: Vec<(u32, u32)>,
    /// Time of the previous record per edge id and direction (`None`: none yet).
    pub last_ts: Vec<[Option<f64>; 3]>,
}

/// Why a checkpointed state does not fit the model.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StateError {
    #[error(
        "the checkpoint was written against another vocabulary (its training lengths {found:?}, the model's {expected:?}): was the model replaced?"
    )]
    OtherVocabulary {
        found: [usize; 5],
        expected: [usize; 5],
    },
    #[error("the checkpoint's {what} key {index} does not intern to the id it had")]
    Diverged { what: &'static str, index: usize },
    #[error("the checkpoint refers to {what} id {id}, which does not exist")]
    UnknownId { what: &'static str, id: u32 },
}

fn lengths(vocab: &Vocab) -> [usize; 5] {
    [
        vocab.hosts.len(),
        vocab.services.len(),
        vocab.labels.len(),
        vocab.edges.len(),
        vocab.pairs.len(),
    ]
}

impl Extractor {
    /// The state to checkpoint, relative to the training vocabulary `trained`.
    pub fn checkpoint(&self, trained: &Vocab) -> ExtractorState {
        let [hosts, services, labels, edges, pairs] = lengths(trained);
        let vocab = self.vocab();
        ExtractorState {
            trained_lengths: lengths(trained),
            hosts: vocab.hosts.keys_from(hosts).to_vec(),
            services: vocab
                .services
                .keys_from(services)
                .map(str::to_string)
                .collect(),
            labels: vocab.labels.keys_from(labels).map(str::to_string).collect(),
            edges: vocab.edges.keys_from(edges).to_vec(),
            pairs: vocab.pairs.keys_from(pairs).to_vec(),
            last_ts: self
                .last_ts()
                .iter()
                .map(|slots| slots.map(|ts| (!ts.is_nan()).then_some(ts)))
                .collect(),
        }
    }

    /// A scoring extractor over `trained` that continues from `state`.
    pub fn restore(trained: Vocab, state: &ExtractorState) -> Result<Extractor, StateError> {
        let expected = lengths(&trained);
        if state.trained_lengths != expected {
            return Err(StateError::OtherVocabulary {
                found: state.trained_lengths,
                expected,
            });
        }
        let mut vocab = trained;
        let cap = vocab.cap;
        let check = |what: &'static str, index: usize, id: u32, start: usize| {
            if id as usize == start + index {
                Ok(())
            } else {
                Err(StateError::Diverged { what, index })
            }
        };
        for (index, host) in state.hosts.iter().enumerate() {
            check("host", index, vocab.hosts.intern(*host, cap), expected[0])?;
        }
        for (index, service) in state.services.iter().enumerate() {
            check(
                "service",
                index,
                vocab.services.intern(service, cap),
                expected[1],
            )?;
        }
        for (index, label) in state.labels.iter().enumerate() {
            check("label", index, vocab.labels.intern(label, cap), expected[2])?;
        }
        let (n_hosts, n_services) = (vocab.hosts.len() as u32, vocab.services.len() as u32);
        for (index, edge) in state.edges.iter().enumerate() {
            for (what, id, limit) in [
                ("host", edge.orig, n_hosts),
                ("host", edge.resp, n_hosts),
                ("service", edge.service, n_services),
            ] {
                if id >= limit {
                    return Err(StateError::UnknownId { what, id });
                }
            }
            check("edge", index, vocab.edges.intern(*edge, cap), expected[3])?;
        }
        let (n_edges, n_labels) = (vocab.edges.len() as u32, vocab.labels.len() as u32);
        for (index, pair) in state.pairs.iter().enumerate() {
            if pair.0 >= n_edges {
                return Err(StateError::UnknownId {
                    what: "edge",
                    id: pair.0,
                });
            }
            if pair.1 >= n_labels {
                return Err(StateError::UnknownId {
                    what: "label",
                    id: pair.1,
                });
            }
            check("pair", index, vocab.pairs.intern(*pair, cap), expected[4])?;
        }
        if state.last_ts.len() > vocab.edges.len() {
            return Err(StateError::UnknownId {
                what: "edge",
                id: state.last_ts.len() as u32 - 1,
            });
        }
        let mut extractor = Extractor::score(vocab);
        extractor.set_last_ts(
            state
                .last_ts
                .iter()
                .map(|slots| slots.map(|ts| ts.unwrap_or(f64::NAN)))
                .collect(),
        );
        Ok(extractor)
    }
}
