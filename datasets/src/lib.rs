//! HDF5 datasets for oplab: schema, deterministic resumable generation, merge, reading.
#![warn(missing_docs)]

pub mod problem;
