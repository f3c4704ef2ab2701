//! What each host did in training: which services it answered on, which it used as a client, and
//! whether it is an OT asset (an end of any OT communication). Learnt from the model's
//! vocabularies, so every model has it without retraining.
//!
//! The roles decide two things: which records that are not OT traffic still reach the detectors
//! (those touching an OT asset: an SMB session from an RTU is not OT traffic, but it is the
//! attack), and the words an alert uses for a host ("polled on modbus 502/tcp, never originated").

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use crate::features::intern::KeyHashState;
use crate::features::{Schema, Vocab};
use crate::ot::OtSelector;

/// One host's training behaviour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Role {
    /// (service, port) pairs it answered on.
    pub serves: BTreeSet<(String, u16)>,
    /// Services it used as a client.
    pub uses: BTreeSet<String>,
    /// True when it was an end of OT traffic.
    pub ot: bool,
    /// True when it originated at least one connection or request.
    pub originated: bool,
    /// True when it answered at least one.
    pub answered: bool,
}

impl Role {
    /// The role in words, e.g. `answers modbus on 502/tcp, never originated in training`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.serves.is_empty() {
            let served: Vec<String> = self
                .serves
                .iter()
                .take(4)
                .map(|(service, port)| format!("{service} on {port}"))
                .collect();
            let more = self.serves.len().saturating_sub(4);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            parts.push(format!("answers {}{tail}", served.join(", ")));
        }
        if self.originated {
            let used: Vec<&str> = self.uses.iter().take(4).map(String::as_str).collect();
            parts.push(format!("polls/uses {}", used.join(", ")));
        } else {
            parts.push("never originated".to_string());
        }
        format!("{} in training", parts.join("; "))
    }

    /// A field device: an OT asset that answered OT requests and never originated any.
    pub fn is_polled_only(&self) -> bool {
        self.ot && self.answered && !self.originated
    }
}

/// The roles of every host seen in training.
#[derive(Clone, Debug, Default)]
pub struct Roles {
    /// Looked up several times per record (scope, novelty): foldhash, keyed per process.
    hosts: HashMap<IpAddr, Role, KeyHashState>,
}

impl Roles {
    /// Learns the roles from the training vocabularies: only edges with a training count count.
    pub fn learn<'v>(vocabs: impl IntoIterator<Item = &'v Vocab>, ot: &OtSelector) -> Roles {
        let mut hosts: HashMap<IpAddr, Role, KeyHashState> = HashMap::default();
        for vocab in vocabs {
            for (edge_id, &count) in vocab.edge_counts.iter().enumerate() {
                if count == 0 {
                    continue;
                }
                let Some(ids) = vocab.edges.key(edge_id as u32) else {
                    continue;
                };
                let (Some(orig), Some(resp)) =
                    (vocab.hosts.key(ids.orig), vocab.hosts.key(ids.resp))
                else {
                    continue;
                };
                let service = vocab.services.key(ids.service).unwrap_or("-");
                let is_ot = match vocab.schema {
                    Schema::Request => true,
                    Schema::Conn => ot.is_ot_edge(service, ids.port),
                };
                let client = hosts.entry(orig).or_default();
                client.originated = true;
                client.uses.insert(service.to_string());
                client.ot |= is_ot;
                let server = hosts.entry(resp).or_default();
                server.answered = true;
                server.serves.insert((service.to_string(), ids.port));
                server.ot |= is_ot;
            }
        }
        Roles { hosts }
    }

    pub fn get(&self, host: IpAddr) -> Option<&Role> {
        self.hosts.get(&host)
    }

    /// True when the host was an end of OT traffic in training.
    pub fn is_ot_asset(&self, host: IpAddr) -> bool {
        self.hosts.get(&host).is_some_and(|role| role.ot)
    }

    /// True when the host originated anything in training.
    pub fn originated(&self, host: IpAddr) -> bool {
        self.hosts.get(&host).is_some_and(|role| role.originated)
    }

    /// True when the host answered anything in training.
    pub fn answered(&self, host: IpAddr) -> bool {
        self.hosts.get(&host).is_some_and(|role| role.answered)
    }

    /// The host's role in words, or that it was never seen.
    pub fn describe(&self, host: IpAddr) -> String {
        match self.hosts.get(&host) {
            Some(role) => role.describe(),
            None => "never seen in training".to_string(),
        }
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}
