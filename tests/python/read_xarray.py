"""Open an oplab native dataset with xarray (h5netcdf engine) and print, as JSON, the dimensions
and coordinates it sees, next to what h5py's dimension-scale view reports.

    python3 read_xarray.py FILE

The call is the one the README documents: `xr.open_datatree(FILE, engine="h5netcdf")`, whose
"fields" node holds the fields with the root's coordinates (x, y, time, ...) inherited. Exits
non-zero if xarray's values differ from h5py's. Used by tests/h5py_client.rs.
"""
import json
import sys

import h5py
import numpy as np
import xarray as xr

path = sys.argv[1]
tree = xr.open_datatree(path, engine="h5netcdf")
fields = tree["fields"].to_dataset()
# The group alone: named dimensions, but coordinates live at the root.
group_only = xr.open_dataset(path, engine="h5netcdf", group="fields")

out = {"nodes": sorted(node.path for node in tree.subtree), "fields": {}, "coords": {}, "group_only_dims": {}, "h5py_scales": {}}
with h5py.File(path, "r") as f:
    for name, var in fields.data_vars.items():
        same = np.array_equal(var.values, f["fields"][name][()])
        assert same, f"xarray's {name} differs from h5py's"
        out["fields"][name] = {"dims": list(var.dims), "shape": list(var.shape)}
        out["group_only_dims"][name] = list(group_only[name].dims)
        out["h5py_scales"][name] = [[scale.name for scale in axis.values()] for axis in f["fields"][name].dims]
    for name, coord in fields.coords.items():
        # The bits of each f64, so the comparison is exact (JSON number parsing need not be).
        out["coords"][name] = np.asarray(coord.values, dtype="<f8").view("<u8").tolist()
    for group in ("scalars", "symbolic"):
        if group in tree:
            for name, var in tree[group].to_dataset().data_vars.items():
                out["fields"][f"{group}/{name}"] = {"dims": list(var.dims), "shape": list(var.shape)}
print(json.dumps(out))
