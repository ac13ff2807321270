//! The one error every oplab layer reports for bad input: a parameter outside its allowed range.
//!
//! Solvers return it (inside their own error enums, which wrap it with `From`), the dataset layer
//! wraps it again, and the command line prints it as is, so the field a message names is always
//! the field the check named: no layer recovers it from another layer's text.

/// A parameter outside its allowed range. Displays as one line,
/// `{field} = {value} is invalid: {allowed}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value} is invalid: {allowed}")]
pub struct InvalidParameter {
    /// Name of the parameter as the user spells it (`resolution`, `grf.alpha`).
    pub field: String,
    /// The offending value, formatted.
    pub value: String,
    /// The allowed range, in words (`must be >= 1`).
    pub allowed: String,
}

impl InvalidParameter {
    /// The error for `field = value`, which must satisfy `allowed`.
    pub fn new(field: impl Into<String>, value: impl ToString, allowed: impl Into<String>) -> Self {
        InvalidParameter { field: field.into(), value: value.to_string(), allowed: allowed.into() }
    }

    /// The same error for a parameter that sits inside the table `parent` of a larger
    /// configuration: `alpha` inside `grf` becomes `grf.alpha`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_one_line_naming_field_value_and_range() {
        let e = InvalidParameter::new("alpha", -1.5, "must be a finite number > 0").within("grf");
        assert_eq!(e.to_string(), "grf.alpha = -1.5 is invalid: must be a finite number > 0");
        assert_eq!(e.field, "grf.alpha");
    }
}
