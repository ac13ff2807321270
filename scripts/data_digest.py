#!/usr/bin/env python3
"""SHA-256 of every dataset's data in an HDF5 file, by name: two files with the same digests
hold the same numbers, whatever their creation time or HDF5 layout.

    python3 scripts/data_digest.py FILE [FILE ...]

Prints one line per dataset (`digest  name`); with two or more files, also whether all agree
(exit 1 when they do not). Reads in slices, so files larger than memory work. Needs h5py.
"""
import hashlib
import sys

import h5py


def data_digests(path, slice_bytes=256 << 20):
    """SHA-256 of every dataset's raw data, by name, reading `slice_bytes` at a time."""
    digests = {}
    with h5py.File(path, "r") as f:
        names = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted(names):
            d = f[name]
            h = hashlib.sha256()
            if d.shape == () or d.size == 0:
                h.update(bytes(str(d[()]), "utf8"))
            else:
                per_row = max(1, d.size // d.shape[0] * d.dtype.itemsize)
                step = max(1, slice_bytes // per_row)
                for s in range(0, d.shape[0], step):
                    h.update(d[s:s + step].tobytes())
            digests[name] = h.hexdigest()
    return digests


def main():
    paths = sys.argv[1:]
    if not paths or any(p in ("-h", "--help") for p in paths):
        print(__doc__.strip())
        return 0 if paths else 2
    all_digests = []
    for path in paths:
        digests = data_digests(path)
        all_digests.append(digests)
        print(path)
        for name, digest in digests.items():
            print(f"  {digest}  {name}")
    if len(all_digests) > 1:
        same = all(d == all_digests[0] for d in all_digests[1:])
        print("all files hold the same data" if same else "the files differ")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
