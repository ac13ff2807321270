//! Failure detection (typed errors naming time and state norm), input validation, ensembles.

use oplab_solvers::ode::{solve, solve_ensemble, EnsembleMember, FnRhs, Integrator, Method, OdeError, SolveOptions};
use oplab_solvers::systems;

#[test]
fn finite_time_blowup_is_reported() {
    // y' = y², y(0) = 1 blows up at t = 1.
    let rhs = FnRhs::new(1, |_t, y: &[f64], _p: &[f64], d: &mut [f64]| d[0] = y[0] * y[0]);
    let opts = SolveOptions { blowup_bound: 1e6, ..SolveOptions::with_tolerances(1e-8, 1e-10) };
    for method in [Method::Dopri5, Method::Dop853, Method::Rosenbrock23] {
        match solve(method, &rhs, &[], 0.0, &[1.0], &[2.0], &opts) {
            Err(OdeError::BlowUp { t, max_abs, bound, state_norm }) => {
                assert!(t < 1.0 && t > 0.99, "{t}");
                assert!(max_abs > bound && state_norm >= max_abs);
            }
            other => panic!("{}: {other:?}", method.name()),
        }
        // Without a bound the controller shrinks the step until it underflows (or NaN appears).
        let unbounded = SolveOptions::with_tolerances(1e-8, 1e-10);
        let err = solve(method, &rhs, &[], 0.0, &[1.0], &[2.0], &unbounded).unwrap_err();
        assert!(
            matches!(err, OdeError::StepSizeUnderflow { .. } | OdeError::NonFinite { .. } | OdeError::MaxStepsExceeded { .. }),
            "{}: {err:?}",
            method.name()
        );
        assert!(err.to_string().contains("t = "), "{err}");
    }
}

#[test]
fn nan_state_is_reported() {
    let rhs = FnRhs::new(1, |t, _y: &[f64], _p: &[f64], d: &mut [f64]| d[0] = if t > 0.5 { f64::NAN } else { 1.0 });
    let opts = SolveOptions { fixed_step: Some(0.1), ..Default::default() };
    match solve(Method::Rk4, &rhs, &[], 0.0, &[0.0], &[1.0], &opts) {
        Err(OdeError::NonFinite { t, .. }) => assert!(t > 0.5 && t <= 0.7, "{t}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn max_steps_is_reported() {
    let lorenz = systems::by_name("lorenz").unwrap().compile();
    let opts = SolveOptions { max_steps: 10, ..SolveOptions::with_tolerances(1e-10, 1e-10) };
    match solve(Method::Dopri5, &lorenz, &[10.0, 28.0, 8.0 / 3.0], 0.0, &[1.0, 1.0, 1.0], &[10.0], &opts) {
        Err(OdeError::MaxStepsExceeded { max_steps: 10, t, state_norm }) => assert!(t > 0.0 && state_norm > 0.0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let lorenz = systems::by_name("lorenz").unwrap().compile();
    let p = [10.0, 28.0, 8.0 / 3.0];
    let y0 = [1.0, 1.0, 1.0];
    let ok = SolveOptions::default();
    let field = |r: Result<(Vec<f64>, _), OdeError>| match r {
        Err(OdeError::InvalidParameter(e)) => e.field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field(solve(Method::Dopri5, &lorenz, &p, 0.0, &[1.0, 1.0], &[1.0], &ok)), "y0.len");
    assert_eq!(field(solve(Method::Dopri5, &lorenz, &p[..2], 0.0, &y0, &[1.0], &ok)), "params.len");
    assert_eq!(field(solve(Method::Dopri5, &lorenz, &p, 0.0, &y0, &[1.0, 0.5], &ok)), "t_eval");
    assert_eq!(field(solve(Method::Dopri5, &lorenz, &p, 0.0, &y0, &[-1.0], &ok)), "t_eval");
    assert_eq!(field(solve(Method::Dopri5, &lorenz, &p, 0.0, &[f64::NAN, 0.0, 0.0], &[1.0], &ok)), "y0");
    let bad_rtol = SolveOptions { rtol: 0.0, ..Default::default() };
    assert_eq!(field(solve(Method::Dopri5, &lorenz, &p, 0.0, &y0, &[1.0], &bad_rtol)), "rtol");
    let bad_atol = SolveOptions { atol: -1.0, ..Default::default() };
    assert_eq!(field(solve(Method::Dop853, &lorenz, &p, 0.0, &y0, &[1.0], &bad_atol)), "atol");
    assert_eq!(field(solve(Method::Rk4, &lorenz, &p, 0.0, &y0, &[1.0], &ok)), "fixed_step");
    let msg = solve(Method::Dopri5, &lorenz, &p, 0.0, &y0, &[1.0], &bad_rtol).unwrap_err().to_string();
    assert!(msg.contains("rtol") && msg.contains("0") && msg.contains("> 0"), "{msg}");
    assert!(matches!(
        Method::from_name("euler"),
        Err(OdeError::InvalidParameter(e)) if e.field == "method"
    ));
}

#[test]
fn output_at_t0_and_repeated_times() {
    let rhs = FnRhs::new(1, |_t, y: &[f64], _p: &[f64], d: &mut [f64]| d[0] = -y[0]);
    let (out, _) = solve(Method::Dopri5, &rhs, &[], 0.0, &[1.0], &[0.0, 0.5, 0.5, 1.0], &SolveOptions::with_tolerances(1e-10, 1e-12)).unwrap();
    assert_eq!(out[0], 1.0);
    assert_eq!(out[1], out[2]);
    assert!((out[3] - (-1.0f64).exp()).abs() < 1e-9);
}

#[test]
fn ensemble_matches_single_solves_and_flags_failures() {
    let sys = systems::by_name("lorenz").unwrap();
    let rhs = sys.compile();
    let t_eval: Vec<f64> = (0..=50).map(|k| k as f64 * 0.02).collect();
    let params: Vec<Vec<f64>> = (0..64).map(|i| vec![10.0, 20.0 + i as f64 * 0.2, 8.0 / 3.0]).collect();
    let y0s: Vec<Vec<f64>> = (0..64).map(|i| vec![1.0 + 0.01 * i as f64, 1.0, 1.0]).collect();
    let mut members: Vec<EnsembleMember> = params.iter().zip(&y0s).map(|(p, y0)| EnsembleMember { params: p, y0 }).collect();
    let bad_y0 = [f64::NAN, 0.0, 0.0];
    members[5].y0 = &bad_y0;
    let opts = SolveOptions::with_tolerances(1e-9, 1e-9);
    let result = solve_ensemble(Method::Dopri5, &rhs, &members, 0.0, &t_eval, &opts);
    assert_eq!(result.n_failed(), 1);
    assert!(result.outcomes[5].is_err());
    let row = t_eval.len() * 3;
    assert!(result.states[5 * row..6 * row].iter().all(|v| v.is_nan()));
    for i in [0, 17, 63] {
        let mut out = vec![0.0; row];
        Integrator::new(Method::Dopri5, 3).solve(&rhs, &params[i], 0.0, &y0s[i], &t_eval, &opts, &mut out).unwrap();
        assert_eq!(&result.states[i * row..(i + 1) * row], &out[..], "member {i} differs from a single solve");
    }
}
