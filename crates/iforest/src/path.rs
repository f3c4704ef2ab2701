//! Which scoring path runs: the walk's instruction set (plain, AVX2 or AVX-512 top levels) and
//! whether the cell cache is used, chosen at run time from the CPU or forced by the caller or by
//! the environment.
//!
//! Every path gives bit for bit the same scores (see `scoring`), so the choice only changes speed.
//! Forcing one exists so that benches and tests can measure and check each path on a machine that
//! has it, and say plainly which ran; a forced path the CPU lacks is an error, never a silent
//! fallback to another path.

use std::sync::OnceLock;

use thiserror::Error;

/// The variable that forces the walk: `plain`, `avx2`, `avx512` or `auto` (the default).
pub const PATH_VAR: &str = "OTSENTRY_FOREST_PATH";

/// The variable that sets the cell cache: `auto` (the default: used while it pays), `on`
/// (always consulted) or `off`.
pub const CACHE_VAR: &str = "OTSENTRY_FOREST_CACHE";

/// How the top levels of each tree are walked; the levels below always take the scalar walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScoringPath {
    /// Scalar steps only: baseline x86-64 assembly on x86-64, Rust elsewhere.
    Plain,
    /// The top levels for 16 rows at once with AVX2.
    Avx2,
    /// The top levels for 16 rows at once with AVX-512F.
    Avx512,
}

impl ScoringPath {
    pub const ALL: [ScoringPath; 3] = [ScoringPath::Plain, ScoringPath::Avx2, ScoringPath::Avx512];

    /// The name the environment variable and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoringPath::Plain => "plain",
            ScoringPath::Avx2 => "avx2",
            ScoringPath::Avx512 => "avx512",
        }
    }

    /// Whether this CPU runs the path; `Err` says what it lacks.
    pub fn check(self) -> Result<(), PathError> {
        if self.available() {
            Ok(())
        } else {
            Err(PathError::Unavailable {
                path: self,
                needs: match self {
                    ScoringPath::Plain => "nothing",
                    ScoringPath::Avx2 => "AVX2 on x86-64",
                    ScoringPath::Avx512 => "AVX-512F on x86-64",
                },
            })
        }
    }

    /// Whether this CPU runs the path.
    pub fn available(self) -> bool {
        match self {
            ScoringPath::Plain => true,
            #[cfg(target_arch = "x86_64")]
            ScoringPath::Avx2 => is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            ScoringPath::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            ScoringPath::Avx2 | ScoringPath::Avx512 => false,
        }
    }

    /// The fastest path this CPU runs.
    pub fn fastest() -> ScoringPath {
        [ScoringPath::Avx512, ScoringPath::Avx2]
            .into_iter()
            .find(|path| path.available())
            .unwrap_or(ScoringPath::Plain)
    }
}

impl std::fmt::Display for ScoringPath {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl std::str::FromStr for ScoringPath {
    type Err = PathError;

    fn from_str(text: &str) -> Result<ScoringPath, PathError> {
        ScoringPath::ALL
            .into_iter()
            .find(|path| path.as_str() == text)
            .ok_or_else(|| PathError::Unknown {
                variable: PATH_VAR,
                value: text.to_string(),
                expected: "plain, avx2, avx512 or auto",
            })
    }
}

/// When the cell cache (`cells`) is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheMode {
    /// Consulted while it pays: a thread whose recent rows mostly missed stops looking rows up for
    /// a while, then tries again.
    Auto,
    /// Consulted for every row (benches measure its cost on rows that never repeat with it).
    On,
    /// Never consulted.
    Off,
}

impl CacheMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheMode::Auto => "auto",
            CacheMode::On => "on",
            CacheMode::Off => "off",
        }
    }
}

impl std::fmt::Display for CacheMode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl std::str::FromStr for CacheMode {
    type Err = PathError;

    fn from_str(text: &str) -> Result<CacheMode, PathError> {
        [CacheMode::Auto, CacheMode::On, CacheMode::Off]
            .into_iter()
            .find(|mode| mode.as_str() == text)
            .ok_or_else(|| PathError::Unknown {
                variable: CACHE_VAR,
                value: text.to_string(),
                expected: "auto, on or off",
            })
    }
}

/// A scoring path that cannot run, or a setting that names none.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PathError {
    #[error("the {path} scoring path needs {needs}, which this CPU does not have")]
    Unavailable {
        path: ScoringPath,
        needs: &'static str,
    },
    #[error("{variable}={value:?} is not a scoring setting; expected {expected}")]
    Unknown {
        variable: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// How to score: a forced walk or the fastest the CPU has, and the cache mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScoringOptions {
    /// `None` picks [`ScoringPath::fastest`].
    pub path: Option<ScoringPath>,
    pub cache: CacheMode,
}

impl Default for ScoringOptions {
    fn default() -> ScoringOptions {
        ScoringOptions {
            path: None,
            cache: CacheMode::Auto,
        }
    }
}

impl ScoringOptions {
    /// The options [`PATH_VAR`] and [`CACHE_VAR`] set (unset or empty means `auto`), read once
    /// per process: `Forest::score_samples` uses them.
    pub fn from_env() -> Result<ScoringOptions, PathError> {
        static FROM_ENV: OnceLock<Result<ScoringOptions, PathError>> = OnceLock::new();
        FROM_ENV
            .get_or_init(|| {
                let read = |name| std::env::var(name).unwrap_or_default();
                ScoringOptions::parse(&read(PATH_VAR), &read(CACHE_VAR))
            })
            .clone()
    }

    /// The options the two variables' values give (empty means `auto`).
    pub fn parse(path: &str, cache: &str) -> Result<ScoringOptions, PathError> {
        let path = match path.trim() {
            "" | "auto" => None,
            forced => Some(forced.parse()?),
        };
        let cache = match cache.trim() {
            "" => CacheMode::Auto,
            mode => mode.parse()?,
        };
        Ok(ScoringOptions { path, cache })
    }

    /// The path that runs with these options on this CPU; an error when a forced path cannot.
    pub fn resolve(&self) -> Result<ScoringPath, PathError> {
        match self.path {
            Some(path) => path.check().map(|()| path),
            None => Ok(ScoringPath::fastest()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_bad_ones_are_named() {
        assert_eq!(ScoringOptions::parse("", ""), Ok(ScoringOptions::default()));
        assert_eq!(
            ScoringOptions::parse(" avx2 ", "off"),
            Ok(ScoringOptions {
                path: Some(ScoringPath::Avx2),
                cache: CacheMode::Off
            })
        );
        let error = ScoringOptions::parse("sse9", "").unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTSENTRY_FOREST_PATH=\"sse9\" is not a scoring setting; expected plain, avx2, avx512 or auto"
        );
        let error = ScoringOptions::parse("plain", "sometimes").unwrap_err();
        assert!(
            error.to_string().starts_with("OTSENTRY_FOREST_CACHE="),
            "{error}"
        );
    }

    #[test]
    fn a_forced_path_resolves_only_where_the_cpu_has_it() {
        assert_eq!(
            ScoringOptions::parse("plain", "").and_then(|options| options.resolve()),
            Ok(ScoringPath::Plain)
        );
        for path in ScoringPath::ALL {
            let forced = ScoringOptions {
                path: Some(path),
                cache: CacheMode::Auto,
            };
            match forced.resolve() {
                Ok(resolved) => assert!(path.available() && resolved == path),
                Err(error) => {
                    assert!(!path.available());
                    assert!(error.to_string().contains("which this CPU does not have"));
                }
            }
        }
        assert!(ScoringPath::fastest().available());
    }
}
