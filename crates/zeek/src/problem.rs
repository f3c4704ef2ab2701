//! Problems: data lines that could not be read. A problem skips its line and is counted; it never
//! stops the reader unless strict mode asks for that.

use std::fmt;
use std::path::PathBuf;

/// What was wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProblemKind {
    /// A TSV line whose field count differs from its header's.
    FieldCount { expected: usize, found: usize },
    /// A line with bytes that are not UTF-8 (Zeek escapes everything else).
    InvalidUtf8 { byte_offset: usize },
    /// A JSON line that does not parse as one object.
    Json { message: String },
    /// A `#` line inside a JSON log.
    UnexpectedDirective,
    /// A JSON line with more than 65 535 fields, or a line longer than 4 GiB.
    TooLarge,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::FieldCount { expected, found } => {
                write!(
                    formatter,
                    "expected {expected} fields as in #fields, found {found}"
                )
            }
            ProblemKind::InvalidUtf8 { byte_offset } => {
                write!(formatter, "invalid UTF-8 at byte {byte_offset} of the line")
            }
            ProblemKind::Json { message } => write!(formatter, "not a JSON object: {message}"),
            ProblemKind::UnexpectedDirective => {
                formatter.write_str("a # header line inside a JSON log")
            }
            ProblemKind::TooLarge => formatter.write_str("line too large to index"),
        }
    }
}

/// One unreadable line, located by file and line number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file, when read from one.
    pub file: Option<PathBuf>,
    /// The 1-based line number.
    pub line: u64,
    /// What was wrong.
    #[serde(flatten)]
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(formatter, "{}:{}: {}", file.display(), self.line, self.kind),
            None => write!(formatter, "line {}: {}", self.line, self.kind),
        }
    }
}

/// The count of problems seen, and the first few kept for reporting. Memory stays bounded
/// however many lines are bad.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problems {
    total: u64,
    kept: Vec<Problem>,
    #[serde(skip)]
    limit: usize,
}

impl Problems {
    /// Keeps the first `limit` problems and counts the rest.
    pub fn new(limit: usize) -> Problems {
        Problems {
            total: 0,
            kept: Vec::new(),
            limit,
        }
    }

    /// Counts a problem, keeping it if under the limit.
    pub fn push(&mut self, problem: Problem) {
        self.total += 1;
        if self.kept.len() < self.limit {
            self.kept.push(problem);
        }
    }

    /// Adds another collector's count and kept problems.
    pub fn extend(&mut self, other: &Problems) {
        self.total += other.total;
        for problem in &other.kept {
            if self.kept.len() < self.limit {
                self.kept.push(problem.clone());
            }
        }
    }

    /// How many problems were seen.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The first problems, in the order seen.
    pub fn kept(&self) -> &[Problem] {
        &self.kept
    }

    /// True when no problem was seen.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl Default for Problems {
    fn default() -> Problems {
        Problems::new(100)
    }
}
