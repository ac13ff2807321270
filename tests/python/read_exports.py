"""Load an exported oplab file the way the consuming projects' loaders do, compare it with the
native file it came from, and print one JSON line of what the loader saw.

usage: read_exports.py fno|pdebench EXPORTED NATIVE PROBLEM

* fno: FNO's `utilities3.MatReader` h5py path (MATLAB v7.3): read a variable, then reverse its
  axes (`np.transpose(x, axes=range(len(x.shape) - 1, -1, -1))`).
* pdebench: PDEBench's `models/fno/utils.py` `FNODatasetSingle`: the `tensor` branch (1-D
  problems: (N, Nt, Nx) -> [N, x, t, 1]; Darcy: `tensor` (N, 1, s, s) and `nu` -> [N, x, y, 2, 1])
  or, without `tensor`, the CFD branch (`density`, `pressure`, `Vx`, `Vy` (N, Nt, x, y) ->
  [N, x, y, t, 4]).

Used by tests/h5py_client.rs; exits non-zero on any mismatch.
"""
import json
import sys
import tomllib

import h5py
import numpy as np

INPUTS = {"darcy": "coeff", "poisson": "forcing", "helmholtz": "wave_speed"}


def mat_reader(f, name):
    x = f[name][()]
    assert f[name].attrs["MATLAB_class"] in (b"single", b"double"), f[name].attrs["MATLAB_class"]
    return np.transpose(x, axes=range(len(x.shape) - 1, -1, -1)).astype(np.float32)


def fno(exported, src, problem):
    with open(exported, "rb") as raw:
        assert raw.read(10) == b"MATLAB 7.3", "missing MATLAB v7.3 header"
    with h5py.File(exported, "r") as f:
        if problem in INPUTS:
            a, u = mat_reader(f, "coeff"), mat_reader(f, "sol")
            np.testing.assert_array_equal(a, src["fields/" + INPUTS[problem]][()])
            np.testing.assert_array_equal(u, src["fields/solution"][()])
        elif problem == "navier-stokes":
            w = src["fields/vorticity"][()]
            a, u = mat_reader(f, "a"), mat_reader(f, "u")
            np.testing.assert_array_equal(a, w[:, 0])
            np.testing.assert_array_equal(u, np.transpose(w[:, 1:], (0, 2, 3, 1)))
            assert mat_reader(f, "t").shape == (1, w.shape[1] - 1)
        else:
            s = src["fields/u"][()]
            a, u = mat_reader(f, "a"), mat_reader(f, "u")
            np.testing.assert_array_equal(a, s[:, 0])
            np.testing.assert_array_equal(u, s[:, -1])
    return {"input_shape": list(a.shape), "target_shape": list(u.shape)}


def pdebench(exported, src, problem):
    with h5py.File(exported, "r") as f:
        keys = sorted(f.keys())
        attrs = {k: float(v) for k, v in f.attrs.items()}
        if "tensor" not in keys:
            _data = np.array(f["density"], dtype=np.float32)
            n, nt, nx, ny = _data.shape
            data = np.zeros([n, nx, ny, nt, 4], dtype=np.float32)
            for c, name in enumerate(["density", "pressure", "Vx", "Vy"]):
                data[..., c] = np.transpose(np.array(f[name], dtype=np.float32), (0, 2, 3, 1))
            x = np.array(f["x-coordinate"], dtype=np.float32)
            y = np.array(f["y-coordinate"], dtype=np.float32)
            X, Y = np.meshgrid(x, y, indexing="ij")
            grid = np.stack((X, Y), axis=-1)
            w = src["fields/vorticity"][()]
            assert problem == "navier-stokes", problem
            assert data.shape == (w.shape[0], w.shape[2], w.shape[3], w.shape[1], 4), data.shape
            np.testing.assert_array_equal(f["vorticity"][()], w)
            assert (data[..., 0] == 1.0).all()
            config = src.attrs["config"]
            config = tomllib.loads(config.decode() if isinstance(config, bytes) else config)
            assert abs(attrs["eta"] - config["navier-stokes"]["viscosity"]) < 1e-12, attrs
        else:
            _data = np.array(f["tensor"], dtype=np.float32)
            if _data.ndim == 3:
                u = src["fields/u"][()]
                np.testing.assert_array_equal(_data, u)
                data = np.transpose(_data, (0, 2, 1))[:, :, :, None]
                grid = np.array(f["x-coordinate"], dtype=np.float32)[:, None]
                t = np.array(f["t-coordinate"], dtype=np.float32)
                assert t.shape == (u.shape[1] + 1,), t.shape
                assert ("beta" if problem == "advection" else "Nu") in attrs, attrs
                if problem == "reaction-diffusion":
                    assert "rho" in attrs, attrs
            else:
                assert problem == "darcy", problem
                _data = np.transpose(_data, (0, 2, 3, 1))
                nu = np.transpose(np.array(f["nu"], dtype=np.float32)[:, None], (0, 2, 3, 1))
                data = np.concatenate([nu, _data], axis=-1)[..., None]
                np.testing.assert_array_equal(data[..., 0, 0], src["fields/coeff"][()])
                np.testing.assert_array_equal(data[..., 1, 0], src["fields/solution"][()])
                x = np.array(f["x-coordinate"], dtype=np.float32)
                y = np.array(f["y-coordinate"], dtype=np.float32)
                X, Y = np.meshgrid(x, y, indexing="ij")
                grid = np.stack((X, Y), axis=-1)
                assert "beta" in attrs, attrs
    assert np.isfinite(data).all()
    return {"data_shape": list(data.shape), "grid_shape": list(grid.shape), "attrs": sorted(attrs)}


kind, exported, native, problem = sys.argv[1:5]
with h5py.File(native, "r") as src:
    seen = fno(exported, src, problem) if kind == "fno" else pdebench(exported, src, problem)
print(json.dumps({"kind": kind, "problem": problem, **seen}))
