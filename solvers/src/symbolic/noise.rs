//! PROSE's symbolic noise: corrupt a skeleton by inserting or deleting one additive term, and
//! perturb constants multiplicatively.
//!
//! A component's *terms* are the operands of its left-associated `add`/`sub` chain
//! (`((t0 op1 t1) op2 t2) ...`), which is how PROSE builds every system (`tree_from_list`).
//! Insertion picks a term from {c, c·u_i, c·u_i·u_j (i ≤ j)} and a slot uniformly, joins it with
//! `add` (with PROSE's rule that a leading `neg t0` becomes `new - t0`); deletion removes one
//! term of a component that has at least two (a removed leading term followed by `sub` leaves
//! `neg t1`). PROSE special-cases the double pendulum (it edits the sums inside the fractions);
//! here its components are single terms, so insertion adds a term around the fraction and
//! deletion only has multi-term components to choose from — a documented deviation.

use super::expr::{build, BinaryOp, Expr, UnaryOp};
use rand::Rng;

/// Which corruption [`symbolic_noise`] applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseKind {
    /// The skeleton is unchanged.
    None,
    /// One term was inserted.
    AddedTerm,
    /// One term was deleted.
    MissingTerm,
}

/// Split a component into its leading term and `(op, term)` continuation.
pub fn split_terms(expr: &Expr) -> (Expr, Vec<(BinaryOp, Expr)>) {
    let mut rest = Vec::new();
    let mut node = expr;
    while let Expr::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), a, b) = node {
        rest.push((*op, (**b).clone()));
        node = a;
    }
    rest.reverse();
    (node.clone(), rest)
}

/// The candidate terms PROSE inserts for a system of dimension `dim` (constants as placeholders).
pub fn addition_terms(dim: usize) -> Vec<Expr> {
    let mut terms = vec![Expr::Placeholder];
    for i in 0..dim {
        terms.push(build::mul(Expr::Placeholder, build::u(i)));
        for j in i..dim {
            terms.push(build::mul(Expr::Placeholder, build::mul(build::u(i), build::u(j))));
        }
    }
    terms
}

/// Insert one random term into a random slot of a random component.
pub fn insert_random_term<R: Rng + ?Sized>(components: &[Expr], rng: &mut R) -> Vec<Expr> {
    let dim = components.len();
    let candidates = addition_terms(dim);
    let new_term = candidates[rng.random_range(0..candidates.len())].clone();
    // Slots: (component, position) with position 0..=n_terms, as in PROSE.
    let split: Vec<_> = components.iter().map(split_terms).collect();
    let n_slots: usize = split.iter().map(|(_, rest)| rest.len() + 2).sum();
    let mut slot = rng.random_range(0..n_slots);
    let mut out = components.to_vec();
    for (ci, (first, rest)) in split.into_iter().enumerate() {
        let n = rest.len() + 2;
        if slot >= n {
            slot -= n;
            continue;
        }
        let mut terms: Vec<(BinaryOp, Expr)> = Vec::with_capacity(rest.len() + 2);
        if slot == 0 {
            match first {
                Expr::Unary(UnaryOp::Neg, inner) => {
                    terms.push((BinaryOp::Add, new_term));
                    terms.push((BinaryOp::Sub, *inner));
                }
                other => {
                    terms.push((BinaryOp::Add, new_term));
                    terms.push((BinaryOp::Add, other));
                }
            }
            terms.extend(rest);
        } else {
            terms.push((BinaryOp::Add, first));
            let mut rest = rest;
            rest.insert(slot - 1, (BinaryOp::Add, new_term));
            terms.extend(rest);
        }
        let mut it = terms.into_iter();
        let (_, head) = it.next().expect("at least two terms");
        out[ci] = build::chain(head, it.collect());
        break;
    }
    out
}

/// Delete one random term from a random component with at least two terms. Returns `None` if
/// no component has two terms.
pub fn delete_random_term<R: Rng + ?Sized>(components: &[Expr], rng: &mut R) -> Option<Vec<Expr>> {
    let split: Vec<_> = components.iter().map(split_terms).collect();
    let n_slots: usize = split.iter().filter(|(_, r)| !r.is_empty()).map(|(_, r)| r.len() + 1).sum();
    if n_slots == 0 {
        return None;
    }
    let mut slot = rng.random_range(0..n_slots);
    let mut out = components.to_vec();
    for (ci, (first, rest)) in split.into_iter().enumerate() {
        if rest.is_empty() {
            continue;
        }
        let n = rest.len() + 1;
        if slot >= n {
            slot -= n;
            continue;
        }
        let mut rest = rest;
        let (head, tail) = if slot == 0 {
            let (op, t1) = rest.remove(0);
            let head = if op == BinaryOp::Sub { build::neg(t1) } else { t1 };
            (head, rest)
        } else {
            rest.remove(slot - 1);
            (first, rest)
        };
        out[ci] = build::chain(head, tail);
        break;
    }
    Some(out)
}

/// PROSE's text-input noise on a skeleton: with probability `p_add` insert a term, else with
/// probability `p_miss` delete one (PROSE uses 0.15 and 0.15).
pub fn symbolic_noise<R: Rng + ?Sized>(skeleton: &[Expr], p_add: f64, p_miss: f64, rng: &mut R) -> (Vec<Expr>, NoiseKind) {
    let r: f64 = rng.random();
    if r < p_add {
        (insert_random_term(skeleton, rng), NoiseKind::AddedTerm)
    } else if r < p_add + p_miss {
        match delete_random_term(skeleton, rng) {
            Some(v) => (v, NoiseKind::MissingTerm),
            None => (skeleton.to_vec(), NoiseKind::None),
        }
    } else {
        (skeleton.to_vec(), NoiseKind::None)
    }
}

/// PROSE's coefficient noise (`encode_with_noise`): each constant `c` becomes
/// `c + sigma·|c|·ξ`, ξ ~ N(0, 1) (PROSE uses sigma = 0.05).
pub fn perturb_constants<R: Rng + ?Sized>(expr: &Expr, sigma: f64, rng: &mut R) -> Expr {
    use rand_distr::{Distribution, StandardNormal};
    expr.map_leaves(&mut |leaf| match leaf {
        Expr::Const(c) => {
            let xi: f64 = StandardNormal.sample(rng);
            Expr::Const(c + sigma * c.abs() * xi)
        }
        other => other.clone(),
    })
}
