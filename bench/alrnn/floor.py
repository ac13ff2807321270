"""Estimator floor of the AL-RNN metrics on oplab data: D_stsp and D_H of 10k-step segments of the
*true* test series against the whole test series, with the same conventions as oplab's Rust
estimator (operators/src/dynamics/metrics.rs: Python binning, 30 bins, Laplace alpha 1e-5; D_H with
sigma 20 on common-length series). A trained model cannot be expected to beat these numbers.

usage: python3 bench/alrnn/floor.py FILE.h5 SKIP   (sample 0 trains, sample 1 is the test series)
`bench/alrnn/bench_alrnn.py` records these ranges with each run.
"""
import sys

import h5py
import numpy as np
from scipy.ndimage import gaussian_filter1d


def load(path, sample, skip):
    with h5py.File(path, "r") as f:
        return np.asarray(f["fields/trajectory"][sample, skip:, :], dtype=np.float64)


def hist(x, lo, hi, bins, first):
    c = np.floor((x - lo) / (hi - lo) * bins)
    keep = np.all((c >= first) & (c < bins), axis=1)
    idx = np.ravel_multi_index(c[keep].astype(np.int64).T, (bins,) * x.shape[1])
    return np.bincount(idx, minlength=bins ** x.shape[1]).astype(np.float64)


def dstsp(true, gen, bins=30, alpha=1e-5, margin=False):
    """margin=False: reference Python binning ([min, max], bin 0 dropped); True: Julia ([min - 0.1 sd, max + 0.1 sd])."""
    lo, hi = true.min(0), true.max(0)
    if margin:
        lo, hi = lo - 0.1 * true.std(0), hi + 0.1 * true.std(0)
    first = 0 if margin else 1
    ht, hg = hist(true, lo, hi, bins, first), hist(gen, lo, hi, bins, first)
    pt = (ht + alpha) / (ht.sum() + alpha * ht.size)
    pg = (hg + alpha) / (hg.sum() + alpha * hg.size)
    return float(np.sum(pt * np.log(pt / pg)))


def spectrum(s, sigma=20.0):
    s = (s - s.mean()) / s.std()
    p = np.abs(np.fft.rfft(s)) ** 2
    p = np.clip(gaussian_filter1d(p, sigma, mode="reflect", truncate=4.0), 0, None)
    return p / p.sum()


def dh(true, gen, sigma=20.0):
    n = min(len(true), len(gen))
    return float(np.mean([np.sqrt(max(0.0, 1 - np.sum(np.sqrt(spectrum(true[:n, d], sigma) * spectrum(gen[:n, d], sigma))))) for d in range(true.shape[1])]))


def floor(path, skip):
    """Ranges (min, mean, max) of D_stsp (both binnings) and D_H over the true 10k segments."""
    train, test = load(path, 0, skip), load(path, 1, skip)
    mean, std = train.mean(0), train.std(0)
    test = (test - mean) / std
    ds, dm, hs = [], [], []
    for k in range(0, len(test) - 10_000 + 1, 10_000):
        seg = test[k:k + 10_000]
        ds.append(dstsp(test, seg))
        dm.append(dstsp(test, seg, margin=True))
        hs.append(dh(test[:10_000] if k else test[10_000:20_000], seg))
    span = lambda v: (float(np.min(v)), float(np.mean(v)), float(np.max(v)))  # noqa: E731
    return {"dstsp_python": span(ds), "dstsp_margin": span(dm), "dh": span(hs)}


def main():
    path, skip = sys.argv[1], int(sys.argv[2])
    f = floor(path, skip)
    (ds_lo, ds_mean, ds_hi), (dm_lo, dm_mean, dm_hi), (hs_lo, hs_mean, hs_hi) = f["dstsp_python"], f["dstsp_margin"], f["dh"]
    print(f"{path}: true 10k segments vs the whole test series: D_stsp {ds_lo:.3f}-{ds_hi:.3f} (mean {ds_mean:.3f}) python binning, "
          f"{dm_lo:.3f}-{dm_hi:.3f} (mean {dm_mean:.3f}) margin binning; "
          f"D_H between true 10k segments {hs_lo:.3f}-{hs_hi:.3f} (mean {hs_mean:.3f})")


if __name__ == "__main__":
    main()
