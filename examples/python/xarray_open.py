"""Open an oplab dataset in xarray, with named dimensions and coordinates.

The call is
    xarray.open_dataset(path, engine="h5netcdf", group="fields", phony_dims="access")
h5netcdf reads oplab's native HDF5 file as netCDF-4: the /fields group becomes a Dataset with one
variable per field (its attributes `role`, `axes` and `description` come along). Where the file
attaches HDF5 dimension scales (the /dimensions vectors as scales of the field axes), its
dimensions arrive named (`sample`, `x`, `y`, `time`, ...) with coordinates. Files without scales
still open: their axes are anonymous (`phony_dim_0`, ...), and this example names them from each
field's `axes` attribute and takes the coordinates from the /dimensions group, so what follows
works either way.

Needs: xarray, h5netcdf, h5py, numpy. Takes about a second.
    oplab generate darcy --n 16 --resolution 33 --out darcy.h5
    python3 examples/python/xarray_open.py darcy.h5
"""
import argparse

import h5py
import numpy as np
import xarray as xr


def open_oplab(path):
    """The /fields group of an oplab native file as an xarray Dataset with named dimensions and
    coordinates, whether or not the file carries dimension scales."""
    ds = xr.open_dataset(path, engine="h5netcdf", group="fields", phony_dims="access")
    named = {}
    for name, var in ds.data_vars.items():
        axes = str(var.attrs.get("axes", "")).split(",")
        anonymous = any(d.startswith("phony_dim") for d in var.dims)
        if anonymous and len(axes) == var.ndim:
            var = var.rename(dict(zip(var.dims, axes)))
        named[name] = var
    ds = xr.Dataset(named, attrs=ds.attrs)
    # Coordinates the file did not attach: the /dimensions vector of the same name and length,
    # and the sample index.
    with h5py.File(path, "r") as f:
        vectors = {k: f["dimensions"][k][()] for k in f.get("dimensions", {})}
        ds.attrs.update({k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()})
    missing = {}
    for dim, size in ds.sizes.items():
        if dim in ds.coords:
            continue
        if dim in vectors and len(vectors[dim]) == size:
            missing[dim] = vectors[dim]
        elif dim == "sample":
            missing[dim] = np.arange(size)
    return ds.assign_coords(missing)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="an oplab native HDF5 file")
    args = parser.parse_args()

    raw = xr.open_dataset(args.path, engine="h5netcdf", group="fields", phony_dims="access")
    scales = not any(d.startswith("phony_dim") for d in raw.dims)
    print(f"xarray.open_dataset(..., group='fields'): dims {dict(raw.sizes)}, coords {list(raw.coords)}")
    print("  the file attaches dimension scales" if scales else "  no dimension scales in the file: axes named from the `axes` attributes")
    raw.close()

    ds = open_oplab(args.path)
    print(ds)
    for name, var in ds.data_vars.items():
        print(f"{name}: dims {var.dims}, shape {var.shape}, role {var.attrs.get('role')}")
    for dim in ds.dims:
        if dim in ds.coords and ds.sizes[dim] > 1:
            c = ds.coords[dim].values
            print(f"coordinate {dim}: {len(c)} values from {c[0]:g} to {c[-1]:g}")

    # What coordinates buy: selection by value rather than by index.
    target = next((n for n, v in ds.data_vars.items() if v.attrs.get("role") == "target"), None)
    if target is not None and {"x", "y"} <= set(ds[target].dims):
        centre = ds[target].isel(sample=0).sel(x=0.5, y=0.5, method="nearest")
        print(f"{target} of sample 0 at (x, y) = (0.5, 0.5): {float(centre):.6g}")
        print(f"{target} averaged over samples, at its maximum: {float(ds[target].mean('sample').max()):.6g}")


if __name__ == "__main__":
    main()
