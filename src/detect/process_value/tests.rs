//! Unit tests of the process-value detector.
