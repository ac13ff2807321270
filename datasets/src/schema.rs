//! The layout of a dataset's samples: the fields, scalars, texts and coordinate vectors a file
//! holds ([`Schema`]) and one generated sample's values ([`Sample`]).

/// How a field is used by learning code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Model input (e.g. the Darcy coefficient).
    Input,
    /// Quantity to predict (e.g. the Darcy solution).
    Target,
    /// Auxiliary data stored alongside (e.g. the forcing that is the same for all samples).
    Context,
}

impl Role {
    /// The string stored in the `role` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Input => "input",
            Role::Target => "target",
            Role::Context => "context",
        }
    }

    /// Parse the `role` attribute.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "input" => Some(Role::Input),
            "target" => Some(Role::Target),
            "context" => Some(Role::Context),
            _ => None,
        }
    }
}

/// A per-sample array stored under `/fields/<name>` with shape `(N, shape...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// Dataset name, e.g. `coeff`.
    pub name: String,
    /// Shape of one sample, e.g. `[s, s]`.
    pub shape: Vec<usize>,
    /// Role for learning code.
    pub role: Role,
    /// Names of the axes after the sample axis, e.g. `["x", "y"]`; each names a `/dimensions`
    /// entry where one exists.
    pub axes: Vec<String>,
    /// One-line human description.
    pub description: String,
}

/// A per-sample parameter stored under `/scalars/<name>` with shape `(N,)` or `(N, shape...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarSpec {
    /// Dataset name, e.g. `viscosity`.
    pub name: String,
    /// Shape of one sample's value; empty for a plain scalar.
    pub shape: Vec<usize>,
    /// One-line human description.
    pub description: String,
}

/// A per-sample variable-length UTF-8 string stored under `/symbolic/<name>` (e.g. a token
/// sequence, tokens separated by single spaces).
#[derive(Debug, Clone, PartialEq)]
pub struct TextSpec {
    /// Dataset name, e.g. `tokens`.
    pub name: String,
    /// One-line human description.
    pub description: String,
}

/// A coordinate vector stored under `/dimensions/<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    /// Axis name: `x`, `y`, `time`, ...
    pub name: String,
    /// Coordinates (f64 always).
    pub values: Vec<f64>,
}

/// Everything the writer needs to lay out a file before any sample exists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    /// Per-sample arrays.
    pub fields: Vec<FieldSpec>,
    /// Per-sample parameters.
    pub scalars: Vec<ScalarSpec>,
    /// Per-sample strings.
    pub texts: Vec<TextSpec>,
    /// Coordinate vectors.
    pub dimensions: Vec<Dimension>,
    /// Extra string attributes on the root group that describe the data (e.g.
    /// `boundary_conditions = "dirichlet"`), so a reader needs no side channel.
    pub attributes: Vec<(String, String)>,
}

impl Schema {
    /// Number of values in one sample of field `i`.
    pub fn field_len(&self, i: usize) -> usize {
        self.fields[i].shape.iter().product()
    }

    /// Number of values in one sample of scalar `i`.
    pub fn scalar_len(&self, i: usize) -> usize {
        self.scalars[i].shape.iter().product()
    }
}

/// One generated sample, in the order of the schema's fields, scalars and texts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    /// Field values, row-major, one vector per schema field.
    pub fields: Vec<Vec<f64>>,
    /// Scalar values, one vector per schema scalar (length 1 for a plain scalar).
    pub scalars: Vec<Vec<f64>>,
    /// Strings, one per schema text.
    pub texts: Vec<String>,
}
