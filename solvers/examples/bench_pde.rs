//! Timings of the oplab PDE solvers for the side-by-side benchmarks in `bench/pde/`.
//!
//! ```text
//! cargo run --release -p oplab-solvers --example bench_pde -- darcy  DIR [resolution=421] [repeats=3]
//! cargo run --release -p oplab-solvers --example bench_pde -- ns     DIR [resolution=256] [steps=1000]
//! cargo run --release -p oplab-solvers --example bench_pde -- burgers DIR [resolution=8192]
//! cargo run --release -p oplab-solvers --example bench_pde -- burgers-steps DIR [resolution=8192]
//! cargo run --release -p oplab-solvers --example bench_pde -- ns-schemes DIR [resolution=256]
//! ```
//! `ns-schemes` compares the two Navier–Stokes time integrators on the FNO problem (ν = 10⁻³,
//! t ∈ [0, 1]): FNO's Crank–Nicolson/Euler scheme at its Δt = 10⁻⁴ and ETDRK4 at larger steps,
//! each run's time and max error of w(·, 1) relative to max|w| against an ETDRK4 reference with
//! Δt = 1.25·10⁻⁴ (fourth order: its own error is ~10⁻⁸ of the Δt = 10⁻³ run's).
//! `burgers-steps` is a step-size study of the same Burgers problem: it solves with the default
//! step (CFL 0.5 of the initial condition) and with fewer, larger steps, and prints each run's
//! time and its max error against a reference with 4× the default number of steps.
//! Each writes its input and output fields as raw little-endian f64 files into `DIR` (so that the
//! Python peer solves exactly the same problem and the results can be compared) and prints one
//! JSON line with the timings. Single-threaded: faer runs sequentially, the FFTs are serial.

use oplab_solvers::burgers::{BurgersConfig, BurgersSolver};
use oplab_solvers::elliptic::{CoefficientMap, DarcyMethod, DarcySolver, MultigridPcg, Ordering};
use oplab_solvers::grf::{CosineGrf2d, GrfParams, PeriodicGrf1d, PeriodicGrf2d, PeriodicGrfParams};
use oplab_solvers::navier_stokes::{NavierStokesConfig, NavierStokesSolver, TimeScheme};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn write_f64(path: &Path, values: &[f64]) {
    let mut bytes = Vec::with_capacity(values.len() * 8);
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::File::create(path).and_then(|mut f| f.write_all(&bytes)).expect("write benchmark data");
}

/// CPU time of the calling thread in seconds (Linux `/proc/thread-self/schedstat`; NaN where it
/// is unavailable): less sensitive than wall time to other jobs sharing the machine.
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
        .map_or(f64::NAN, |ns| ns * 1e-9)
}

fn arg(args: &[String], i: usize, default: usize) -> usize {
    args.get(i).map(|s| s.parse().expect("a positive integer")).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_pde darcy|ns|burgers|burgers-steps|ns-schemes DIR [size] [repeats|steps]";
    let problem = args.first().expect(usage).as_str();
    let dir = PathBuf::from(args.get(1).expect(usage));
    std::fs::create_dir_all(&dir).expect("create output directory");
    match problem {
        "darcy" => darcy(&dir, arg(&args, 2, 421), arg(&args, 3, 3)),
        "ns" => navier_stokes(&dir, arg(&args, 2, 256), arg(&args, 3, 1000)),
        "burgers" => burgers(&dir, arg(&args, 2, 8192)),
        "burgers-steps" => burgers_steps(&dir, arg(&args, 2, 8192)),
        "ns-schemes" => ns_schemes(&dir, arg(&args, 2, 256)),
        _ => panic!("{usage}"),
    }
}

fn darcy(dir: &Path, s: usize, repeats: usize) {
    let mut rng = ChaCha20Rng::seed_from_u64(2024);
    let field = CosineGrf2d::on_node_grid(GrfParams::default(), s).unwrap().sample(&mut rng);
    let coeff = CoefficientMap::default().apply(&field);
    let forcing = vec![1.0; s * s];
    let mut report = Vec::new();
    // The best of `repeats` solves with one analysed solver, and the last solution.
    let time = |solver: &DarcySolver| {
        let mut best = f64::INFINITY;
        let mut last = None;
        for _ in 0..repeats {
            let t1 = Instant::now();
            let sol = solver.solve(&coeff, &forcing).unwrap();
            best = best.min(t1.elapsed().as_secs_f64());
            last = Some(sol);
        }
        (best, last.expect("at least one repeat"))
    };
    let mut solution = Vec::new();
    for (name, ordering) in [("nested_dissection", Ordering::NestedDissection), ("amd", Ordering::Amd)] {
        let t0 = Instant::now();
        let solver = DarcySolver::with_ordering(s, ordering).unwrap();
        let analyse = t0.elapsed().as_secs_f64();
        let (best, sol) = time(&solver);
        let residual = sol.relative_residual;
        solution = sol.solution;
        report.push(format!(
            "\"{name}\": {{\"analyse_s\": {analyse:.6}, \"solve_s\": {best:.6}, \"factor_len\": {}, \"residual\": {residual:e}}}",
            solver.factor_len()
        ));
    }
    {
        let t0 = Instant::now();
        let solver = DarcySolver::with_method(s, DarcyMethod::Multigrid).unwrap();
        let analyse = t0.elapsed().as_secs_f64();
        let (best, sol) = time(&solver);
        let residual = sol.relative_residual;
        let (_, pcg) = MultigridPcg::new(s).unwrap().solve(&coeff, &forcing, 1e-12, 200).unwrap();
        report.push(format!(
            "\"multigrid_pcg\": {{\"analyse_s\": {analyse:.6}, \"solve_s\": {best:.6}, \"iterations\": {}, \"residual\": {residual:e}}}",
            pcg.iterations
        ));
    }
    write_f64(&dir.join("darcy_coeff.f64"), &coeff);
    write_f64(&dir.join("darcy_solution.f64"), &solution);
    println!("{{\"problem\": \"darcy\", \"resolution\": {s}, \"repeats\": {repeats}, {}}}", report.join(", "));
}

fn navier_stokes(dir: &Path, s: usize, steps: usize) {
    let dt = 1e-4;
    let cfg = NavierStokesConfig {
        resolution: s,
        viscosity: 1e-3,
        final_time: dt * steps as f64,
        time_step: dt,
        record_times: 1,
        subsample: 1,
        ..Default::default()
    };
    let w0 = PeriodicGrf2d::new(PeriodicGrfParams::fno_navier_stokes(), s).unwrap().sample(&mut ChaCha20Rng::seed_from_u64(2024));
    let t0 = Instant::now();
    let solver = NavierStokesSolver::new(cfg).unwrap();
    let setup = t0.elapsed().as_secs_f64();
    let (t1, c1) = (Instant::now(), thread_cpu_seconds());
    let traj = solver.solve(&w0).unwrap();
    let (run, cpu) = (t1.elapsed().as_secs_f64(), thread_cpu_seconds() - c1);
    write_f64(&dir.join("ns_w0.f64"), &w0);
    write_f64(&dir.join("ns_wT.f64"), &traj.vorticity[s * s..]);
    println!(
        "{{\"problem\": \"navier-stokes\", \"resolution\": {s}, \"steps\": {steps}, \"time_step\": {}, \"setup_s\": {setup:.6}, \"solve_s\": {run:.6}, \"solve_cpu_s\": {cpu:.6}}}",
        solver.time_step()
    );
}

fn burgers(dir: &Path, n: usize) {
    let cfg = BurgersConfig { resolution: n, ..Default::default() };
    let u0 = PeriodicGrf1d::new(PeriodicGrfParams::fno_burgers(), n).unwrap().sample(&mut ChaCha20Rng::seed_from_u64(2024));
    let solver = BurgersSolver::new(cfg).unwrap();
    let peak = u0.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let (dt, steps) = solver.time_step_for(peak);
    let (t0, c0) = (Instant::now(), thread_cpu_seconds());
    let u = solver.solve(&u0).unwrap();
    let (run, cpu) = (t0.elapsed().as_secs_f64(), thread_cpu_seconds() - c0);
    write_f64(&dir.join("burgers_u0.f64"), &u0);
    write_f64(&dir.join("burgers_uT.f64"), &u[n..]);
    println!(
        "{{\"problem\": \"burgers\", \"resolution\": {n}, \"viscosity\": 0.1, \"final_time\": 1.0, \"time_step\": {dt:e}, \"steps\": {steps}, \"solve_s\": {run:.6}, \"solve_cpu_s\": {cpu:.6}}}"
    );
}

fn burgers_steps(dir: &Path, n: usize) {
    // No CFL abort: the study asks which steps are stable and accurate, not whether the default
    // safety margin holds.
    let cfg = BurgersConfig { resolution: n, max_cfl: 1e6, ..Default::default() };
    let u0 = PeriodicGrf1d::new(PeriodicGrfParams::fno_burgers(), n).unwrap().sample(&mut ChaCha20Rng::seed_from_u64(2024));
    let solver = BurgersSolver::new(cfg).unwrap();
    let peak = u0.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let (_, default_steps) = solver.time_step_for(peak);
    let reference_steps = 4 * default_steps;
    let reference = solver.solve_with_step(&u0, 1.0 / reference_steps as f64, reference_steps).unwrap();
    let reference = &reference[n..];
    let scale = reference.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    write_f64(&dir.join("burgers_reference_uT.f64"), reference);
    let mut rows = Vec::new();
    for steps in [default_steps, default_steps / 2, 5000, 2000, 1000, 500, 200, 100, 50] {
        let h = 1.0 / steps as f64;
        let t0 = Instant::now();
        let result = solver.solve_with_step(&u0, h, steps);
        let run = t0.elapsed().as_secs_f64();
        let error = match result {
            Ok(u) => u[n..].iter().zip(reference).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs())) / scale,
            Err(_) => f64::NAN,
        };
        let cfl = h * peak * n as f64;
        rows.push(format!("{{\"steps\": {steps}, \"time_step\": {h:e}, \"cfl\": {cfl:.3}, \"solve_s\": {run:.6}, \"max_rel_error\": {error:e}}}"));
    }
    println!("{{\"problem\": \"burgers-steps\", \"resolution\": {n}, \"reference_steps\": {reference_steps}, \"runs\": [{}]}}", rows.join(", "));
}

fn ns_schemes(dir: &Path, s: usize) {
    let w0 = PeriodicGrf2d::new(PeriodicGrfParams::fno_navier_stokes(), s).unwrap().sample(&mut ChaCha20Rng::seed_from_u64(2024));
    let run = |scheme: TimeScheme, dt: f64| {
        let cfg = NavierStokesConfig {
            resolution: s,
            viscosity: 1e-3,
            final_time: 1.0,
            time_step: dt,
            record_times: 1,
            subsample: 1,
            max_cfl: 10.0,
            scheme,
            ..Default::default()
        };
        let solver = NavierStokesSolver::new(cfg).unwrap();
        let t0 = Instant::now();
        // A blow-up (the step beyond the scheme's stability limit) is reported as a NaN error.
        let w = solver.solve(&w0).map(|traj| traj.vorticity[s * s..].to_vec()).unwrap_or_else(|_| vec![f64::NAN; s * s]);
        (w, t0.elapsed().as_secs_f64())
    };
    let (reference, _) = run(TimeScheme::Etdrk4, 1.25e-4);
    write_f64(&dir.join("ns_schemes_reference_wT.f64"), &reference);
    let scale = reference.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let mut rows = Vec::new();
    for (scheme, dt) in [
        (TimeScheme::CrankNicolson, 1e-4),
        (TimeScheme::CrankNicolson, 1e-3),
        (TimeScheme::Etdrk4, 5e-4),
        (TimeScheme::Etdrk4, 1e-3),
        (TimeScheme::Etdrk4, 2e-3),
        (TimeScheme::Etdrk4, 4e-3),
        (TimeScheme::Etdrk4, 8e-3),
        (TimeScheme::Etdrk4, 1.6e-2),
    ] {
        let (w, secs) = run(scheme, dt);
        let error = if w[0].is_nan() { f64::NAN } else { w.iter().zip(&reference).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs())) / scale };
        rows.push(format!(
            "{{\"scheme\": \"{}\", \"time_step\": {dt:e}, \"steps\": {}, \"solve_s\": {secs:.6}, \"max_rel_error\": {}}}",
            scheme.name(),
            (1.0 / dt).round(),
            if error.is_nan() { "null".to_string() } else { format!("{error:e}") }
        ));
    }
    println!("{{\"problem\": \"ns-schemes\", \"resolution\": {s}, \"viscosity\": 1e-3, \"final_time\": 1.0, \"runs\": [{}]}}", rows.join(", "));
}
