"""Read an `oplab export` file with the `safetensors` package and numpy alone and print, as JSON,
every tensor's dtype, shape, sum of values (real and imaginary parts apart) and first value, and the
metadata (with the JSON entries decoded).

Used by tests/export.rs: the Rust side checks the names and shapes against the documented mapping
and the values against the run's model.
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path = sys.argv[1]
tensors = load_file(path)
with safe_open(path, framework="numpy") as f:
    meta = f.metadata()
out = {"tensors": {}, "metadata": meta}
for name, a in tensors.items():
    flat = a.reshape(-1)
    entry = {"dtype": str(a.dtype), "shape": list(a.shape)}
    if np.iscomplexobj(a):
        entry["sum_re"] = float(flat.real.astype(np.float64).sum())
        entry["sum_im"] = float(flat.imag.astype(np.float64).sum())
        entry["first"] = [float(flat[0].real), float(flat[0].imag)]
    else:
        entry["sum"] = float(flat.astype(np.float64).sum())
        entry["first"] = float(flat[0])
    out["tensors"][name] = entry
for key in ("oplab.model", "oplab.normalizers"):
    out[key] = json.loads(meta[key])
json.dump(out, sys.stdout)
