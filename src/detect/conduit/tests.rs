//! Unit tests of the conduit detector.
