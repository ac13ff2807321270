//! The expression tree: leaves (constants, parameters, state variables, placeholders) and
//! PROSE's operator set.

use std::fmt;

/// Skeleton token standing for one constant: the text of [`Expr::Placeholder`].
pub const PLACEHOLDER: &str = "<PLACEHOLDER>";

/// One-argument operators (PROSE's `operators_real` unaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `1/x`
    Inv,
    /// `sin x`
    Sin,
    /// `cos x`
    Cos,
    /// `x²`
    Pow2,
}

/// Two-argument operators (PROSE's `operators_real` binaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
}

impl UnaryOp {
    /// Every unary operator, in a fixed order.
    pub const ALL: [UnaryOp; 5] = [UnaryOp::Neg, UnaryOp::Inv, UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Pow2];

    /// The PROSE token (`neg`, `inv`, `sin`, `cos`, `pow2`).
    pub fn token(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Inv => "inv",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Pow2 => "pow2",
        }
    }

    /// Apply the operator. Division by zero follows IEEE 754 (±inf), like the compiled tape.
    #[inline]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Inv => 1.0 / x,
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Pow2 => x * x,
        }
    }
}

impl BinaryOp {
    /// Every binary operator, in a fixed order.
    pub const ALL: [BinaryOp; 4] = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div];

    /// The PROSE token (`add`, `sub`, `mul`, `div`).
    pub fn token(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
        }
    }

    /// The infix symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }

    /// Apply the operator (IEEE 754 semantics).
    #[inline]
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
        }
    }
}

/// A scalar expression in the state variables `u_i` and named parameters.
///
/// A system's right-hand side is a `Vec<Expr>`, one per component. Parameters stay symbolic
/// (`Param(k)` reads `params[k]`) so that one definition serves every parameter draw; they are
/// substituted ([`Expr::substitute_params`]) and folded ([`Expr::fold_constants`]) before
/// tokenization.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A numeric constant.
    Const(f64),
    /// Parameter `k` of the system.
    Param(usize),
    /// State component `u_i`.
    Var(usize),
    /// A constant whose value is unknown (PROSE skeleton `<PLACEHOLDER>`).
    Placeholder,
    /// A unary operator applied to a subexpression.
    Unary(UnaryOp, Box<Expr>),
    /// A binary operator applied to two subexpressions.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
}

/// Shorthand constructors, used by the systems catalogue.
pub mod build {
    use super::{BinaryOp, Expr, UnaryOp};

    /// Constant `x`.
    pub fn c(x: f64) -> Expr {
        Expr::Const(x)
    }
    /// Parameter `k`.
    pub fn p(k: usize) -> Expr {
        Expr::Param(k)
    }
    /// State variable `u_i`.
    pub fn u(i: usize) -> Expr {
        Expr::Var(i)
    }
    /// `a + b`
    pub fn add(a: Expr, b: Expr) -> Expr {
        Expr::Binary(BinaryOp::Add, Box::new(a), Box::new(b))
    }
    /// `a - b`
    pub fn sub(a: Expr, b: Expr) -> Expr {
        Expr::Binary(BinaryOp::Sub, Box::new(a), Box::new(b))
    }
    /// `a * b`
    pub fn mul(a: Expr, b: Expr) -> Expr {
        Expr::Binary(BinaryOp::Mul, Box::new(a), Box::new(b))
    }
    /// `a / b`
    pub fn div(a: Expr, b: Expr) -> Expr {
        Expr::Binary(BinaryOp::Div, Box::new(a), Box::new(b))
    }
    /// `-a`
    pub fn neg(a: Expr) -> Expr {
        Expr::Unary(UnaryOp::Neg, Box::new(a))
    }
    /// `sin a`
    pub fn sin(a: Expr) -> Expr {
        Expr::Unary(UnaryOp::Sin, Box::new(a))
    }
    /// `cos a`
    pub fn cos(a: Expr) -> Expr {
        Expr::Unary(UnaryOp::Cos, Box::new(a))
    }
    /// Product of factors nested to the right, `f0 * (f1 * (f2 * ...))` (PROSE `mul_terms`).
    ///
    /// # Panics
    /// If `factors` is empty (catalogue construction only, never user input).
    pub fn product(factors: Vec<Expr>) -> Expr {
        let mut it = factors.into_iter().rev();
        let last = it.next().expect("product of no factors");
        it.fold(last, |acc, f| mul(f, acc))
    }
    /// Sum of terms nested to the right, `t0 + (t1 + (t2 + ...))` (PROSE `add_terms`).
    ///
    /// # Panics
    /// If `terms` is empty (catalogue construction only).
    pub fn right_sum(terms: Vec<Expr>) -> Expr {
        let mut it = terms.into_iter().rev();
        let last = it.next().expect("sum of no terms");
        it.fold(last, |acc, t| add(t, acc))
    }
    /// Left-associated chain `((t0 op1 t1) op2 t2) ...` (PROSE `tree_from_list`).
    pub fn chain(first: Expr, rest: Vec<(super::BinaryOp, Expr)>) -> Expr {
        rest.into_iter().fold(first, |acc, (op, t)| Expr::Binary(op, Box::new(acc), Box::new(t)))
    }
}

impl Expr {
    /// Evaluate at state `u` with parameters `params`.
    ///
    /// Out-of-range variable or parameter indices and placeholders evaluate to NaN, so a
    /// malformed (e.g. decoded) expression yields an invalid value instead of a panic.
    pub fn eval(&self, u: &[f64], params: &[f64]) -> f64 {
        match self {
            Expr::Const(x) => *x,
            Expr::Param(k) => params.get(*k).copied().unwrap_or(f64::NAN),
            Expr::Var(i) => u.get(*i).copied().unwrap_or(f64::NAN),
            Expr::Placeholder => f64::NAN,
            Expr::Unary(op, a) => op.apply(a.eval(u, params)),
            Expr::Binary(op, a, b) => op.apply(a.eval(u, params), b.eval(u, params)),
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        match self {
            Expr::Unary(_, a) => 1 + a.len(),
            Expr::Binary(_, a, b) => 1 + a.len() + b.len(),
            _ => 1,
        }
    }

    /// Always false: an expression has at least one node.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Depth of the tree (a leaf has depth 1).
    pub fn depth(&self) -> usize {
        match self {
            Expr::Unary(_, a) => 1 + a.depth(),
            Expr::Binary(_, a, b) => 1 + a.depth().max(b.depth()),
            _ => 1,
        }
    }

    /// Largest variable index used plus one (0 if no variable appears).
    pub fn n_vars(&self) -> usize {
        match self {
            Expr::Var(i) => i + 1,
            Expr::Unary(_, a) => a.n_vars(),
            Expr::Binary(_, a, b) => a.n_vars().max(b.n_vars()),
            _ => 0,
        }
    }

    /// Largest parameter index used plus one (0 if no parameter appears).
    pub fn n_params(&self) -> usize {
        match self {
            Expr::Param(k) => k + 1,
            Expr::Unary(_, a) => a.n_params(),
            Expr::Binary(_, a, b) => a.n_params().max(b.n_params()),
            _ => 0,
        }
    }

    /// Replace every `Param(k)` by `Const(params[k])`. Indices beyond `params` stay symbolic.
    pub fn substitute_params(&self, params: &[f64]) -> Expr {
        self.map_leaves(&mut |leaf| match leaf {
            Expr::Param(k) if *k < params.len() => Expr::Const(params[*k]),
            other => other.clone(),
        })
    }

    /// Simplify constants: every subtree whose leaves are all constants becomes one constant.
    ///
    /// This is what turns `neg(σ)` into the single leaf `-σ` that PROSE's encoder sees.
    pub fn fold_constants(&self) -> Expr {
        match self {
            Expr::Unary(op, a) => match a.fold_constants() {
                Expr::Const(x) => Expr::Const(op.apply(x)),
                fa => Expr::Unary(*op, Box::new(fa)),
            },
            Expr::Binary(op, a, b) => match (a.fold_constants(), b.fold_constants()) {
                (Expr::Const(x), Expr::Const(y)) => Expr::Const(op.apply(x, y)),
                (fa, fb) => Expr::Binary(*op, Box::new(fa), Box::new(fb)),
            },
            leaf => leaf.clone(),
        }
    }

    /// Rebuild the tree with `f` applied to every leaf (operators kept).
    pub fn map_leaves(&self, f: &mut dyn FnMut(&Expr) -> Expr) -> Expr {
        match self {
            Expr::Unary(op, a) => Expr::Unary(*op, Box::new(a.map_leaves(f))),
            Expr::Binary(op, a, b) => {
                let fa = a.map_leaves(f);
                Expr::Binary(*op, Box::new(fa), Box::new(b.map_leaves(f)))
            }
            leaf => f(leaf),
        }
    }

    /// Every constant and parameter replaced by [`Expr::Placeholder`] (PROSE skeleton).
    pub fn skeleton(&self) -> Expr {
        self.map_leaves(&mut |leaf| match leaf {
            Expr::Const(_) | Expr::Param(_) => Expr::Placeholder,
            other => other.clone(),
        })
    }

    /// Round every constant to `digits` significant digits the way PROSE's encoder does
    /// (decimal `%.{digits-1}e` formatting, then parse back).
    pub fn round_constants(&self, digits: usize) -> Expr {
        self.map_leaves(&mut |leaf| match leaf {
            Expr::Const(x) => Expr::Const(round_significant(*x, digits)),
            other => other.clone(),
        })
    }

    /// Infix text with parameters written through `param_name`.
    pub fn infix_with(&self, param_name: &dyn Fn(usize) -> String) -> String {
        let mut s = String::new();
        self.write_infix(&mut s, param_name);
        s
    }

    fn write_infix(&self, s: &mut String, param_name: &dyn Fn(usize) -> String) {
        use std::fmt::Write;
        match self {
            Expr::Const(x) => {
                let _ = write!(s, "{x}");
            }
            Expr::Param(k) => s.push_str(&param_name(*k)),
            Expr::Var(i) => {
                let _ = write!(s, "u_{i}");
            }
            Expr::Placeholder => s.push_str(PLACEHOLDER),
            Expr::Unary(UnaryOp::Pow2, a) => {
                s.push('(');
                a.write_infix(s, param_name);
                s.push_str(")**2");
            }
            Expr::Unary(op, a) => {
                s.push_str(op.token());
                s.push('(');
                a.write_infix(s, param_name);
                s.push(')');
            }
            Expr::Binary(op, a, b) => {
                s.push('(');
                a.write_infix(s, param_name);
                s.push(' ');
                s.push_str(op.symbol());
                s.push(' ');
                b.write_infix(s, param_name);
                s.push(')');
            }
        }
    }
}

/// Infix form in PROSE's style: `((10 * u_1) + (-10 * u_0))`; parameters print as `p0`, `p1`, ...
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.infix_with(&|k| format!("p{k}")))
    }
}

/// Infix form of a multi-component right-hand side, components joined by ` | `.
pub fn infix_system(components: &[Expr], param_name: &dyn Fn(usize) -> String) -> String {
    components.iter().map(|e| e.infix_with(param_name)).collect::<Vec<_>>().join(" | ")
}

/// Round to `digits` significant decimal digits (Python `%.{digits-1}e` then parse), which for
/// 3 digits is PROSE's `refine_floats` for every value whose exponent lies within ±10.
/// Non-finite values are returned unchanged.
pub fn round_significant(value: f64, digits: usize) -> f64 {
    if !value.is_finite() || digits == 0 {
        return value;
    }
    let text = format!("{:.*e}", digits - 1, value);
    text.parse().unwrap_or(value)
}
