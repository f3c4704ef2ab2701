//! Bounded interners: strings and composite keys to dense `u32` ids, in first-seen order.
//!
//! Vocabularies, per-edge state and counts are all indexed by these ids, so the hot path does one
//! hash lookup per key and no allocation for a key it has seen before. An interner holds at most
//! `cap` keys; later keys get [`OVERFLOW`], the "other" bucket, so memory stays bounded whatever a
//! hostile or huge input contains. The training interner is saved in the model; at scoring a copy
//! keeps interning, and an id at or beyond the trained length means "never seen in training".

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::OnceLock;

use foldhash::SharedSeed;
use foldhash::fast::SeedableRandomState;

use serde::{Deserialize, Serialize};

/// The id every key past the cap shares: the "other" bucket.
pub const OVERFLOW: u32 = u32::MAX;

/// Default cap on distinct keys per vocabulary. OT networks have hundreds of hosts and thousands
/// of edges; a million keys is far beyond that and still only tens of megabytes.
pub const DEFAULT_CAP: usize = 1 << 20;

/// The hash function of every interner: foldhash, keyed from the operating system's randomness.
///
/// Keys come from the network (addresses, ports, function names), so an attacker who could
/// predict the hash could send keys that all collide and turn every lookup into a scan; the keys
/// must be secret. std's SipHash is keyed that way but costs several times more than foldhash on
/// these short keys, and the lookups are a large part of the per-row cost. foldhash is keyed
/// here from std's `RandomState` (which reads the operating system's randomness) rather than
/// from its own seed (address-space layout and the clock), once per process for the shared seed
/// and once per map for the per-map seed. Hash values never leave the process and nothing
/// depends on their order (ids are given in first-seen order), so no output changes with the
/// key. ahash would serve as well; foldhash is already in the dependency tree (hashbrown's
/// default) and is faster on integer keys.
#[derive(Clone, Debug)]
pub struct KeyHashState(SeedableRandomState);

impl Default for KeyHashState {
    fn default() -> KeyHashState {
        static SHARED_SEED: OnceLock<SharedSeed> = OnceLock::new();
        let shared_seed = SHARED_SEED.get_or_init(|| SharedSeed::from_u64(os_random_u64()));
        KeyHashState(SeedableRandomState::with_seed(os_random_u64(), shared_seed))
    }
}

impl BuildHasher for KeyHashState {
    type Hasher = <SeedableRandomState as BuildHasher>::Hasher;

    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

/// 64 random bits: std's `RandomState` is keyed from the operating system's randomness, so the
/// SipHash of nothing under a fresh one is unpredictable.
fn os_random_u64() -> u64 {
    RandomState::new().hash_one(())
}

/// Interns strings. Lookups take `&str`, so a key already seen costs no allocation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Box<str>>", into = "Vec<Box<str>>")]
pub struct StrInterner {
    ids: HashMap<Box<str>, u32, KeyHashState>,
    keys: Vec<Box<str>>,
}

impl From<Vec<Box<str>>> for StrInterner {
    fn from(keys: Vec<Box<str>>) -> Self {
        let ids = keys
            .iter()
            .enumerate()
            .map(|(id, key)| (key.clone(), id as u32))
            .collect();
        StrInterner { ids, keys }
    }
}

impl From<StrInterner> for Vec<Box<str>> {
    fn from(interner: StrInterner) -> Self {
        interner.keys
    }
}

impl StrInterner {
    /// The id of `key`, adding it if there is room, else [`OVERFLOW`].
    pub fn intern(&mut self, key: &str, cap: usize) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        if self.keys.len() >= cap {
            return OVERFLOW;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key.into());
        self.ids.insert(key.into(), id);
        id
    }

    /// The id of `key` if it was interned.
    pub fn get(&self, key: &str) -> Option<u32> {
        self.ids.get(key).copied()
    }

    /// The key behind an id (`None` for [`OVERFLOW`] or an unknown id).
    pub fn key(&self, id: u32) -> Option<&str> {
        self.keys.get(id as usize).map(|key| &**key)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| &**key)
    }

    /// The keys with ids `start..`, in id order (what scoring added after training).
    pub fn keys_from(&self, start: usize) -> impl Iterator<Item = &str> {
        self.keys.iter().skip(start).map(|key| &**key)
    }
}

/// Interns small copyable composite keys (an edge made of ids, an (edge, function) pair).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "Vec<K>", into = "Vec<K>")]
#[serde(bound(
    serialize = "K: Serialize + Clone",
    deserialize = "K: Deserialize<'de> + Eq + Hash + Copy"
))]
pub struct KeyInterner<K: Eq + Hash + Copy> {
    ids: HashMap<K, u32, KeyHashState>,
    keys: Vec<K>,
}

impl<K: Eq + Hash + Copy> Default for KeyInterner<K> {
    fn default() -> Self {
        KeyInterner {
            ids: HashMap::default(),
            keys: Vec::new(),
        }
    }
}

impl<K: Eq + Hash + Copy> From<Vec<K>> for KeyInterner<K> {
    fn from(keys: Vec<K>) -> Self {
        let ids = keys
            .iter()
            .enumerate()
            .map(|(id, key)| (*key, id as u32))
            .collect();
        KeyInterner { ids, keys }
    }
}

impl<K: Eq + Hash + Copy> From<KeyInterner<K>> for Vec<K> {
    fn from(interner: KeyInterner<K>) -> Self {
        interner.keys
    }
}

impl<K: Eq + Hash + Copy> KeyInterner<K> {
    /// The id of `key`, adding it if there is room, else [`OVERFLOW`].
    pub fn intern(&mut self, key: K, cap: usize) -> u32 {
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        if self.keys.len() >= cap {
            return OVERFLOW;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key);
        self.ids.insert(key, id);
        id
    }

    pub fn key(&self, id: u32) -> Option<K> {
        self.keys.get(id as usize).copied()
    }

    /// The keys with ids `start..`, in id order (what scoring added after training).
    pub fn keys_from(&self, start: usize) -> &[K] {
        self.keys.get(start..).unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_stable_and_overflow_past_the_cap() {
        let mut interner = StrInterner::default();
        assert_eq!(interner.intern("a", 2), 0);
        assert_eq!(interner.intern("b", 2), 1);
        assert_eq!(interner.intern("a", 2), 0);
        assert_eq!(interner.intern("c", 2), OVERFLOW);
        assert_eq!(interner.key(1), Some("b"));
        assert_eq!(interner.key(OVERFLOW), None);
    }

    #[test]
    fn a_saved_interner_gives_the_same_ids() {
        let mut interner = StrInterner::default();
        for key in ["x", "y", "z"] {
            interner.intern(key, 10);
        }
        let json = serde_json::to_string(&interner).unwrap();
        let loaded: StrInterner = serde_json::from_str(&json).unwrap();
        assert_eq!(loaded.get("z"), Some(2));
        let mut edges = KeyInterner::<(u32, u16)>::default();
        edges.intern((3, 502), 10);
        edges.intern((1, 20000), 10);
        let json = serde_json::to_string(&edges).unwrap();
        let mut loaded: KeyInterner<(u32, u16)> = serde_json::from_str(&json).unwrap();
        assert_eq!(loaded.intern((1, 20000), 10), 1);
    }
}
