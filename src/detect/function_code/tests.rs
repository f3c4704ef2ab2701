//! Unit tests of the function-code detector.
