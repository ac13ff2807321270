//! Property tests of the symbolic layer: float tokens, prefix round trips, skeletons, parser
//! robustness, tape = tree, symbolic noise.

use oplab_solvers::symbolic::noise::{delete_random_term, insert_random_term, split_terms};
use oplab_solvers::symbolic::tokens::{encode_float, round_significant, ParseError};
use oplab_solvers::symbolic::{encode_system, encode_system_skeleton, parse_system, BinaryOp, Expr, Tape, UnaryOp};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Finite constants whose decimal exponent fits the vocabulary (|x| in [1e-8, 1e10)).
fn constant() -> impl Strategy<Value = f64> {
    (any::<bool>(), 1.0f64..10.0, -8i32..10).prop_map(|(neg, m, e)| {
        let v = m * 10f64.powi(e);
        if neg {
            -v
        } else {
            v
        }
    })
}

fn expr(dim: usize) -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![constant().prop_map(Expr::Const), (0..dim).prop_map(Expr::Var)];
    leaf.prop_recursive(6, 48, 2, |inner| {
        prop_oneof![
            (prop::sample::select(UnaryOp::ALL.to_vec()), inner.clone()).prop_map(|(op, a)| Expr::Unary(op, Box::new(a))),
            (prop::sample::select(BinaryOp::ALL.to_vec()), inner.clone(), inner).prop_map(|(op, a, b)| Expr::Binary(op, Box::new(a), Box::new(b))),
        ]
    })
}

fn system() -> impl Strategy<Value = Vec<Expr>> {
    (1usize..=5).prop_flat_map(|dim| prop::collection::vec(expr(dim), dim))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn float_tokens_round_trip(x in constant()) {
        let tokens = encode_float(x).unwrap();
        let parsed = parse_system(&tokens).unwrap();
        prop_assert_eq!(parsed.len(), 1);
        let v = match parsed[0] { Expr::Const(v) => v, ref e => panic!("{e:?}") };
        prop_assert_eq!(v, round_significant(x, 3));
        // Re-encoding the decoded value gives the same tokens (idempotent rounding).
        prop_assert_eq!(encode_float(v).unwrap(), tokens);
    }

    #[test]
    fn prefix_tokens_round_trip(sys in system()) {
        let tokens = encode_system(&sys).unwrap();
        let parsed = parse_system(&tokens).unwrap();
        let rounded: Vec<Expr> = sys.iter().map(|e| e.round_constants(3)).collect();
        prop_assert_eq!(&parsed, &rounded);
        // Rounded expressions are fixed points of encode/parse.
        prop_assert_eq!(encode_system(&parsed).unwrap(), tokens);
    }

    #[test]
    fn skeleton_round_trip(sys in system()) {
        let tokens = encode_system_skeleton(&sys);
        let parsed = parse_system(&tokens).unwrap();
        let skeleton: Vec<Expr> = sys.iter().map(Expr::skeleton).collect();
        prop_assert_eq!(&parsed, &skeleton);
        prop_assert_eq!(encode_system_skeleton(&parsed), tokens);
    }

    #[test]
    fn parser_never_panics_on_token_soup(idx in prop::collection::vec(0usize..40, 0..30)) {
        const WORDS: [&str; 40] = ["add", "sub", "mul", "div", "neg", "inv", "sin", "cos", "pow2", "u_0", "u_1",
            "u_2", "|", "+", "-", "N100", "N5", "E-1", "E11", "E0", "<PLACEHOLDER>", "3", "-10", "0", "x",
            "u_", "u_01", "N999", "E10", "E-10", "<PAD>", "pow", "+", "N267", "E-2", "mul", "add", "u_3", "|", "11"];
        let tokens: Vec<&str> = idx.iter().map(|&i| WORDS[i]).collect();
        let _ = parse_system(&tokens);
    }

    #[test]
    fn tape_equals_tree(sys in system(), u in prop::collection::vec(-3.0f64..3.0, 5)) {
        let dim = sys.len();
        let tape = Tape::compile(&sys, dim).unwrap();
        let mut out = vec![0.0; dim];
        tape.eval(&u[..dim], &[], &mut out);
        for (i, e) in sys.iter().enumerate() {
            let want = e.eval(&u[..dim], &[]);
            prop_assert!(out[i] == want || (out[i].is_nan() && want.is_nan()), "{} vs {}", out[i], want);
        }
    }

    #[test]
    fn noise_inserts_and_deletes_one_term(sys in system(), seed in any::<u64>()) {
        let skeleton: Vec<Expr> = sys.iter().map(Expr::skeleton).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let count = |s: &[Expr]| s.iter().map(|e| split_terms(e).1.len() + 1).sum::<usize>();
        let added = insert_random_term(&skeleton, &mut rng);
        prop_assert_eq!(added.len(), skeleton.len());
        prop_assert_eq!(count(&added), count(&skeleton) + 1);
        parse_system(&encode_system_skeleton(&added)).unwrap();
        if let Some(removed) = delete_random_term(&skeleton, &mut rng) {
            // Re-flattening can split a promoted right operand, so compare token lengths.
            let len = |s: &[Expr]| encode_system_skeleton(s).len();
            prop_assert!(len(&removed) < len(&skeleton));
        } else {
            prop_assert_eq!(count(&skeleton), skeleton.len());
        }
    }
}

/// Expressions without division (so finite differences are well-conditioned everywhere).
fn smooth_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![(-3.0f64..3.0).prop_map(Expr::Const), (0usize..3).prop_map(Expr::Var)];
    let unary = vec![UnaryOp::Neg, UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Pow2];
    let binary = vec![BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul];
    leaf.prop_recursive(5, 24, 2, move |inner| {
        prop_oneof![
            (prop::sample::select(unary.clone()), inner.clone()).prop_map(|(op, a)| Expr::Unary(op, Box::new(a))),
            (prop::sample::select(binary.clone()), inner.clone(), inner).prop_map(|(op, a, b)| Expr::Binary(op, Box::new(a), Box::new(b))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn derivative_matches_central_differences(e in smooth_expr(), u in prop::collection::vec(-1.5f64..1.5, 3), j in 0usize..3) {
        let d = e.derivative(j);
        let h = 1e-5;
        let (mut up, mut dn) = (u.clone(), u.clone());
        up[j] += h;
        dn[j] -= h;
        let fd = (e.eval(&up, &[]) - e.eval(&dn, &[])) / (2.0 * h);
        let exact = d.eval(&u, &[]);
        let scale = 1.0 + exact.abs() + e.eval(&u, &[]).abs();
        prop_assert!((fd - exact).abs() < 1e-5 * scale, "d/du{} {} = {} ; fd {} vs {}", j, e, d, fd, exact);
    }
}

#[test]
fn derivative_of_quotients() {
    use oplab_solvers::symbolic::build::{c, div, mul, u};
    // d/du0 (u0 / (u0 u1)) = 0 for u0 ≠ 0; d/du1 = -1/u1².
    let e = div(u(0), mul(u(0), u(1)));
    let at = [0.7, -1.3];
    assert!(e.derivative(0).eval(&at, &[]).abs() < 1e-15);
    assert!((e.derivative(1).eval(&at, &[]) + 1.0 / (1.3f64 * 1.3)).abs() < 1e-12);
    let inv = Expr::Unary(UnaryOp::Inv, Box::new(mul(c(2.0), u(0))));
    assert!((inv.derivative(0).eval(&at, &[]) + 2.0 / (1.4f64 * 1.4)).abs() < 1e-12);
    assert_eq!(mul(c(3.0), u(1)).derivative(0), Expr::Const(0.0));
    assert_eq!(mul(c(3.0), u(1)).derivative(1), Expr::Const(3.0));
}

#[test]
fn parse_errors_are_typed() {
    let p = |s: &str| parse_system(&s.split_whitespace().collect::<Vec<_>>());
    assert_eq!(p(""), Err(ParseError::UnexpectedEnd { position: 0 }));
    assert_eq!(p("add u_0"), Err(ParseError::UnexpectedEnd { position: 2 }));
    assert!(matches!(p("add u_0 foo"), Err(ParseError::UnknownToken { position: 2, .. })));
    assert!(matches!(p("+ N12 E-1"), Err(ParseError::BadFloat { position: 0, .. })));
    assert!(matches!(p("+ N120 E11"), Err(ParseError::BadFloat { .. })));
    assert!(matches!(p("+ N120"), Err(ParseError::BadFloat { .. })));
    assert!(matches!(p("u_0 u_1"), Err(ParseError::TrailingTokens { position: 1, .. })));
    assert_eq!(p("u_0 | | u_1"), Err(ParseError::EmptyComponent { position: 2 }));
    assert_eq!(p("u_0 |"), Err(ParseError::EmptyComponent { position: 2 }));
    assert_eq!(p("| u_0"), Err(ParseError::EmptyComponent { position: 0 }));
    let deep = vec!["neg"; 10_000].into_iter().chain(["u_0"]).collect::<Vec<_>>();
    assert!(matches!(parse_system(&deep), Err(ParseError::TooDeep { .. })));
}

#[test]
fn float_encoding_matches_prose_examples() {
    assert_eq!(encode_float(10.0).unwrap(), ["+", "N100", "E-1"]);
    assert_eq!(encode_float(2.67).unwrap(), ["+", "N267", "E-2"]);
    assert_eq!(encode_float(-0.38).unwrap(), ["-", "N380", "E-3"]);
    assert_eq!(encode_float(0.0).unwrap(), ["+", "N000", "E-2"]);
    assert_eq!(encode_float(1e-14).unwrap(), ["+", "N000", "E0"]);
    assert!(encode_float(f64::NAN).is_err());
    assert_eq!(encode_float(1e12).unwrap(), ["+", "N100", "E10"]);
    assert!(encode_float(1e13).is_err());
}
