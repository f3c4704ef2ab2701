//! Seeded randomness for the simulator: one ChaCha8 stream per generator, keyed by a stable name.
//!
//! Every generator draws from its own stream, derived from the run's seed and the generator's key
//! (for example `modbus/hmi-1/plc-07`). Adding or removing one generator therefore leaves every
//! other generator's output unchanged, which keeps diffs between runs small and readable.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// FNV-1a over the key: stable across platforms and Rust versions, unlike `DefaultHasher`.
fn fnv1a(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// SplitMix64 finaliser: spreads nearby inputs over the whole 64-bit range.
pub fn mix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// The random stream of the generator named `key` in a run seeded with `seed`.
pub fn stream(seed: u64, key: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed) ^ fnv1a(key))
}

/// A uniform value in [0, 1) that depends only on its inputs (for process noise shared by readers).
pub fn unit_noise(a: u64, b: u64, c: u64) -> f64 {
    let hash = mix(a ^ mix(b ^ mix(c)));
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// An approximately normal value (mean 0, standard deviation 1) from the sum of uniforms.
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let sum: f64 = (0..4).map(|_| rng.random::<f64>()).sum();
    (sum - 2.0) * 3f64.sqrt()
}

/// A period with jitter: `period * (1 + rel_sd * N(0,1))`, never below a tenth of the period.
pub fn jittered(rng: &mut ChaCha8Rng, period_us: i64, rel_sd: f64) -> i64 {
    let factor = (1.0 + rel_sd * normal(rng)).max(0.1);
    (period_us as f64 * factor) as i64
}

/// A uniform integer in `[low, high]` microseconds.
pub fn between(rng: &mut ChaCha8Rng, low_us: i64, high_us: i64) -> i64 {
    if high_us <= low_us {
        return low_us;
    }
    rng.random_range(low_us..=high_us)
}

/// An ephemeral source port as Linux and Windows hosts pick them.
pub fn ephemeral_port(rng: &mut ChaCha8Rng) -> u16 {
    rng.random_range(49152..=65535)
}

/// Connection uids in Zeek's style (`C` followed by base62 of 96 random bits).
#[derive(Debug)]
pub struct UidSource {
    rng: ChaCha8Rng,
}

impl UidSource {
    pub fn new(seed: u64, key: &str) -> Self {
        UidSource {
            rng: stream(seed, &format!("{key}/uid")),
        }
    }

    pub fn next_uid(&mut self) -> String {
        const ALPHABET: &[u8; 62] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut value: u128 =
            u128::from(self.rng.random::<u64>()) | (u128::from(self.rng.random::<u32>()) << 64);
        let mut uid = String::with_capacity(18);
        uid.push('C');
        while value > 0 {
            uid.push(char::from(ALPHABET[(value % 62) as usize]));
            value /= 62;
        }
        uid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_key_and_seed_only() {
        let a: u64 = stream(42, "modbus/a").random();
        let b: u64 = stream(42, "modbus/a").random();
        let c: u64 = stream(42, "modbus/b").random();
        let d: u64 = stream(43, "modbus/a").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn uids_look_like_zeek_uids() {
        let mut uids = UidSource::new(1, "x");
        for _ in 0..100 {
            let uid = uids.next_uid();
            assert!(uid.starts_with('C'));
            assert!((10..=18).contains(&uid.len()), "{uid}");
            assert!(uid.chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }
}
