//! Flood limits on authentication. Failed authentications are counted per client address and
//! per token id in fixed windows; a client or token id over its limit gets 429 with
//! `Retry-After` until its window ends, without its token being checked at all. Failures are
//! also summed per client for the audit log, which gets one entry per client per interval
//! however many requests failed (see [`AuthGuard::take_summaries`]).
//!
//! IPv6 clients are counted per /64, the block one subscriber usually holds, so that walking
//! through addresses of one block does not reset the count. Behind a reverse proxy every client
//! shares the proxy's address: limits then apply to the proxy as a whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::governance::{format_micros, now_micros};

/// How many failures a client or a token id may have per window, and how often failures are
/// written to the audit log.
#[derive(Debug, Clone)]
pub struct AuthLimits {
    pub max_failures: u32,
    pub window: Duration,
    pub audit_interval: Duration,
}

impl Default for AuthLimits {
    fn default() -> Self {
        AuthLimits {
            max_failures: 10,
            window: Duration::from_secs(60),
            audit_interval: Duration::from_secs(60),
        }
    }
}

/// At most this many clients, token ids and pending summaries are tracked; past it, expired
/// windows are dropped first, then new keys share one overflow entry, so memory stays bounded
/// under a flood from many addresses.
const MAX_TRACKED: usize = 65_536;
/// Token ids named in one audit summary; more are counted, not listed.
const MAX_LISTED_TOKEN_IDS: usize = 8;

/// The failure counters and the pending audit summaries.
#[derive(Debug)]
pub struct AuthGuard {
    limits: AuthLimits,
    by_client: Mutex<Windows<Client>>,
    by_token: Mutex<Windows<String>>,
    pending: Mutex<HashMap<Client, Summary>>,
}

/// A client as counted: an IPv4 address, an IPv6 /64, or (for a connection whose address is not
/// known, and for the overflow) none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Client {
    V4(std::net::Ipv4Addr),
    V6Net(Ipv6Addr),
    Unknown,
}

impl Client {
    pub fn of(address: Option<IpAddr>) -> Client {
        match address {
            None => Client::Unknown,
            Some(IpAddr::V4(v4)) => Client::V4(v4),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::V4(v4),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Client::V6Net(Ipv6Addr::from(prefix))
                }
            },
        }
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Client::V4(v4) => write!(f, "{v4}"),
            Client::V6Net(net) => write!(f, "{net}/64"),
            Client::Unknown => f.write_str("an unknown or untracked address"),
        }
    }
}

#[derive(Debug)]
struct Windows<K> {
    windows: HashMap<K, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl<K: Eq + Hash + Clone> Windows<K> {
    fn new() -> Self {
        Windows {
            windows: HashMap::new(),
        }
    }

    /// How long `key` must still wait, if it is over the limit.
    fn retry_after(&self, key: &K, limits: &AuthLimits, now: Instant) -> Option<Duration> {
        let window = self.windows.get(key)?;
        let elapsed = now.saturating_duration_since(window.started);
        (elapsed < limits.window && window.failures >= limits.max_failures)
            .then(|| limits.window - elapsed)
    }

    /// Counts one failure of `key`; returns false when `key` could not be tracked.
    fn fail(&mut self, key: K, limits: &AuthLimits, now: Instant) -> bool {
        if !self.windows.contains_key(&key) && self.windows.len() >= MAX_TRACKED {
            self.windows
                .retain(|_, window| now.saturating_duration_since(window.started) < limits.window);
            if self.windows.len() >= MAX_TRACKED {
                return false;
            }
        }
        let window = self.windows.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.saturating_duration_since(window.started) >= limits.window {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
        true
    }
}

/// One client's failures since the last audit entry.
#[derive(Debug)]
struct Summary {
    first_at: i64,
    last_at: i64,
    /// Failed checks by reason.
    reasons: BTreeMap<String, u64>,
    /// Requests refused unchecked while over the limit.
    limited: u64,
    token_ids: BTreeSet<String>,
    unlisted_token_ids: u64,
}

impl AuthGuard {
    pub fn new(limits: AuthLimits) -> Self {
        AuthGuard {
            limits,
            by_client: Mutex::new(Windows::new()),
            by_token: Mutex::new(Windows::new()),
            pending: Mutex::new(HashMap::new()),
        }
    }

    pub fn limits(&self) -> &AuthLimits {
        &self.limits
    }

    /// How long the request must wait when its client or its token id is over the limit;
    /// `None` lets it be checked. A refusal is counted for the audit summary.
    pub fn refuse(&self, client: Client, token_id: Option<&str>) -> Option<Duration> {
        let now = Instant::now();
        let by_client = lock(&self.by_client).retry_after(&client, &self.limits, now);
        let by_token = token_id
            .and_then(|id| lock(&self.by_token).retry_after(&id.to_string(), &self.limits, now));
        let wait = by_client.max(by_token)?;
        self.summarise(client, token_id, None);
        Some(wait)
    }

    /// Counts a failed authentication of `client` with `token_id` (when the token had one).
    pub fn failed(&self, client: Client, token_id: Option<&str>, reason: &str) {
        let now = Instant::now();
        let tracked = lock(&self.by_client).fail(client, &self.limits, now);
        if let Some(id) = token_id {
            lock(&self.by_token).fail(id.to_string(), &self.limits, now);
        }
        // An untracked client still counts in the audit, under the overflow entry.
        let client = if tracked { client } else { Client::Unknown };
        self.summarise(client, token_id, Some(reason));
    }

    fn summarise(&self, client: Client, token_id: Option<&str>, reason: Option<&str>) {
        let now = now_micros();
        let mut pending = lock(&self.pending);
        let client = if !pending.contains_key(&client) && pending.len() >= MAX_TRACKED {
            Client::Unknown
        } else {
            client
        };
        let summary = pending.entry(client).or_insert_with(|| Summary {
            first_at: now,
            last_at: now,
            reasons: BTreeMap::new(),
            limited: 0,
            token_ids: BTreeSet::new(),
            unlisted_token_ids: 0,
        });
        summary.last_at = now;
        match reason {
            Some(reason) => *summary.reasons.entry(reason.to_string()).or_default() += 1,
            None => summary.limited += 1,
        }
        if let Some(id) = token_id
            && !summary.token_ids.contains(id)
        {
            if summary.token_ids.len() < MAX_LISTED_TOKEN_IDS {
                summary.token_ids.insert(id.to_string());
            } else {
                summary.unlisted_token_ids += 1;
            }
        }
    }

    /// The audit reason of every client with failures since the last call, one each, and
    /// forgets them: `37 failed authentications from 127.0.0.1 between ... and ...: ...`.
    pub fn take_summaries(&self) -> Vec<String> {
        let pending = std::mem::take(&mut *lock(&self.pending));
        let mut clients: Vec<(Client, Summary)> = pending.into_iter().collect();
        clients.sort_by_key(|(client, _)| *client);
        clients
            .into_iter()
            .map(|(client, summary)| self.describe(client, &summary))
            .collect()
    }

    fn describe(&self, client: Client, summary: &Summary) -> String {
        let checked: u64 = summary.reasons.values().sum();
        let total = checked + summary.limited;
        let mut text = format!(
            "{total} failed authentication{} from {client} between {} and {}",
            if total == 1 { "" } else { "s" },
            format_micros(summary.first_at),
            format_micros(summary.last_at),
        );
        let reasons: Vec<String> = summary
            .reasons
            .iter()
            .map(|(reason, count)| format!("{reason} {count}"))
            .collect();
        if !reasons.is_empty() {
            text.push_str(&format!(": {}", reasons.join(", ")));
        }
        if summary.limited > 0 {
            text.push_str(&format!(
                "; {} refused unchecked while over the limit of {} failures per {} s",
                summary.limited,
                self.limits.max_failures,
                self.limits.window.as_secs()
            ));
        }
        if !summary.token_ids.is_empty() {
            let ids: Vec<&str> = summary.token_ids.iter().map(String::as_str).collect();
            text.push_str(&format!("; token ids {}", ids.join(", ")));
            if summary.unlisted_token_ids > 0 {
                text.push_str(&format!(" and {} more", summary.unlisted_token_ids));
            }
        }
        text
    }
}

/// A poisoned lock only means another request panicked while counting; the counts are still
/// usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(max_failures: u32) -> AuthGuard {
        AuthGuard::new(AuthLimits {
            max_failures,
            window: Duration::from_secs(60),
            audit_interval: Duration::from_secs(60),
        })
    }

    fn client(text: &str) -> Client {
        Client::of(Some(text.parse().unwrap()))
    }

    #[test]
    fn a_client_over_the_limit_waits_and_others_do_not() {
        let guard = guard(3);
        let attacker = client("192.0.2.7");
        for _ in 0..3 {
            assert_eq!(guard.refuse(attacker, None), None);
            guard.failed(attacker, None, "malformed token");
        }
        let wait = guard.refuse(attacker, None).expect("limited");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(58));
        assert_eq!(guard.refuse(client("192.0.2.8"), None), None);
        let summaries = guard.take_summaries();
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        assert!(
            summaries[0].starts_with("4 failed authentications from 192.0.2.7"),
            "{summaries:?}"
        );
        assert!(summaries[0].contains("malformed token 3"), "{summaries:?}");
        assert!(
            summaries[0].contains("1 refused unchecked"),
            "{summaries:?}"
        );
        assert!(guard.take_summaries().is_empty());
    }

    #[test]
    fn a_token_id_over_the_limit_waits_from_any_client() {
        let guard = guard(2);
        for address in ["192.0.2.1", "192.0.2.2"] {
            guard.failed(client(address), Some("00112233aabbccdd"), "unknown token");
        }
        assert!(
            guard
                .refuse(client("198.51.100.1"), Some("00112233aabbccdd"))
                .is_some()
        );
        assert_eq!(
            guard.refuse(client("198.51.100.1"), Some("ffeeddccbbaa9988")),
            None
        );
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(client("2001:db8::1"), client("2001:db8::ffff:1"));
        assert_ne!(client("2001:db8::1"), client("2001:db8:0:1::1"));
        assert_eq!(client("::ffff:192.0.2.1"), client("192.0.2.1"));
        assert_eq!(client("2001:db8::1").to_string(), "2001:db8::/64");
    }
}
