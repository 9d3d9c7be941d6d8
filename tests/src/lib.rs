//! shared harness
