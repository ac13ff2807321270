//! `--layout fno` / `--layout pdebench` exports, read back with h5py exactly as FNO's
//! `MatReader` and PDEBench's `FNODatasetSingle` read them, and compared with the native file.
//! Skipped (with a note) when python3 with h5py and numpy is not available.

use std::path::Path;
use std::process::Command;

use oplab_datasets::export::ExportLayout;
use oplab_datasets::problems::advection::{AdvectionProblem, AdvectionProblemConfig};
use oplab_datasets::problems::burgers::{BurgersProblem, BurgersProblemConfig};
use oplab_datasets::problems::darcy::{DarcyProblem, DarcyProblemConfig};
use oplab_datasets::problems::export;
use oplab_datasets::problems::helmholtz::{HelmholtzProblem, HelmholtzProblemConfig};
use oplab_datasets::problems::navier_stokes::{NavierStokesProblem, NavierStokesProblemConfig};
use oplab_datasets::problems::poisson::{PoissonProblem, PoissonProblemConfig};
use oplab_datasets::problems::reaction_diffusion::{ReactionDiffusionProblem, ReactionDiffusionProblemConfig};
use oplab_datasets::{generate, GenerationSettings, Problem, ProblemModule, RunOptions, Shard, Silent};
use oplab_solvers::advection::AdvectionConfig;
use oplab_solvers::burgers::BurgersConfig;
use oplab_solvers::elliptic::{DarcyConfig, HelmholtzConfig, PoissonConfig};
use oplab_solvers::navier_stokes::NavierStokesConfig;
use oplab_solvers::reaction_diffusion::ReactionDiffusionConfig;

const CHECK: &str = r#"
import sys, h5py, numpy as np
kind, native, exported, problem = sys.argv[1:5]
src = h5py.File(native, "r")
if kind == "fno":
    # FNO utilities3.MatReader, h5py path: read, then reverse the axes (MATLAB column-major).
    try:
        import scipy.io
        scipy.io.loadmat(exported)
        raise SystemExit("scipy.io.loadmat should refuse a v7.3 file")
    except NotImplementedError:
        pass
    except ImportError:
        pass
    data = h5py.File(exported, "r")
    def mat(field):
        x = data[field][()]
        assert data[field].attrs["MATLAB_class"] in (b"single", b"double"), data[field].attrs["MATLAB_class"]
        return np.transpose(x, axes=range(len(x.shape) - 1, -1, -1)).astype(np.float32)
    with open(exported, "rb") as f:
        assert f.read(10) == b"MATLAB 7.3"
    if problem in ("darcy", "poisson", "helmholtz"):
        inputs = {"darcy": "coeff", "poisson": "forcing", "helmholtz": "wave_speed"}[problem]
        np.testing.assert_array_equal(mat("coeff"), src["fields/" + inputs][()])
        np.testing.assert_array_equal(mat("sol"), src["fields/solution"][()])
        # FNO's Darcy script: x_train = reader.read_field('coeff')[:ntrain, ::r, ::r][:, :s, :s]
        assert mat("coeff")[:, ::2, ::2].shape[0] == src["fields/" + inputs].shape[0]
    elif problem == "navier-stokes":
        w = src["fields/vorticity"][()]
        np.testing.assert_array_equal(mat("a"), w[:, 0])
        np.testing.assert_array_equal(mat("u"), np.transpose(w[:, 1:], (0, 2, 3, 1)))
        assert mat("t").shape == (1, w.shape[1] - 1)
    else:
        u = src["fields/u"][()]
        np.testing.assert_array_equal(mat("a"), u[:, 0])
        np.testing.assert_array_equal(mat("u"), u[:, -1])
else:
    # PDEBench models/fno/utils.py FNODatasetSingle, single-file branch.
    with h5py.File(exported, "r") as f:
        keys = sorted(f.keys())
        if problem == "navier-stokes":
            # The CFD branch ('tensor' absent): density, pressure, Vx, Vy (batch, time, x, y),
            # transposed to [batch, x, y, t] and stacked as channels.
            assert "tensor" not in keys, keys
            _data = np.array(f["density"], dtype=np.float32)
            n, nt, nx, ny = _data.shape
            data = np.zeros([n, nx, ny, nt, 4], dtype=np.float32)
            for c, name in enumerate(["density", "pressure", "Vx", "Vy"]):
                data[..., c] = np.transpose(np.array(f[name], dtype=np.float32), (0, 2, 3, 1))
            w = src["fields/vorticity"][()]
            assert data.shape == (w.shape[0], w.shape[2], w.shape[3], w.shape[1], 4), data.shape
            np.testing.assert_array_equal(f["vorticity"][()], w)
            assert (data[..., 0] == 1).all()
            # The velocity's curl (spectral, on the stored grid) is the stored vorticity on every
            # mode off the Nyquist row and column (those carry no derivative); it is
            # divergence-free; the pressure has mean zero.
            k = np.fft.fftfreq(nx, d=1.0 / nx) * 2 * np.pi
            kx, ky = [g[None, :, :, None] for g in np.meshgrid(k, k, indexing="ij")]
            u = np.fft.fft2(data[..., 2].astype(np.float64), axes=(1, 2))
            v = np.fft.fft2(data[..., 3].astype(np.float64), axes=(1, 2))
            wk = np.fft.fft2(np.transpose(w, (0, 2, 3, 1)).astype(np.float64), axes=(1, 2))
            keep = np.ones((nx, ny), dtype=bool)
            keep[nx // 2, :] = False
            keep[:, ny // 2] = False
            keep[0, 0] = False
            keep = keep[None, :, :, None]
            curl = 1j * kx * v - 1j * ky * u
            div = 1j * kx * u + 1j * ky * v
            scale = np.abs(wk).max()
            assert np.abs(np.where(keep, curl - wk, 0)).max() < 1e-5 * scale, np.abs(np.where(keep, curl - wk, 0)).max() / scale
            assert np.abs(np.where(keep, div, 0)).max() < 1e-5 * scale, np.abs(np.where(keep, div, 0)).max() / scale
            assert np.abs(data[..., 1].mean(axis=(1, 2))).max() < 1e-5 * max(1.0, np.abs(data[..., 1]).max())
            x = np.array(f["x-coordinate"], dtype=np.float32)
            t = np.array(f["t-coordinate"], dtype=np.float32)
            np.testing.assert_allclose(x, src["dimensions/x"][()], rtol=1e-6)
            assert t.shape == (nt,)
            attrs = dict(f.attrs)
            assert abs(attrs["eta"] - float(sys.argv[5])) < 1e-12 and attrs["zeta"] == 0.0, attrs
            print("ok", kind, problem)
            raise SystemExit(0)
        assert "tensor" in keys, keys
        _data = np.array(f["tensor"], dtype=np.float32)
        if len(_data.shape) == 3:
            u = src["fields/u"][()]
            np.testing.assert_array_equal(_data, u)
            _data = np.transpose(_data[:, :, :], (0, 2, 1))
            data = _data[:, :, :, None]
            x = np.array(f["x-coordinate"], dtype=np.float32)
            t = np.array(f["t-coordinate"], dtype=np.float32)
            assert x.shape == (u.shape[2],) and t.shape == (u.shape[1] + 1,)
            np.testing.assert_allclose(x, src["dimensions/x"][()], rtol=1e-6)
            attrs = dict(f.attrs)
            assert ("Nu" in attrs) if problem != "advection" else ("beta" in attrs), attrs
            if problem == "reaction-diffusion":
                assert "rho" in attrs
        else:
            _data = np.transpose(_data[:, :, :, :], (0, 2, 3, 1))
            nu = np.array(f["nu"], dtype=np.float32)[:, :, :, None]
            data = np.concatenate([nu, _data], axis=-1)
            np.testing.assert_array_equal(data[..., 0], src["fields/coeff"][()])
            np.testing.assert_array_equal(data[..., 1], src["fields/solution"][()])
            assert "beta" in dict(f.attrs)
print("ok", kind, problem)
"#;

fn python_ready() -> bool {
    Command::new("python3").args(["-c", "import h5py, numpy"]).status().map(|s| s.success()).unwrap_or(false)
}

fn native(problem: &dyn Problem, dir: &Path) -> std::path::PathBuf {
    let out = dir.join(format!("{}.h5", problem.name()));
    let settings = GenerationSettings { n: 3, seed: 1, ..GenerationSettings::default() };
    let opts = RunOptions { out: out.clone(), shard: Shard::WHOLE, threads: Some(1), block_size: None, force: false };
    generate(problem, &settings, &opts, &Silent).unwrap();
    out
}

fn check(kind: &str, native: &Path, exported: &Path, problem: &str) {
    let out = Command::new("python3").args(["-c", CHECK, kind, native.to_str().unwrap(), exported.to_str().unwrap(), problem, "1e-3"]).output().unwrap();
    assert!(out.status.success(), "{kind} {problem}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn exports_load_with_the_fno_and_pdebench_readers() {
    if !python_ready() {
        eprintln!("skipped: python3 with h5py and numpy is not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let problems: Vec<(Box<dyn Problem>, bool)> = vec![
        (Box::new(DarcyProblem::new(DarcyProblemConfig { solver: DarcyConfig { resolution: 17, ..Default::default() }, subsample: 1 }).unwrap()), true),
        (Box::new(BurgersProblem::new(BurgersProblemConfig(BurgersConfig { resolution: 64, record_times: 3, ..Default::default() })).unwrap()), true),
        (
            Box::new(
                ReactionDiffusionProblem::new(ReactionDiffusionProblemConfig(ReactionDiffusionConfig {
                    resolution: 32,
                    record_times: 5,
                    ..Default::default()
                }))
                .unwrap(),
            ),
            true,
        ),
        (
            Box::new(
                NavierStokesProblem::new(NavierStokesProblemConfig(NavierStokesConfig {
                    resolution: 16,
                    final_time: 0.01,
                    time_step: 1e-3,
                    record_times: 3,
                    subsample: 2,
                    ..Default::default()
                }))
                .unwrap(),
            ),
            true,
        ),
        (Box::new(AdvectionProblem::new(AdvectionProblemConfig(AdvectionConfig { resolution: 32, record_times: 4, ..Default::default() })).unwrap()), true),
        (Box::new(PoissonProblem::new(PoissonProblemConfig { solver: PoissonConfig { resolution: 17, ..Default::default() }, subsample: 1 }).unwrap()), false),
        (
            Box::new(HelmholtzProblem::new(HelmholtzProblemConfig { solver: HelmholtzConfig { resolution: 17, ..Default::default() }, subsample: 1 }).unwrap()),
            false,
        ),
    ];
    for (problem, pdebench) in problems {
        let path = native(problem.as_ref(), dir.path());
        let fno = dir.path().join(format!("{}.mat", problem.name()));
        export(&path, &fno, ExportLayout::Fno).unwrap();
        check("fno", &path, &fno, problem.name());
        let pde = dir.path().join(format!("{}_pdebench.hdf5", problem.name()));
        if pdebench {
            export(&path, &pde, ExportLayout::Pdebench).unwrap();
            check("pdebench", &path, &pde, problem.name());
        } else {
            let err = export(&path, &pde, ExportLayout::Pdebench).unwrap_err().to_string();
            assert!(err.contains("pdebench") && err.contains(problem.name()) && err.contains("darcy"), "{err}");
            assert!(!pde.exists(), "a refused export must not leave a file");
        }
    }
}
