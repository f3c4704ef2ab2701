//! The baseline diff: what a candidate model would treat as normal that the production model
//! did not know (and so alerted on): new hosts, new edges, new function codes, and known edges
//! now using a function they never used. A low-and-slow attacker present in the candidate's
//! training window shows up here ("edge 10.0.0.101 -> 10.0.0.105:4444/tcp"), not silently; each
//! item needs a person's acknowledgement before promotion.
//!
//! Value ranges and schedules are not compared yet: the models keep only per-feature percentile
//! ranges, and the diff lists only what a person can name and check.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::features::{Schema, Vocab};
use crate::model::LoadedModel;

/// One thing the candidate learnt.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DiffItem {
    /// `host`, `edge`, `function` or `edge_function`.
    pub kind: &'static str,
    pub item: String,
}

fn edge_texts(vocab: &Vocab) -> Vec<String> {
    (0..vocab.edges.len() as u32)
        .filter_map(|id| vocab.edges.key(id))
        .map(|ids| {
            let host = |id| {
                vocab
                    .hosts
                    .key(id)
                    .map_or_else(|| "?".to_string(), |ip| ip.to_string())
            };
            format!(
                "{} -> {}:{}/{} {}",
                host(ids.orig),
                host(ids.resp),
                ids.port,
                ids.proto.as_str(),
                vocab.services.key(ids.service).unwrap_or("?")
            )
        })
        .collect()
}

/// Everything a schema's vocabulary knows, as (kind, text) items.
fn known(vocab: &Vocab) -> BTreeSet<(&'static str, String)> {
    let mut items = BTreeSet::new();
    for id in 0..vocab.hosts.len() as u32 {
        if let Some(ip) = vocab.hosts.key(id) {
            items.insert(("host", ip.to_string()));
        }
    }
    let edges = edge_texts(vocab);
    for edge in &edges {
        items.insert(("edge", edge.clone()));
    }
    if vocab.schema == Schema::Request {
        for label in vocab.labels.keys() {
            items.insert(("function", label.to_string()));
        }
        for id in 0..vocab.pairs.len() as u32 {
            let Some((edge, label)) = vocab.pairs.key(id) else {
                continue;
            };
            if let (Some(edge), Some(label)) = (edges.get(edge as usize), vocab.labels.key(label)) {
                items.insert(("edge_function", format!("{edge} {label}")));
            }
        }
    }
    items
}

fn all_known(model: &LoadedModel) -> BTreeSet<(&'static str, String)> {
    model
        .file
        .schemas
        .iter()
        .flat_map(|schema| known(&schema.vocab))
        .collect()
}

/// What `candidate` knows that `production` does not, sorted by kind and text.
pub fn baseline_diff(candidate: &LoadedModel, production: &LoadedModel) -> Vec<DiffItem> {
    let before = all_known(production);
    all_known(candidate)
        .into_iter()
        .filter(|item| !before.contains(item))
        .map(|(kind, item)| DiffItem { kind, item })
        .collect()
}
