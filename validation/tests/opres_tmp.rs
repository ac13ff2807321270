use oplab_validation::{run, Options};
#[test]
fn opres() {
    let quick = std::env::var("OPRES_FULL").is_err();
    let dir = std::path::PathBuf::from(std::env::var("OPRES_OUT").unwrap_or("/tmp/opres_out".into()));
    let opts = Options { quick, only: vec!["operator".into()], out_dir: dir, ..Options::default() };
    let r = run(&opts).unwrap();
    for c in &r.checks {
        eprintln!("{} {:?} {:.1}s", c.name, c.status, c.wall_s);
        for m in &c.measurements { eprintln!("  {} pred {} meas {} {} {}", m.quantity, m.predicted, m.measured, m.tolerance, m.passed); }
        for n in &c.notes { eprintln!("  NOTE {n}"); }
    }
}
