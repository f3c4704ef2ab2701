//! Unit tests of the schedule detector.
