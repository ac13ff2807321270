//! Loading `--config FILE`: the same TOML a dataset stores in its `config` attribute, so a file's
//! configuration can be fed back to reproduce it. Command-line flags override file values.

use std::path::Path;

use anyhow::{bail, Context, Result};
use oplab_datasets::{GenerationSettings, Precision};

/// A parsed generation config file: settings at the top level, the problem under `[problem]`.
pub struct GenerationConfigFile {
    table: toml::Table,
}

impl GenerationConfigFile {
    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("--config {}: cannot read the file", path.display()))?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| anyhow::anyhow!("--config {}: not valid TOML: {}", path.display(), e.message()))?;
        Ok(GenerationConfigFile { table })
    }

    /// The same from a table already parsed (a reproduction's `[generate]` table).
    pub fn from_table(table: toml::Table) -> Self {
        GenerationConfigFile { table }
    }

    /// The generation settings in the file, defaults for what it leaves out; rejects unknown keys.
    pub fn settings(&self, problem: &str) -> Result<GenerationSettings> {
        let mut top = toml::Table::new();
        for (k, v) in &self.table {
            if k == problem {
                continue;
            }
            if matches!(v, toml::Value::Table(_)) {
                bail!("config table [{k}] is not for problem `{problem}` (expected [{problem}])");
            }
            top.insert(k.clone(), v.clone());
        }
        let defaults = GenerationSettings::default();
        let get_u64 = |key: &str, default: u64| -> Result<u64> {
            match top.get(key) {
                None => Ok(default),
                Some(toml::Value::Integer(i)) if *i >= 0 => Ok(*i as u64),
                Some(v) => bail!("config key `{key}` = {v} is invalid: must be a non-negative integer"),
            }
        };
        let precision = match top.get("precision") {
            None => defaults.precision,
            Some(toml::Value::String(s)) => s.parse::<Precision>()?,
            Some(v) => bail!("config key `precision` = {v} is invalid: must be \"f32\" or \"f64\""),
        };
        for key in top.keys() {
            if !["n", "seed", "precision", "compression"].contains(&key.as_str()) {
                bail!("config key `{key}` is unknown: allowed top-level keys are n, seed, precision, compression and the table [{problem}]");
            }
        }
        Ok(GenerationSettings {
            n: get_u64("n", defaults.n)?,
            seed: get_u64("seed", defaults.seed)?,
            precision,
            compression: {
                let level = get_u64("compression", defaults.compression as u64)?;
                u8::try_from(level).map_err(|_| oplab_datasets::DatasetError::invalid("compression", level, "must be 0 (none) to 9"))?
            },
        })
    }

    /// The problem's table, if the file has one.
    pub fn problem_table(&self, problem: &str) -> Result<Option<toml::Table>> {
        match self.table.get(problem) {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Ok(Some(t.clone())),
            Some(v) => bail!("config key `{problem}` = {v} is invalid: must be the table [{problem}]"),
        }
    }
}
