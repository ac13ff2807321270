//! What `oplab eval` may ask of a run beyond its data file. The options are typed here, once,
//! for every family; each family says which it supports and refuses the others, so a flag that
//! would be silently ignored (a resolution sweep of an ODE model, say) is an error instead.

use std::fmt;
use std::str::FromStr;

use crate::error::OperatorError;

/// Which discretisation of a network built from convolutions an evaluation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertMode {
    /// The converted network: kernels re-sampled to each grid (a neural operator).
    On,
    /// The plain network: the trained kernels as they are, on every grid.
    Off,
    /// Both, from the same weights, side by side.
    Both,
}

impl ConvertMode {
    /// The flag's spelling.
    pub fn name(self) -> &'static str {
        match self {
            ConvertMode::On => "on",
            ConvertMode::Off => "off",
            ConvertMode::Both => "both",
        }
    }
}

impl fmt::Display for ConvertMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConvertMode {
    type Err = OperatorError;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "on" => Ok(ConvertMode::On),
            "off" => Ok(ConvertMode::Off),
            "both" => Ok(ConvertMode::Both),
            other => Err(OperatorError::invalid("--convert", other, "must be on, off or both")),
        }
    }
}

/// The options of one `oplab eval` command (none given: the family's plain evaluation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvalOptions {
    /// `--subsample 1,2,4`: evaluate the same test samples on each of these grids (every k-th
    /// node of the file's grid), the resolution sweep of the field operators.
    pub subsample: Option<Vec<usize>>,
    /// `--convert on|off|both`: plain and/or converted discretisation of a convolutional network.
    pub convert: Option<ConvertMode>,
    /// `--io-interp`: add the input-output interpolation baseline to a sweep.
    pub io_interp: bool,
    /// `--reintegrate`: integrate the decoded equations from the initial state (PROSE).
    pub reintegrate: bool,
}

impl EvalOptions {
    /// The flags this command gave, by name (`--subsample`, ...).
    pub fn given(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.subsample.is_some() {
            flags.push("--subsample");
        }
        if self.convert.is_some() {
            flags.push("--convert");
        }
        if self.io_interp {
            flags.push("--io-interp");
        }
        if self.reintegrate {
            flags.push("--reintegrate");
        }
        flags
    }

    /// Refuse every given flag outside `supported`, naming the flag and the model.
    pub fn refuse_except(&self, model: &str, supported: &[&str]) -> crate::Result<()> {
        match self.given().into_iter().find(|flag| !supported.contains(flag)) {
            None => Ok(()),
            Some(flag) => {
                let allowed = if supported.is_empty() { "none".to_string() } else { supported.join(", ") };
                Err(OperatorError::Request(format!("{flag}: not an eval option of {model} runs (theirs: {allowed})")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_flags_are_refused_by_name_and_supported_ones_pass() {
        let none = EvalOptions::default();
        assert!(none.refuse_except("alrnn", &[]).is_ok());
        let sweep = EvalOptions { subsample: Some(vec![1, 2]), io_interp: true, ..Default::default() };
        assert!(sweep.refuse_except("unet", &["--subsample", "--convert", "--io-interp"]).is_ok());
        let err = sweep.refuse_except("alrnn", &[]).unwrap_err().to_string();
        assert_eq!(err, "--subsample: not an eval option of alrnn runs (theirs: none)");
        let err = sweep.refuse_except("fno", &["--subsample"]).unwrap_err().to_string();
        assert!(err.starts_with("--io-interp: not an eval option of fno runs"), "{err}");
    }

    #[test]
    fn convert_modes_parse_and_others_are_refused() {
        for mode in [ConvertMode::On, ConvertMode::Off, ConvertMode::Both] {
            assert_eq!(mode.name().parse::<ConvertMode>().unwrap(), mode);
        }
        let err = "maybe".parse::<ConvertMode>().unwrap_err().to_string();
        assert!(err.contains("--convert") && err.contains("maybe") && err.contains("on, off or both"), "{err}");
    }
}
