//! A synthetic 2-D problem for the training tests: the input is a random sine series
//! a = Σ c_pq sin(pπx) sin(qπy), the target the solution of −Δu = a with zero boundary values
//! (each mode divided by π²(p² + q²)) plus a small quadratic term, so the map is smooth,
//! mostly linear and learnable in a few epochs. Coefficients come from a hash of (seed, index),
//! so the data depend on nothing else.
#![allow(dead_code)]

use std::path::Path;

use oplab_datasets::problem::FieldSpec;
use oplab_datasets::{GenerationSettings, Problem, Role, RunOptions, Sample, SampleError, SampleRng, Schema, Shard, Silent};

pub struct Synthetic {
    pub n: usize,
}

fn hash(mut z: u64) -> f64 {
    // splitmix64 → uniform in [−1, 1)
    z = z.wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

impl Problem for Synthetic {
    fn name(&self) -> &str {
        "synthetic"
    }
    fn schema(&self) -> Schema {
        let spec =
            |name: &str, role| FieldSpec { name: name.into(), shape: vec![self.n, self.n], role, axes: vec!["x".into(), "y".into()], description: name.into() };
        Schema { fields: vec![spec("coeff", Role::Input), spec("solution", Role::Target)], ..Schema::default() }
    }
    fn config_toml(&self) -> String {
        format!("n = {}\n", self.n)
    }
    fn sample(&self, index: u64, _rng: &mut SampleRng) -> Result<Sample, SampleError> {
        let n = self.n;
        let pi = std::f64::consts::PI;
        let mut a = vec![0.0; n * n];
        let mut u = vec![0.0; n * n];
        for p in 1..=3 {
            for q in 1..=3 {
                let c = hash(index * 100 + (p * 10 + q) as u64) / (p * q) as f64;
                for i in 0..n {
                    for j in 0..n {
                        let (x, y) = ((i + 1) as f64 / (n + 1) as f64, (j + 1) as f64 / (n + 1) as f64);
                        let s = c * (p as f64 * pi * x).sin() * (q as f64 * pi * y).sin();
                        a[i * n + j] += s;
                        u[i * n + j] += s / (pi * pi * (p * p + q * q) as f64);
                    }
                }
            }
        }
        for k in 0..n * n {
            u[k] = 10.0 * u[k] + 0.1 * a[k] * a[k];
        }
        Ok(Sample { fields: vec![a, u], ..Sample::default() })
    }
}

/// Writes `count` samples on an `n × n` grid to `path`.
pub fn write_dataset(path: &Path, n: usize, count: u64) {
    let settings = GenerationSettings { n: count, ..GenerationSettings::default() };
    let opts = RunOptions { out: path.to_path_buf(), shard: Shard::WHOLE, threads: Some(1), block_size: None, force: true };
    oplab_datasets::generate(&Synthetic { n }, &settings, &opts, &Silent).expect("synthetic dataset");
}
