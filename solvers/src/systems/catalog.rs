//! The system definitions, each written once as an expression tree shaped exactly like
//! PROSE's (`prose_ode/symbolicregression/envs/generators.py`, `*_tree_list`), so that
//! substituting parameters and folding constants reproduces PROSE's token sequences.
//!
//! Conventions carried over from PROSE: products nest to the right (`mul_terms`), additive
//! terms chain to the left (`tree_from_list`), a coefficient that PROSE writes negated (e.g.
//! `-σ` in Lorenz) is `neg(p)` here and folds to one constant, and literal numbers (0.5, 3.0,
//! -2.0, ...) are constants that tokenize as floats and become placeholders in skeletons.

use super::{OdeSystem, ParamSpec};
use crate::symbolic::build::{add, c, chain, cos, div, mul, neg, p, product, right_sum, sin, sub, u};
use crate::symbolic::BinaryOp::{Add, Sub};
use crate::symbolic::Expr;

fn param(name: &'static str, nominal: f64) -> ParamSpec {
    ParamSpec { name, nominal, fixed: false }
}

fn fixed(name: &'static str, nominal: f64) -> ParamSpec {
    ParamSpec { name, nominal, fixed: true }
}

fn system(name: &'static str, aliases: &'static [&'static str], description: &'static str, params: Vec<ParamSpec>, rhs: Vec<Expr>) -> OdeSystem {
    OdeSystem { name, aliases, description, dim: rhs.len(), params, rhs, blowup_bound: 1e3 }
}

pub(super) fn thomas() -> OdeSystem {
    let b = || neg(p(0));
    system(
        "thomas",
        &[],
        "Thomas' cyclically symmetric attractor: u_i' = sin(u_{i+1}) - b u_i",
        vec![param("b", 0.17)],
        vec![add(sin(u(1)), mul(b(), u(0))), add(sin(u(2)), mul(b(), u(1))), add(sin(u(0)), mul(b(), u(2)))],
    )
}

pub(super) fn lorenz() -> OdeSystem {
    let (sigma, rho, beta) = (|| p(0), || p(1), || p(2));
    system(
        "lorenz",
        &["lorenz63", "lorenz_3d"],
        "Lorenz-63: [σ(u1-u0), u0(ρ-u2) - u1, u0 u1 - β u2]",
        vec![param("sigma", 10.0), param("rho", 28.0), param("beta", 8.0 / 3.0)],
        vec![
            add(product(vec![sigma(), u(1)]), product(vec![neg(sigma()), u(0)])),
            chain(product(vec![rho(), u(0)]), vec![(Sub, product(vec![u(0), u(2)])), (Sub, u(1))]),
            add(product(vec![u(0), u(1)]), product(vec![neg(beta()), u(2)])),
        ],
    )
}

pub(super) fn aizawa() -> OdeSystem {
    // PROSE also draws e = 0.25 ± 10 % but never uses it; it is omitted here.
    let (a, b, cc, d, f) = (|| p(0), || p(1), || p(2), || p(3), || p(4));
    system(
        "aizawa",
        &[],
        "Aizawa (PROSE's simplified form): [(u2-b)u0 - d u1, d u0 + (u2-b)u1, c + a u2 - u2³/3 - u0² + f u2 u0³]",
        vec![param("a", 0.95), param("b", 0.7), param("c", 0.6), param("d", 3.5), param("f", 0.1)],
        vec![
            chain(product(vec![u(0), u(2)]), vec![(Add, product(vec![neg(b()), u(0)])), (Add, product(vec![neg(d()), u(1)]))]),
            chain(product(vec![d(), u(0)]), vec![(Add, product(vec![u(1), u(2)])), (Add, product(vec![neg(b()), u(1)]))]),
            chain(
                cc(),
                vec![
                    (Add, product(vec![a(), u(2)])),
                    (Sub, div(product(vec![u(2), u(2), u(2)]), c(3.0))),
                    (Sub, product(vec![u(0), u(0)])),
                    (Add, product(vec![f(), u(0), u(0), u(0), u(2)])),
                ],
            ),
        ],
    )
}

pub(super) fn chen_lee() -> OdeSystem {
    let (a, b, d) = (|| p(0), || p(1), || p(2));
    system(
        "chen_lee",
        &[],
        "Chen-Lee: [a u0 - u1 u2, b u1 + u0 u2, d u2 + u0 u1 / 3] (b fixed at -10)",
        vec![param("a", 5.0), fixed("b", -10.0), param("d", -0.38)],
        vec![
            sub(product(vec![a(), u(0)]), product(vec![u(1), u(2)])),
            add(product(vec![b(), u(1)]), product(vec![u(0), u(2)])),
            add(product(vec![d(), u(2)]), div(mul(u(0), u(1)), c(3.0))),
        ],
    )
}

pub(super) fn dadras() -> OdeSystem {
    let (a, b, cc, d, e) = (|| p(0), || p(1), || p(2), || p(3), || p(4));
    system(
        "dadras",
        &[],
        "Dadras: [0.5 u1 - a u0 + b u1 u2, c u1 - 0.5 u0 u2 + 0.5 u2, d u0 u1 - e u2]",
        vec![param("a", 1.25), param("b", 1.15), param("c", 0.75), param("d", 0.8), param("e", 4.0)],
        vec![
            chain(product(vec![c(0.5), u(1)]), vec![(Add, product(vec![neg(a()), u(0)])), (Add, product(vec![b(), u(1), u(2)]))]),
            chain(product(vec![cc(), u(1)]), vec![(Add, product(vec![c(-0.5), u(0), u(2)])), (Add, product(vec![c(0.5), u(2)]))]),
            add(product(vec![d(), u(0), u(1)]), product(vec![neg(e()), u(2)])),
        ],
    )
}

pub(super) fn rossler() -> OdeSystem {
    let (a, b, cc) = (|| p(0), || p(1), || p(2));
    system(
        "rossler",
        &[],
        "Rössler: [-u1 - u2, u0 + a u1, b + u2(u0 - c)] (PROSE nominal a = b = 0.1, c = 14; the classic a = b = 0.2, c = 5.7 is a parameter choice)",
        vec![param("a", 0.1), param("b", 0.1), param("c", 14.0)],
        vec![
            sub(neg(u(1)), u(2)),
            add(u(0), product(vec![a(), u(1)])),
            chain(b(), vec![(Add, product(vec![u(0), u(2)])), (Add, product(vec![neg(cc()), u(2)]))]),
        ],
    )
}

pub(super) fn halvorsen() -> OdeSystem {
    let comp = |i: usize, j: usize, k: usize| chain(product(vec![p(0), u(i)]), vec![(Sub, u(j)), (Sub, u(k)), (Sub, product(vec![c(0.25), u(j), u(j)]))]);
    system(
        "halvorsen",
        &[],
        "Halvorsen: u_i' = a u_i - u_{i+1} - u_{i+2} - 0.25 u_{i+1}²",
        vec![param("a", -0.35)],
        vec![comp(0, 1, 2), comp(1, 2, 0), comp(2, 0, 1)],
    )
}

pub(super) fn fabrikant() -> OdeSystem {
    // PROSE draws alpha = -2 · U(0.98 ± 10 %), i.e. uniformly within ±10 % of -1.96.
    let (alpha, gamma) = (|| p(0), || p(1));
    let mut s = system(
        "fabrikant",
        &["rabinovich_fabrikant"],
        "Rabinovich-Fabrikant: [u1(u2 - 1 + u0²) + γ u0, u0(3 u2 + 1 - u0²) + γ u1, α u2 - 2 u0 u1 u2]",
        vec![param("alpha", -1.96), param("gamma", 0.1)],
        vec![
            chain(product(vec![u(1), u(2)]), vec![(Sub, u(1)), (Add, product(vec![u(0), u(0), u(1)])), (Add, product(vec![gamma(), u(0)]))]),
            chain(product(vec![c(3.0), u(0), u(2)]), vec![(Add, u(0)), (Sub, product(vec![u(0), u(0), u(0)])), (Add, product(vec![gamma(), u(1)]))]),
            add(product(vec![alpha(), u(2)]), product(vec![c(-2.0), u(0), u(1), u(2)])),
        ],
    );
    s.blowup_bound = 1e5;
    s
}

pub(super) fn sprott_b() -> OdeSystem {
    let (a, b, cc) = (|| p(0), || p(1), || p(2));
    system(
        "sprott_b",
        &["sprott_B"],
        "Sprott B: [a u1 u2, u0 - b u1, c - u0 u1]",
        vec![param("a", 0.4), param("b", 1.2), param("c", 1.0)],
        vec![product(vec![a(), u(1), u(2)]), add(u(0), product(vec![neg(b()), u(1)])), sub(cc(), product(vec![u(0), u(1)]))],
    )
}

pub(super) fn sprott_linz_f() -> OdeSystem {
    system(
        "sprott_linz_f",
        &["sprott_linz_F"],
        "Sprott-Linz F: [u1 + u2, -u0 + a u1, u0² - u2]",
        vec![param("a", 0.5)],
        vec![add(u(1), u(2)), sub(product(vec![p(0), u(1)]), u(0)), sub(product(vec![u(0), u(0)]), u(2))],
    )
}

pub(super) fn four_wing() -> OdeSystem {
    let (a, b, cc) = (|| p(0), || p(1), || p(2));
    system(
        "four_wing",
        &[],
        "Four-wing: [a u0 + u1 u2, b u0 + c u1 - u0 u2, -u2 - u0 u1]",
        vec![param("a", 0.2), param("b", 0.01), param("c", -0.4)],
        vec![
            add(product(vec![a(), u(0)]), product(vec![u(1), u(2)])),
            chain(product(vec![b(), u(0)]), vec![(Add, product(vec![cc(), u(1)])), (Sub, product(vec![u(0), u(2)]))]),
            sub(neg(u(2)), product(vec![u(0), u(1)])),
        ],
    )
}

pub(super) fn duffing() -> OdeSystem {
    let (alpha, beta, gamma, delta, omega) = (|| p(0), || p(1), || p(2), || p(3), || p(4));
    system(
        "duffing",
        &[],
        "Forced Duffing oscillator, time carried as u0: [1, u2, δ u2 + α u1 + β u1³ + γ cos(ω u0)]",
        vec![param("alpha", -1.0), param("beta", -5.0), param("gamma", 8.0), param("delta", -0.02), param("omega", 0.5)],
        vec![
            c(1.0),
            u(2),
            chain(
                product(vec![delta(), u(2)]),
                vec![
                    (Add, product(vec![alpha(), u(1)])),
                    (Add, product(vec![beta(), u(1), u(1), u(1)])),
                    (Add, mul(gamma(), cos(product(vec![omega(), u(0)])))),
                ],
            ),
        ],
    )
}

fn lorenz96(n: usize) -> Vec<Expr> {
    let sorted = |a: usize, b: usize| product(vec![u(a.min(b)), u(a.max(b))]);
    (0..n)
        .map(|i| {
            let (next, prev, prev2) = ((i + 1) % n, (i + n - 1) % n, (i + n - 2) % n);
            chain(sorted(next, prev), vec![(Sub, sorted(prev2, prev)), (Sub, u(i)), (Add, p(0))])
        })
        .collect()
}

pub(super) fn lorenz96_4d() -> OdeSystem {
    system("lorenz96_4d", &["lorenz_96_4d"], "Lorenz-96, 4 variables: u_i' = (u_{i+1} - u_{i-2}) u_{i-1} - u_i + F", vec![param("F", 8.0)], lorenz96(4))
}

pub(super) fn lorenz96_5d() -> OdeSystem {
    system("lorenz96_5d", &["lorenz_96_5d"], "Lorenz-96, 5 variables: u_i' = (u_{i+1} - u_{i-2}) u_{i-1} - u_i + F", vec![param("F", 8.0)], lorenz96(5))
}

pub(super) fn double_pendulum() -> OdeSystem {
    let (g, l) = (|| p(0), || p(1));
    // PROSE's coefficients a = -3g/l, b = -g/l, c = 4g/l, written so they fold to constants.
    let a = || div(mul(c(-3.0), g()), l());
    let b = || div(neg(g()), l());
    let cc = || div(mul(c(4.0), g()), l());
    let diff = || sub(u(0), u(1));
    let denominator = || sub(c(3.0), cos(mul(c(2.0), diff())));
    system(
        "double_pendulum",
        &[],
        "Double pendulum (equal masses and lengths), state [θ1, θ2, ω1, ω2]",
        vec![param("g", 9.81), param("l", 1.0)],
        vec![
            u(2),
            u(3),
            div(
                right_sum(vec![
                    mul(a(), sin(u(0))),
                    mul(b(), sin(add(u(0), mul(c(-2.0), u(1))))),
                    mul(c(-2.0), mul(sin(diff()), add(product(vec![u(3), u(3)]), mul(product(vec![u(2), u(2)]), cos(diff()))))),
                ]),
                denominator(),
            ),
            div(
                mul(sin(diff()), right_sum(vec![product(vec![c(4.0), u(2), u(2)]), mul(cc(), cos(u(0))), mul(product(vec![u(3), u(3)]), cos(diff()))])),
                denominator(),
            ),
        ],
    )
}
