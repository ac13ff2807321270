//! Every PDE problem generates a tiny, valid, deterministic native file whose config round-trips.

use oplab_datasets::problems::advection::{AdvectionProblem, AdvectionProblemConfig};
use oplab_datasets::problems::burgers::{BurgersProblem, BurgersProblemConfig};
use oplab_datasets::problems::darcy::{DarcyProblem, DarcyProblemConfig};
use oplab_datasets::problems::helmholtz::{HelmholtzProblem, HelmholtzProblemConfig};
use oplab_datasets::problems::navier_stokes::{NavierStokesProblem, NavierStokesProblemConfig};
use oplab_datasets::problems::poisson::{PoissonProblem, PoissonProblemConfig};
use oplab_datasets::problems::reaction_diffusion::{ReactionDiffusionProblem, ReactionDiffusionProblemConfig};
use oplab_datasets::{generate, DatasetError, DatasetFile, GenerationSettings, Problem, ProblemModule, RunOptions, Shard, Silent};
use oplab_solvers::advection::AdvectionConfig;
use oplab_solvers::burgers::BurgersConfig;
use oplab_solvers::elliptic::{DarcyConfig, HelmholtzConfig, PoissonConfig};
use oplab_solvers::navier_stokes::NavierStokesConfig;
use oplab_solvers::reaction_diffusion::ReactionDiffusionConfig;

fn problems() -> Vec<Box<dyn Problem>> {
    vec![
        Box::new(DarcyProblem::new(DarcyProblemConfig { solver: DarcyConfig { resolution: 21, ..Default::default() }, subsample: 2 }).unwrap()),
        Box::new(PoissonProblem::new(PoissonProblemConfig { solver: PoissonConfig { resolution: 17, ..Default::default() }, subsample: 1 }).unwrap()),
        Box::new(
            HelmholtzProblem::new(HelmholtzProblemConfig { solver: HelmholtzConfig { resolution: 21, omega: 100.0, ..Default::default() }, subsample: 1 })
                .unwrap(),
        ),
        Box::new(BurgersProblem::new(BurgersProblemConfig(BurgersConfig { resolution: 128, subsample: 2, record_times: 2, ..Default::default() })).unwrap()),
        Box::new(
            NavierStokesProblem::new(NavierStokesProblemConfig(NavierStokesConfig {
                resolution: 16,
                final_time: 0.01,
                time_step: 1e-3,
                record_times: 2,
                subsample: 2,
                ..Default::default()
            }))
            .unwrap(),
        ),
        Box::new(AdvectionProblem::new(AdvectionProblemConfig(AdvectionConfig { resolution: 32, record_times: 4, ..Default::default() })).unwrap()),
        Box::new(
            ReactionDiffusionProblem::new(ReactionDiffusionProblemConfig(ReactionDiffusionConfig { resolution: 32, record_times: 4, ..Default::default() }))
                .unwrap(),
        ),
    ]
}

#[test]
fn every_pde_problem_writes_a_readable_file() {
    let dir = tempfile::tempdir().unwrap();
    for problem in problems() {
        let out = dir.path().join(format!("{}.h5", problem.name()));
        let settings = GenerationSettings { n: 3, seed: 5, ..GenerationSettings::default() };
        let opts = RunOptions { out: out.clone(), shard: Shard::WHOLE, threads: Some(2), block_size: Some(2), force: false };
        generate(problem.as_ref(), &settings, &opts, &Silent).unwrap_or_else(|e| panic!("{}: {e}", problem.name()));
        let file = DatasetFile::open(&out).unwrap();
        assert_eq!(file.info().n_samples, 3);
        let batch = file.read_batch(0, 3).unwrap();
        assert_eq!(batch.fields.len(), problem.schema().fields.len());
        // The stored config holds exactly the settings and one `[<problem>]` table (nested
        // tables inline), so readers can take the problem's table back as a whole.
        let stored: toml::Table = file.info().config.parse().unwrap();
        let tables: Vec<&String> = stored.iter().filter(|(_, v)| v.is_table()).map(|(k, _)| k).collect();
        assert_eq!(tables, vec![problem.name()], "{}", file.info().config);
    }
}

#[test]
fn configs_round_trip_through_toml() {
    let d: DarcyProblemConfig = toml::from_str(&toml::to_string(&DarcyProblemConfig::default()).unwrap()).unwrap();
    assert_eq!(d.solver.resolution, 421);
    let ns: NavierStokesProblemConfig = toml::from_str("viscosity = 1e-4\n").unwrap();
    assert_eq!(ns.0.viscosity, 1e-4);
    assert_eq!(ns.0.resolution, 256);
    let text = toml::to_string(&ns).unwrap();
    let back: NavierStokesProblemConfig = toml::from_str(&text).unwrap();
    assert_eq!(back, ns);
    let b: BurgersProblemConfig = toml::from_str(&toml::to_string(&BurgersProblemConfig::default()).unwrap()).unwrap();
    assert_eq!(b, BurgersProblemConfig::default());
    // The solver's keys and the problem's own sit side by side in one table.
    let d: DarcyProblemConfig = toml::from_str("resolution = 9\nsubsample = 2\nforcing = 2\ngrf = { alpha = 1.5, tau = 3.0 }\n").unwrap();
    assert_eq!((d.solver.resolution, d.subsample, d.solver.forcing, d.solver.grf.alpha), (9, 2, 2.0, 1.5));
    let e = toml::from_str::<DarcyProblemConfig>("resolutoin = 3\n").unwrap_err();
    assert!(e.message().contains("unknown field `resolutoin`"), "{e}");
    // The stored (inline) form parses back to the resolved configuration.
    let p = DarcyProblem::new(DarcyProblemConfig { solver: DarcyConfig { resolution: 9, ..Default::default() }, subsample: 1 }).unwrap();
    let back: DarcyProblemConfig = toml::from_str(&p.config_toml()).unwrap();
    assert_eq!(&back, p.config());
}

#[test]
fn bad_configs_are_typed_errors() {
    let e = DarcyProblem::new(DarcyProblemConfig { solver: DarcyConfig { resolution: 2, ..Default::default() }, subsample: 1 }).unwrap_err();
    assert!(e.to_string().contains("resolution"), "{e}");
    let e = NavierStokesProblem::new(NavierStokesProblemConfig(NavierStokesConfig { viscosity: -1.0, ..Default::default() })).unwrap_err();
    assert!(e.to_string().starts_with("viscosity = -1 is invalid"), "{e}");
    // The solver's error arrives as the same typed value: the field of a nested random field is
    // its path in the problem's table, as the solver named it.
    let field = |e: DatasetError| match e {
        DatasetError::InvalidParameter(p) => (p.field, p.value),
        other => panic!("{other:?}"),
    };
    let mut darcy = DarcyProblemConfig { solver: DarcyConfig { resolution: 9, ..Default::default() }, subsample: 1 };
    darcy.solver.grf.tau = 0.0;
    assert_eq!(field(DarcyProblem::new(darcy).unwrap_err()), ("grf.tau".to_string(), "0".to_string()));
    let mut burgers = BurgersConfig::default();
    burgers.initial.alpha = f64::NAN;
    assert_eq!(field(BurgersProblem::new(BurgersProblemConfig(burgers)).unwrap_err()), ("initial.alpha".to_string(), "NaN".to_string()));
    let e = AdvectionProblem::new(AdvectionProblemConfig(AdvectionConfig { beta: f64::INFINITY, ..Default::default() })).unwrap_err();
    assert_eq!(e.to_string(), "beta = inf is invalid: must be finite");
}
