//! Every catalogue system: compiled RHS equals the expression tree, tokens parse back, PROSE's
//! Lorenz encoding (33 tokens, skeleton 25), vocabulary coverage, lookup errors.

// The test problems return `FnRhs<impl Fn(..)>` and take `&dyn Fn(..)` checks: an `impl` type
// cannot be named by a type alias, and spelling the closure types out is what reads best here.
#![allow(clippy::type_complexity)]

use oplab_solvers::ode::Rhs;
use oplab_solvers::symbolic::{parse_system, parse_system_str, prose_vocabulary, tokens::round_significant, Expr};
use oplab_solvers::systems::{self, SystemError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn catalogue_has_all_prose_systems() {
    assert_eq!(systems::names().len(), 15);
    for name in systems::PROSE_ALL.iter().chain(&systems::PROSE_3D) {
        let s = systems::by_name(name).unwrap();
        assert_eq!(&s.name, name);
        assert_eq!(s.rhs.len(), s.dim);
    }
    let dims: Vec<usize> = systems::all().iter().map(|s| s.dim).collect();
    assert_eq!(dims, vec![3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5, 4]);
    // PROSE's spellings resolve too.
    for alias in ["lorenz_3d", "Lorenz63", "sprott_B", "sprott_linz_F", "lorenz_96_4d", "lorenz_96_5d"] {
        systems::by_name(alias).unwrap();
    }
    match systems::by_name("lorentz") {
        Err(SystemError::Unknown { name, known }) => {
            assert_eq!(name, "lorentz");
            assert!(known.contains("lorenz"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn compiled_rhs_equals_tree_evaluation_at_random_points() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for sys in systems::all() {
        let rhs = sys.compile();
        assert_eq!(rhs.dim(), sys.dim);
        let mut dydt = vec![0.0; sys.dim];
        for _ in 0..200 {
            let params: Vec<f64> = sys.nominal_params().iter().map(|p| p * rng.random_range(0.8..1.2)).collect();
            let u: Vec<f64> = (0..sys.dim).map(|_| rng.random_range(-5.0..5.0)).collect();
            rhs.eval(0.0, &u, &params, &mut dydt);
            for (i, e) in sys.rhs.iter().enumerate() {
                let tree = e.eval(&u, &params);
                assert!((dydt[i] - tree).abs() <= 1e-12 * (1.0 + tree.abs()), "{} component {i}: tape {} vs tree {}", sys.name, dydt[i], tree);
            }
            // The folded (PROSE) tree computes the same function.
            let concrete = sys.concrete(&params).unwrap();
            for (i, e) in concrete.iter().enumerate() {
                let v = e.eval(&u, &[]);
                assert!((dydt[i] - v).abs() <= 1e-12 * (1.0 + v.abs()), "{} folded component {i}", sys.name);
            }
        }
    }
}

#[test]
fn hand_written_equations_match_the_trees() {
    // Independent check of a few systems against the formulas in the reference table.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let check = |name: &str, f: &dyn Fn(&[f64], &[f64]) -> Vec<f64>, rng: &mut ChaCha8Rng| {
        let sys = systems::by_name(name).unwrap();
        let rhs = sys.compile();
        let p = sys.nominal_params();
        let mut d = vec![0.0; sys.dim];
        for _ in 0..50 {
            let u: Vec<f64> = (0..sys.dim).map(|_| rng.random_range(-3.0..3.0)).collect();
            rhs.eval(0.0, &u, &p, &mut d);
            let want = f(&u, &p);
            for i in 0..sys.dim {
                assert!((d[i] - want[i]).abs() < 1e-10 * (1.0 + want[i].abs()), "{name}[{i}]: {} vs {}", d[i], want[i]);
            }
        }
    };
    check("lorenz", &|u, p| vec![p[0] * (u[1] - u[0]), u[0] * (p[1] - u[2]) - u[1], u[0] * u[1] - p[2] * u[2]], &mut rng);
    check("rossler", &|u, p| vec![-u[1] - u[2], u[0] + p[0] * u[1], p[1] + u[2] * (u[0] - p[2])], &mut rng);
    check(
        "aizawa",
        &|u, p| {
            let (a, b, c, d, f) = (p[0], p[1], p[2], p[3], p[4]);
            vec![(u[2] - b) * u[0] - d * u[1], d * u[0] + (u[2] - b) * u[1], c + a * u[2] - u[2].powi(3) / 3.0 - u[0] * u[0] + f * u[2] * u[0].powi(3)]
        },
        &mut rng,
    );
    check(
        "fabrikant",
        &|u, p| {
            let (al, g) = (p[0], p[1]);
            vec![u[1] * (u[2] - 1.0 + u[0] * u[0]) + g * u[0], u[0] * (3.0 * u[2] + 1.0 - u[0] * u[0]) + g * u[1], al * u[2] - 2.0 * u[0] * u[1] * u[2]]
        },
        &mut rng,
    );
    check("lorenz96_5d", &|u, p| (0..5).map(|i| (u[(i + 1) % 5] - u[(i + 3) % 5]) * u[(i + 4) % 5] - u[i] + p[0]).collect(), &mut rng);
    check(
        "double_pendulum",
        &|u, p| {
            let r = p[0] / p[1];
            let (a, b, c) = (-3.0 * r, -r, 4.0 * r);
            let den = 3.0 - (2.0 * (u[0] - u[1])).cos();
            vec![
                u[2],
                u[3],
                (a * u[0].sin() + b * (u[0] - 2.0 * u[1]).sin() - 2.0 * (u[0] - u[1]).sin() * (u[3] * u[3] + u[2] * u[2] * (u[0] - u[1]).cos())) / den,
                (u[0] - u[1]).sin() * (4.0 * u[2] * u[2] + c * u[0].cos() + u[3] * u[3] * (u[0] - u[1]).cos()) / den,
            ]
        },
        &mut rng,
    );
    check("duffing", &|u, p| vec![1.0, u[2], p[3] * u[2] + p[0] * u[1] + p[1] * u[1].powi(3) + p[2] * (p[4] * u[0]).cos()], &mut rng);
}

#[test]
fn lorenz_tokens_are_prose_encoding() {
    let lorenz = systems::by_name("lorenz").unwrap();
    let tokens = lorenz.tokens(&lorenz.nominal_params()).unwrap();
    assert_eq!(
        tokens.join(" "),
        "add mul + N100 E-1 u_1 mul - N100 E-1 u_0 | sub sub mul + N280 E-1 u_0 mul u_0 u_2 u_1 | \
         add mul u_0 u_1 mul - N267 E-2 u_2"
    );
    assert_eq!(tokens.len(), 33);
    let skeleton = lorenz.skeleton_tokens();
    assert_eq!(skeleton.len(), 25);
    assert_eq!(
        skeleton.join(" "),
        "add mul <PLACEHOLDER> u_1 mul <PLACEHOLDER> u_0 | sub sub mul <PLACEHOLDER> u_0 mul u_0 u_2 u_1 | \
         add mul u_0 u_1 mul <PLACEHOLDER> u_2"
    );
}

#[test]
fn token_sequences_parse_back_to_the_same_expression() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for sys in systems::all() {
        for _ in 0..20 {
            let params: Vec<f64> = sys.params.iter().map(|p| if p.fixed { p.nominal } else { p.nominal * rng.random_range(0.9..1.1) }).collect();
            let tokens = sys.tokens(&params).unwrap();
            let parsed = parse_system(&tokens).unwrap();
            let concrete: Vec<Expr> = sys.concrete(&params).unwrap().iter().map(|e| e.round_constants(3)).collect();
            assert_eq!(parsed, concrete, "{}", sys.name);
            let text = tokens.join(" ");
            assert_eq!(parse_system_str(&text).unwrap(), concrete);
        }
        let skeleton = sys.skeleton_tokens();
        assert_eq!(parse_system(&skeleton).unwrap(), sys.skeleton(), "{}", sys.name);
        println!(
            "{:16} dim {} tokens {:3} skeleton {:3}  {}",
            sys.name,
            sys.dim,
            sys.tokens(&sys.nominal_params()).unwrap().len(),
            skeleton.len(),
            sys.infix()
        );
    }
}

#[test]
fn every_token_is_in_the_prose_vocabulary() {
    let vocab3 = prose_vocabulary(3);
    assert_eq!(vocab3.len(), 1072, "PROSE's n_words for max_output_dimension = 3");
    let distinct: std::collections::HashSet<_> = vocab3.iter().collect();
    assert_eq!(distinct.len(), 1068);
    let vocab5: std::collections::HashSet<String> = prose_vocabulary(5).into_iter().collect();
    for sys in systems::all() {
        let vocab: std::collections::HashSet<String> = if sys.dim <= 3 { vocab3.iter().cloned().collect() } else { vocab5.clone() };
        for t in sys.tokens(&sys.nominal_params()).unwrap().iter().chain(&sys.skeleton_tokens()) {
            assert!(vocab.contains(t), "{}: token {t:?} not in vocabulary", sys.name);
        }
    }
}

#[test]
fn parameters_are_validated() {
    let lorenz = systems::by_name("lorenz").unwrap();
    match lorenz.tokens(&[1.0, 2.0]) {
        Err(SystemError::ParamCount { expected: 3, got: 2, names, .. }) => assert_eq!(names, "sigma, rho, beta"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(lorenz.tokens(&[1.0, f64::NAN, 2.0]), Err(SystemError::NonFiniteParam { name: "rho", .. })));
    assert!(matches!(lorenz.tokens(&[1.0, 1e14, 2.0]), Err(SystemError::Encode { .. })));
}

#[test]
fn prose_rounding_of_parameters() {
    assert_eq!(round_significant(8.0 / 3.0, 3), 2.67);
    assert_eq!(round_significant(-9.81 * 3.0, 3), -29.4);
    assert_eq!(round_significant(0.012345, 3), 0.0123);
}

#[test]
fn symbolic_jacobians_match_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for sys in systems::all() {
        let rhs = sys.compile();
        let n = sys.dim;
        let p = sys.nominal_params();
        let (mut jac, mut f0, mut f1) = (vec![0.0; n * n], vec![0.0; n], vec![0.0; n]);
        for _ in 0..20 {
            let u: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
            assert!(rhs.jacobian(0.0, &u, &p, &mut jac));
            for j in 0..n {
                // Central differences, error O(h²) ≈ 1e-10 relative.
                let h = 1e-5;
                let mut up = u.clone();
                up[j] += h;
                rhs.eval(0.0, &up, &p, &mut f1);
                up[j] -= 2.0 * h;
                rhs.eval(0.0, &up, &p, &mut f0);
                for i in 0..n {
                    let fd = (f1[i] - f0[i]) / (2.0 * h);
                    let exact = jac[i * n + j];
                    assert!((fd - exact).abs() < 1e-5 * (1.0 + exact.abs()), "{} J[{i}][{j}]: {exact} vs {fd}", sys.name);
                }
            }
        }
    }
}
