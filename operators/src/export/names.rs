//! Where each of oplab's parameters goes in a PyTorch state dict, and in which layout.
//!
//! A parameter is named by its burn module path (`blocks.0.levels.1.restrict.pi.weight`); a
//! [`Slot`] says which PyTorch tensor holds it, that tensor's shape, and which part of it the
//! parameter is. The same table serves both directions, so export and import cannot disagree.

/// What part of a PyTorch tensor one burn parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The whole (real) tensor, the same values in the same order; only the shape may differ
    /// (a 1×1 convolution's `[out, in, 1, 1]` against a Conv1d's `[out, in, 1]`).
    Whole,
    /// The real parts of a complex64 tensor whose axis 2 holds the H-modes in fftshift order
    /// (index k is frequency k − m1), while oplab keeps the non-negative ones first (index j is
    /// frequency j for j < m1, j − 2·m1 after).
    Real {
        /// Modes per sign along H.
        m1: usize,
    },
    /// The imaginary parts, laid out as [`Part::Real`].
    Imag {
        /// Modes per sign along H.
        m1: usize,
    },
}

/// The PyTorch home of one burn parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// State-dict key.
    pub name: String,
    /// Shape of the PyTorch tensor.
    pub shape: Vec<usize>,
    /// Which part of it the parameter is.
    pub part: Part,
}

impl Slot {
    fn whole(name: String, shape: Vec<usize>) -> Self {
        Slot { name, shape, part: Part::Whole }
    }

    /// Whether the PyTorch tensor is complex64.
    pub fn is_complex(&self) -> bool {
        !matches!(self.part, Part::Whole)
    }
}

/// MgNO: the names of `MgNO_DC` / `MgConv_DC` in the reference `models.py` (xlliu2017/MgNO).
/// Every tensor keeps its layout (oplab's convolutions already use PyTorch's
/// `[out, in, k, k]`, its transposed ones `[in, out, k, k]`).
pub fn mgno(path: &str, shape: &[usize]) -> Option<Slot> {
    let parts: Vec<&str> = path.split('.').collect();
    let op = |s: &str| match s {
        "a" => Some("A"),
        "s" => Some("S"),
        "pi" => Some("Pi"),
        "r" => Some("R"),
        _ => None,
    };
    let name = match parts.as_slice() {
        ["head", "weight"] => "linear.weight".to_string(),
        ["skips", i, w @ ("weight" | "bias")] => format!("linear_list.{i}.{w}"),
        ["blocks", i, "levels", l, rest @ ..] => {
            let level: usize = l.parse().ok()?;
            let inner = match rest {
                // Each level's nn.Sequential starts with its Restrict (level > 0), then the
                // smoothing steps; level 0 starts with MgIte_init.
                ["restrict", o, "weight"] => format!("layer{level}.0.{}.weight", op(o)?),
                ["pre", s, o, "weight"] => {
                    let step: usize = s.parse().ok()?;
                    format!("layer{level}.{}.{}.weight", step + usize::from(level > 0), op(o)?)
                }
                ["post", s, o, "weight"] => format!("post_smooth_layer{level}.{s}.{}.weight", op(o)?),
                ["prolong", "weight"] => format!("RTlayers.{level}.weight"),
                _ => return None,
            };
            format!("conv_list.{i}.{inner}")
        }
        _ => return None,
    };
    Some(Slot::whole(name, shape.to_vec()))
}

/// FNO: neuraloperator's module names (`lifting` and `projection` as channel MLPs of Conv1d
/// layers `fcs.k`, `fno_blocks.convs.i` spectral convolutions with their bias,
/// `fno_blocks.fno_skips.i.conv` bias-free linear skips). oplab's pointwise bias becomes the
/// spectral convolution's bias: both are added before the activation, so the sum is the same.
pub fn fno(path: &str, shape: &[usize]) -> Option<Slot> {
    let parts: Vec<&str> = path.split('.').collect();
    // A 1×1 convolution `[out, in, 1, 1]` as a Conv1d weight `[out, in, 1]`.
    let conv1d = |name: String| (shape.len() == 4).then(|| Slot::whole(name, vec![shape[0], shape[1], 1]));
    let bias = |name: String| Some(Slot::whole(name, shape.to_vec()));
    match parts.as_slice() {
        ["lift", "weight"] => conv1d("lifting.fcs.0.weight".into()),
        ["lift", "bias"] => bias("lifting.fcs.0.bias".into()),
        ["proj1", "weight"] => conv1d("projection.fcs.0.weight".into()),
        ["proj1", "bias"] => bias("projection.fcs.0.bias".into()),
        ["proj2", "weight"] => conv1d("projection.fcs.1.weight".into()),
        ["proj2", "bias"] => bias("projection.fcs.1.bias".into()),
        ["pointwise", i, "weight"] => conv1d(format!("fno_blocks.fno_skips.{i}.conv.weight")),
        ["pointwise", i, "bias"] => Some(Slot::whole(format!("fno_blocks.convs.{i}.bias"), vec![*shape.first()?, 1, 1])),
        ["spectral", i, w @ ("weight_re" | "weight_im")] => {
            if shape.len() != 4 || !shape[2].is_multiple_of(2) {
                return None;
            }
            let m1 = shape[2] / 2;
            let part = if *w == "weight_re" { Part::Real { m1 } } else { Part::Imag { m1 } };
            Some(Slot { name: format!("fno_blocks.convs.{i}.weight"), shape: shape.to_vec(), part })
        }
        _ => None,
    }
}

/// Index along axis 2 of the PyTorch (fftshift) layout that holds oplab's index `j`.
pub fn shifted_index(j: usize, m1: usize) -> usize {
    (j + m1) % (2 * m1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mgno_paths_take_the_reference_names() {
        let n = |p: &str| mgno(p, &[2, 2, 3, 3]).map(|s| s.name);
        assert_eq!(n("blocks.0.levels.0.pre.0.s.weight").as_deref(), Some("conv_list.0.layer0.0.S.weight"));
        assert_eq!(n("blocks.1.levels.0.pre.1.a.weight").as_deref(), Some("conv_list.1.layer0.1.A.weight"));
        assert_eq!(n("blocks.2.levels.3.restrict.pi.weight").as_deref(), Some("conv_list.2.layer3.0.Pi.weight"));
        assert_eq!(n("blocks.2.levels.3.restrict.r.weight").as_deref(), Some("conv_list.2.layer3.0.R.weight"));
        assert_eq!(n("blocks.2.levels.5.pre.1.s.weight").as_deref(), Some("conv_list.2.layer5.2.S.weight"));
        assert_eq!(n("blocks.0.levels.2.post.0.a.weight").as_deref(), Some("conv_list.0.post_smooth_layer2.0.A.weight"));
        assert_eq!(n("blocks.3.levels.4.prolong.weight").as_deref(), Some("conv_list.3.RTlayers.4.weight"));
        assert_eq!(n("skips.1.bias").as_deref(), Some("linear_list.1.bias"));
        assert_eq!(n("head.weight").as_deref(), Some("linear.weight"));
        assert_eq!(n("blocks.0.levels.0.pre.0.x.weight"), None);
    }

    #[test]
    fn fno_paths_take_neuraloperator_names_and_shapes() {
        let s = fno("lift.weight", &[8, 3, 1, 1]).unwrap();
        assert_eq!((s.name.as_str(), s.shape.as_slice()), ("lifting.fcs.0.weight", &[8usize, 3, 1][..]));
        let s = fno("pointwise.2.bias", &[8]).unwrap();
        assert_eq!((s.name.as_str(), s.shape.as_slice()), ("fno_blocks.convs.2.bias", &[8usize, 1, 1][..]));
        let s = fno("spectral.1.weight_im", &[8, 8, 6, 4]).unwrap();
        assert_eq!((s.name.as_str(), s.part), ("fno_blocks.convs.1.weight", Part::Imag { m1: 3 }));
        // oplab's frequencies 0, 1, 2, −3, −2, −1 sit at −3 … 2 after the shift.
        let at: Vec<usize> = (0..6).map(|j| shifted_index(j, 3)).collect();
        assert_eq!(at, vec![3, 4, 5, 0, 1, 2]);
    }
}
