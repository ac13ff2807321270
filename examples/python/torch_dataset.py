"""Load an oplab dataset into a PyTorch Dataset and DataLoader with h5py alone.

An oplab native file describes itself: every dataset under /fields carries a `role` attribute
(input, target or context) and an `axes` attribute ("sample,x,y"; the sample axis always first),
and fields are chunked by whole samples, so reading one sample reads one chunk. This example
builds a `torch.utils.data.Dataset` of (input, target) pairs from those attributes, splits it like
`oplab train` does (the first 80 % of the samples train, the next 10 % validate, the last 10 %
test), and runs one pass of a `DataLoader` with two worker processes.

h5py file handles must not cross a fork, so each worker opens the file itself, on first use.

Needs: torch, h5py, numpy. Takes a few seconds.
    oplab generate darcy --n 64 --resolution 33 --out darcy.h5
    python3 examples/python/torch_dataset.py darcy.h5
"""
import argparse

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


class OplabFields(Dataset):
    """(input, target) pairs of an oplab native file: the fields with role = input stacked as
    channels, and likewise the targets; each item is `[channels, *grid]` float32."""

    def __init__(self, path):
        self.path = path
        self.file = None  # opened lazily, once per process
        with h5py.File(path, "r") as f:
            fields = f["fields"]
            self.inputs = [n for n in fields if text(fields[n].attrs["role"]) == "input"]
            self.targets = [n for n in fields if text(fields[n].attrs["role"]) == "target"]
            if not self.inputs or not self.targets:
                raise ValueError(f"{path}: needs fields with role = input and role = target")
            self.axes = text(fields[self.inputs[0]].attrs["axes"]).split(",")
            self.n = int(f.attrs["n_samples"])
            self.problem = text(f.attrs["problem"])

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.file is None:
            self.file = h5py.File(self.path, "r")
        fields = self.file["fields"]
        x = np.stack([fields[n][i] for n in self.inputs]).astype(np.float32)
        y = np.stack([fields[n][i] for n in self.targets]).astype(np.float32)
        return torch.from_numpy(x), torch.from_numpy(y)


def split(n, train=0.8, val=0.1):
    """oplab train's default split: contiguous 80/10/10 % of the samples, in file order."""
    n_train, n_val = int(n * train), int(n * val)
    return range(n_train), range(n_train, n_train + n_val), range(n_train + n_val, n)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="an oplab native HDF5 file with input and target fields")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    data = OplabFields(args.path)
    train, val, test = (Subset(data, r) for r in split(len(data)))
    print(f"{args.path}: problem {data.problem}, {len(data)} samples, axes {data.axes}")
    print(f"  inputs {data.inputs} -> targets {data.targets}")
    print(f"  split: {len(train)} train, {len(val)} validation, {len(test)} test")

    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
                        generator=torch.Generator().manual_seed(0))
    seen, total = 0, 0.0
    for x, y in loader:
        if seen == 0:
            print(f"  first batch: x {tuple(x.shape)} {x.dtype}, y {tuple(y.shape)} {y.dtype}")
        seen += x.shape[0]
        total += float(y.double().sum())
    print(f"  one epoch: {seen} samples in {len(loader)} batches, mean target {total / (seen * y[0].numel()):.6g}")

    # The loader returns exactly the stored values: compare one sample with a direct h5py read.
    x0, y0 = data[0]
    with h5py.File(args.path, "r") as f:
        assert np.array_equal(x0[0].numpy(), f["fields"][data.inputs[0]][0])
        assert np.array_equal(y0[0].numpy(), f["fields"][data.targets[0]][0])
    print("  sample 0 equals the stored values")


if __name__ == "__main__":
    main()
