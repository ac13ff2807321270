//! PROSE (Liu, Zhang & Schaeffer): one transformer from a trajectory's first samples and an
//! equation guess to its future and its equation.

pub mod data;
pub mod metrics;
