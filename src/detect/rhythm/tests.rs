//! Unit tests of the rhythm detector.
