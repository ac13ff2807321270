//! Symbolic differentiation and algebraic simplification, used for exact Jacobians of the
//! catalogue systems (the Rosenbrock integrator then needs no finite differences).

use super::expr::{build, BinaryOp, Expr, UnaryOp};

fn is_const(e: &Expr, v: f64) -> bool {
    matches!(e, Expr::Const(x) if *x == v)
}

impl Expr {
    /// `∂self/∂u_var`, simplified.
    pub fn derivative(&self, var: usize) -> Expr {
        use build::{add, c, cos, div, mul, neg, sin, sub};
        let d = match self {
            Expr::Const(_) | Expr::Param(_) | Expr::Placeholder => c(0.0),
            Expr::Var(i) => c(if *i == var { 1.0 } else { 0.0 }),
            Expr::Unary(op, a) => {
                let da = a.derivative(var);
                let a = (**a).clone();
                match op {
                    UnaryOp::Neg => neg(da),
                    UnaryOp::Inv => neg(div(da, mul(a.clone(), a))),
                    UnaryOp::Sin => mul(cos(a), da),
                    UnaryOp::Cos => mul(neg(sin(a)), da),
                    UnaryOp::Pow2 => mul(mul(c(2.0), a), da),
                }
            }
            Expr::Binary(op, a, b) => {
                let (da, db) = (a.derivative(var), b.derivative(var));
                let (a, b) = ((**a).clone(), (**b).clone());
                match op {
                    BinaryOp::Add => add(da, db),
                    BinaryOp::Sub => sub(da, db),
                    BinaryOp::Mul => add(mul(da, b), mul(a, db)),
                    BinaryOp::Div => div(sub(mul(da, b.clone()), mul(a, db)), mul(b.clone(), b)),
                }
            }
        };
        d.simplify()
    }

    /// Fold constant subtrees and apply the identities `x + 0 = x`, `x − 0 = x`, `0 − x = −x`,
    /// `x · 1 = x`, `x · 0 = 0`, `x / 1 = x`, `0 / x = 0` and `−(−x) = x`.
    ///
    /// `x · 0 = 0` drops NaN/inf propagation from `x`; use it for derivatives, not for PROSE
    /// trees (whose structure [`Expr::fold_constants`] preserves).
    pub fn simplify(&self) -> Expr {
        match self {
            Expr::Unary(op, a) => {
                let a = a.simplify();
                match (op, a) {
                    (_, Expr::Const(x)) => Expr::Const(op.apply(x)),
                    (UnaryOp::Neg, Expr::Unary(UnaryOp::Neg, inner)) => *inner,
                    (op, a) => Expr::Unary(*op, Box::new(a)),
                }
            }
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.simplify(), b.simplify());
                if let (Expr::Const(x), Expr::Const(y)) = (&a, &b) {
                    return Expr::Const(op.apply(*x, *y));
                }
                match op {
                    BinaryOp::Add if is_const(&a, 0.0) => b,
                    BinaryOp::Add | BinaryOp::Sub if is_const(&b, 0.0) => a,
                    BinaryOp::Sub if is_const(&a, 0.0) => Expr::Unary(UnaryOp::Neg, Box::new(b)),
                    BinaryOp::Mul if is_const(&a, 0.0) || is_const(&b, 0.0) => Expr::Const(0.0),
                    BinaryOp::Mul if is_const(&a, 1.0) => b,
                    BinaryOp::Mul | BinaryOp::Div if is_const(&b, 1.0) => a,
                    BinaryOp::Div if is_const(&a, 0.0) => Expr::Const(0.0),
                    _ => Expr::Binary(*op, Box::new(a), Box::new(b)),
                }
            }
            leaf => leaf.clone(),
        }
    }
}

/// The Jacobian `∂f_i/∂u_j` of a system, row-major `dim × dim`.
pub fn jacobian(components: &[Expr], dim: usize) -> Vec<Expr> {
    components.iter().flat_map(|f| (0..dim).map(move |j| f.derivative(j))).collect()
}
