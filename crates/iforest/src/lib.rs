//! Isolation Forest with scikit-learn's semantics, and a z-score baseline. Pure computation: no I/O.
