"""Read an oplab native dataset with h5py alone and print what a PyTorch loader would see, as JSON.

Used by tests/h5py_client.rs: the Rust side compares these numbers with its own reader.
"""
import json
import sys

import h5py
import numpy as np


def attr(obj, name):
    value = obj.attrs[name]
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    return value


with h5py.File(sys.argv[1], "r") as f:
    out = {
        "root": {k: attr(f, k) for k in f.attrs},
        "dimensions": {k: f["dimensions"][k][()].tolist() for k in f["dimensions"]},
        "fields": {},
    }
    for name, ds in f["fields"].items():
        data = ds[()]  # numpy array, sample axis first
        out["fields"][name] = {
            "shape": list(data.shape),
            "dtype": str(data.dtype),
            "role": attr(ds, "role"),
            "chunks": list(ds.chunks),
            "first": float(data.flat[0]),
            "last": float(data.flat[-1]),
            "sample1_center": float(data[1][data.shape[1] // 2][data.shape[2] // 2]),
            "sum": float(np.sum(data, dtype=np.float64)),
        }
print(json.dumps(out))
