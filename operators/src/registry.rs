//! The model families `oplab train` and `oplab eval` know, by the name a command uses.

use crate::dynamics::AlrnnRuns;
use crate::error::OperatorError;
use crate::prose::ProseRuns;
use crate::run::RunKind;
use crate::training::OperatorRuns;

/// Every trainable model: its name and a one-line description.
pub const MODELS: &[(&str, &str)] = &[
    ("mgno", "multigrid neural operator on 1-D/2-D fields"),
    ("fno", "Fourier neural operator on 1-D/2-D fields"),
    ("unet", "PDEArena modern U-Net on 2-D fields, plain or converted into an operator"),
    ("cnn", "residual CNN on 2-D fields, plain or converted into an operator"),
    ("alrnn", "almost-linear RNN on one ODE trajectory (dynamical-systems reconstruction, CPU)"),
    ("prose", "PROSE multimodal transformer: trajectory + equation guess to future trajectory + equation"),
];

/// The run family that trains `model`; an unknown name is an error listing the known ones.
pub fn run_kind(model: &str) -> crate::Result<&'static dyn RunKind> {
    match model {
        "mgno" | "fno" | "unet" | "cnn" => Ok(&OperatorRuns),
        "alrnn" => Ok(&AlrnnRuns),
        "prose" => Ok(&ProseRuns),
        other => {
            let names: Vec<&str> = MODELS.iter().map(|m| m.0).collect();
            Err(OperatorError::invalid("model", other, format!("must be one of: {}", names.join(", "))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_model_has_a_family_and_others_are_refused() {
        for (name, _) in MODELS {
            assert!(run_kind(name).is_ok(), "{name}");
        }
        let err = run_kind("rnn").err().unwrap().to_string();
        assert_eq!(err, "model = rnn is invalid: must be one of: mgno, fno, unet, cnn, alrnn, prose");
    }
}
