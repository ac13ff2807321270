//! Dynamical-systems reconstruction with almost-linear RNNs (AL-RNN; Brenner, Hemmer, Monfared,
//! Durstewitz, NeurIPS 2024): the model ([`model`]), sparse / generalised teacher-forcing
//! training with checkpoints and exact resume ([`train`](mod@train)), the reconstruction metrics `D_stsp`,
//! `D_H` and n-step prediction error ([`metrics`]), symbolic coding by linear subregions with
//! fixed points and their stability ([`symbolic`]), and figures ([`plot`]).
//!
//! Unlike the neural operators this family is written in plain Rust rather than on burn:
//! the model is tiny (M = 20: a 20×20 mat-vec per step) and is trained by backpropagation
//! through a few hundred sequential steps, where per-operation tensor overhead would dominate.
//! It computes in f64, or in f32 (`alrnn.precision`) to train as the reference's PyTorch code.

pub mod config;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod run;
pub mod symbolic;
pub mod train;

pub use config::AlrnnTrainConfig;
pub use model::{Alrnn, AlrnnShape, Forcing, Real};
pub use run::AlrnnRuns;
pub use train::{evaluate, train, AlrnnEvalSummary, AlrnnTrainSummary};

/// Exact f64 (de)serialisation for run files: numbers are written as strings in Rust's shortest
/// round-trip form and parsed with `str::parse` (correctly rounded), because serde_json's default
/// float parser may be off by an ulp, which would break bit-exact resume.
pub(crate) mod exact {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    fn parse<E: Error>(s: &str) -> Result<f64, E> {
        s.parse::<f64>().map_err(|_| E::custom(format!("`{s}` is not a number")))
    }

    /// `Vec<f64>` as strings.
    pub mod vec {
        use super::*;
        /// Serialises.
        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| x.to_string()))
        }
        /// Deserialises.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<String>::deserialize(d)?.iter().map(|s| parse(s)).collect()
        }
    }

    /// `Option<f64>` as an optional string.
    pub mod opt {
        use super::*;
        /// Serialises.
        pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(x) => s.serialize_some(&x.to_string()),
                None => s.serialize_none(),
            }
        }
        /// Deserialises.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            Option::<String>::deserialize(d)?.map(|s| parse(&s)).transpose()
        }
    }
}
