//! Chaotic ODE systems (Lorenz-63, Rössler and PROSE's full ODE set), each defined once as a
//! symbolic expression tree with named parameters. From that one definition come the fast
//! numeric right-hand side ([`OdeSystem::compile`], a register tape), the infix text, and
//! PROSE's token sequences with constants and as skeleton.
//!
//! ```
//! use oplab_solvers::systems;
//! let lorenz = systems::by_name("lorenz").unwrap();
//! let tokens = lorenz.tokens(&lorenz.nominal_params()).unwrap();
//! assert_eq!(tokens.len(), 33);
//! assert_eq!(lorenz.skeleton_tokens().len(), 25);
//! ```

mod catalog;

use crate::ode::Rhs;
use crate::symbolic::tape::CompileError;
use crate::symbolic::{self, EncodeError, Expr, Tape};
use std::sync::OnceLock;

/// A named parameter with its nominal value.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Name as used in configs and HDF5 attributes (`sigma`, `rho`, ...).
    pub name: &'static str,
    /// Nominal value (PROSE's mean).
    pub nominal: f64,
    /// Held at the nominal value by PROSE's sampler (Chen-Lee's `b`).
    pub fixed: bool,
}

/// An ODE system `u' = f(u; params)` defined by one expression per component.
#[derive(Debug, Clone, PartialEq)]
pub struct OdeSystem {
    /// Canonical name (`lorenz`, `rossler`, ...).
    pub name: &'static str,
    /// Other accepted names (PROSE's spellings, e.g. `lorenz_3d`).
    pub aliases: &'static [&'static str],
    /// One-line description with the equations.
    pub description: &'static str,
    /// State dimension.
    pub dim: usize,
    /// Parameters, in the order `Param(k)` refers to them.
    pub params: Vec<ParamSpec>,
    /// Right-hand side, one expression per component.
    pub rhs: Vec<Expr>,
    /// PROSE's rejection bound on `max |u|` (1e3; 1e5 for Fabrikant).
    pub blowup_bound: f64,
}

/// Errors from looking up or instantiating a system.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SystemError {
    /// No system has this name.
    #[error("unknown ODE system {name:?}; known systems: {known}")]
    Unknown {
        /// The requested name.
        name: String,
        /// Comma-separated canonical names.
        known: String,
    },
    /// Wrong number of parameter values.
    #[error("system {system} takes {expected} parameters ({names}), got {got}")]
    ParamCount {
        /// System name.
        system: &'static str,
        /// Expected count.
        expected: usize,
        /// Parameter names, comma-separated.
        names: String,
        /// Count given.
        got: usize,
    },
    /// A parameter value is NaN or infinite.
    #[error("system {system}: parameter {name} = {value} must be finite")]
    NonFiniteParam {
        /// System name.
        system: &'static str,
        /// Parameter name.
        name: &'static str,
        /// The value.
        value: f64,
    },
    /// A constant could not be tokenized.
    #[error("system {system}: {source}")]
    Encode {
        /// System name.
        system: &'static str,
        /// Underlying error.
        source: EncodeError,
    },
}

/// Builds one catalogue system with its default parameters.
type Builder = fn() -> OdeSystem;

/// The catalogue: each system's canonical name and builder. The 3-D systems come first, in
/// PROSE's round-robin order, so that [`PROSE_3D`] is a prefix.
const CATALOG: [(&str, Builder); 15] = [
    ("thomas", catalog::thomas),
    ("lorenz", catalog::lorenz),
    ("aizawa", catalog::aizawa),
    ("chen_lee", catalog::chen_lee),
    ("dadras", catalog::dadras),
    ("rossler", catalog::rossler),
    ("halvorsen", catalog::halvorsen),
    ("fabrikant", catalog::fabrikant),
    ("sprott_b", catalog::sprott_b),
    ("sprott_linz_f", catalog::sprott_linz_f),
    ("four_wing", catalog::four_wing),
    ("duffing", catalog::duffing),
    ("lorenz96_4d", catalog::lorenz96_4d),
    ("lorenz96_5d", catalog::lorenz96_5d),
    ("double_pendulum", catalog::double_pendulum),
];

/// Canonical names of every system in the catalogue (taken from the private `CATALOG`, so a name and its
/// builder cannot drift apart).
pub const NAMES: [&str; 15] = {
    let mut names = [""; 15];
    let mut i = 0;
    while i < names.len() {
        names[i] = CATALOG[i].0;
        i += 1;
    }
    names
};

/// PROSE's default mixture `chaotic_ode_3d` (12 systems), in PROSE's round-robin order: the
/// catalogue's first twelve.
pub const PROSE_3D: [&str; 12] = *NAMES.first_chunk().unwrap();

/// PROSE's `chaotic_ode_all` (15 systems), in PROSE's round-robin order.
pub const PROSE_ALL: [&str; 15] = [
    "thomas",
    "lorenz",
    "aizawa",
    "chen_lee",
    "dadras",
    "rossler",
    "halvorsen",
    "fabrikant",
    "sprott_b",
    "sprott_linz_f",
    "four_wing",
    "lorenz96_4d",
    "lorenz96_5d",
    "duffing",
    "double_pendulum",
];

/// Canonical names of every system.
pub fn names() -> &'static [&'static str] {
    &NAMES
}

/// Every system, in [`NAMES`] order.
pub fn all() -> Vec<OdeSystem> {
    CATALOG.iter().map(|(_, build)| build()).collect()
}

/// Look a system up by canonical name or alias (case-insensitive).
pub fn by_name(name: &str) -> Result<OdeSystem, SystemError> {
    let key = name.to_ascii_lowercase();
    for (canonical, build) in CATALOG {
        if canonical == key {
            return Ok(build());
        }
        let s = build();
        if s.aliases.iter().any(|a| a.to_ascii_lowercase() == key) {
            return Ok(s);
        }
    }
    Err(SystemError::Unknown { name: name.to_string(), known: NAMES.join(", ") })
}

impl OdeSystem {
    /// Nominal parameter values.
    pub fn nominal_params(&self) -> Vec<f64> {
        self.params.iter().map(|p| p.nominal).collect()
    }

    /// Parameter names, in order.
    pub fn param_names(&self) -> Vec<&'static str> {
        self.params.iter().map(|p| p.name).collect()
    }

    /// Check a parameter vector's length and finiteness.
    pub fn check_params(&self, params: &[f64]) -> Result<(), SystemError> {
        if params.len() != self.params.len() {
            return Err(SystemError::ParamCount { system: self.name, expected: self.params.len(), names: self.param_names().join(", "), got: params.len() });
        }
        for (spec, &v) in self.params.iter().zip(params) {
            if !v.is_finite() {
                return Err(SystemError::NonFiniteParam { system: self.name, name: spec.name, value: v });
            }
        }
        Ok(())
    }

    /// The right-hand side with `params` substituted and constant subtrees folded: the tree
    /// PROSE tokenizes.
    pub fn concrete(&self, params: &[f64]) -> Result<Vec<Expr>, SystemError> {
        self.check_params(params)?;
        Ok(self.rhs.iter().map(|e| e.substitute_params(params).fold_constants()).collect())
    }

    /// PROSE token sequence with constants (3 tokens each), components separated by `|`.
    pub fn tokens(&self, params: &[f64]) -> Result<Vec<String>, SystemError> {
        let concrete = self.concrete(params)?;
        symbolic::encode_system(&concrete).map_err(|source| SystemError::Encode { system: self.name, source })
    }

    /// PROSE skeleton: every constant (after folding) replaced by `<PLACEHOLDER>`.
    pub fn skeleton(&self) -> Vec<Expr> {
        let nominal = self.nominal_params();
        self.rhs.iter().map(|e| e.substitute_params(&nominal).fold_constants().skeleton()).collect()
    }

    /// Skeleton token sequence.
    pub fn skeleton_tokens(&self) -> Vec<String> {
        symbolic::encode_system_skeleton(&self.skeleton())
    }

    /// Infix text with parameter names, components separated by ` | `.
    pub fn infix(&self) -> String {
        symbolic::infix_system(&self.rhs, &|k| self.params.get(k).map_or(format!("p{k}"), |p| p.name.to_string()))
    }

    /// Compile the parametric right-hand side into a tape (parameters read at evaluation).
    pub fn compile(&self) -> CompiledRhs {
        CompiledRhs::new(&self.rhs, self.dim, self.params.len()).expect("catalogue systems compile")
    }
}

/// A compiled right-hand side: an allocation-free tape implementing [`Rhs`], with the exact
/// Jacobian compiled from the symbolic derivatives.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledRhs {
    tape: Tape,
    /// The expressions, kept to compile the Jacobian on first use (most solves never need it).
    components: Vec<Expr>,
    jacobian: OnceLock<Tape>,
    dim: usize,
    n_params: usize,
}

impl CompiledRhs {
    /// Compile `components` (one per state variable) that read up to `n_params` parameters.
    /// Works for any expression with values (e.g. a parsed or noised token sequence).
    pub fn new(components: &[Expr], dim: usize, n_params: usize) -> Result<CompiledRhs, CompileError> {
        let tape = Tape::compile(components, dim)?;
        if components.len() != dim {
            return Err(CompileError::VariableOutOfRange { component: components.len(), var: dim, dim });
        }
        let n_params = n_params.max(tape.n_params());
        Ok(CompiledRhs { tape, components: components.to_vec(), jacobian: OnceLock::new(), dim, n_params })
    }

    /// The underlying tape.
    pub fn tape(&self) -> &Tape {
        &self.tape
    }
}

impl Rhs for CompiledRhs {
    fn dim(&self) -> usize {
        self.dim
    }
    #[inline]
    fn eval(&self, _t: f64, y: &[f64], params: &[f64], dydt: &mut [f64]) {
        self.tape.eval(y, params, dydt)
    }
    fn n_params(&self) -> usize {
        self.n_params
    }
    fn is_autonomous(&self) -> bool {
        true
    }
    fn jacobian(&self, _t: f64, y: &[f64], params: &[f64], jac: &mut [f64]) -> bool {
        let tape = self.jacobian.get_or_init(|| {
            // Derivatives of compilable expressions are compilable (same leaves, same variables).
            Tape::compile(&symbolic::derivative::jacobian(&self.components, self.dim), self.dim).expect("derivatives of a compiled system compile")
        });
        tape.eval(y, params, jac);
        true
    }
}
