#!/usr/bin/env python3
"""Exported oplab weights in PyTorch: `oplab export` files loaded with load_state_dict(strict=True)
into PyTorch models built with the reference module names, run on oplab's probe inputs, and
compared with oplab's outputs.

With the oplab binary given, the script generates a small Darcy file, trains an MgNO and an FNO
for one epoch each, exports both (`--probe` writes two seeded inputs on the training grid and
oplab's outputs on them, CPU f32), and for each model:

1. builds the PyTorch twin from the file's `oplab.model` metadata: MgNO with the module tree of
   `MgNO_DC` in xlliu2017/MgNO `models.py` (conv_list.i.layer{l}, post_smooth_layer{l}, RTlayers,
   linear_list, linear), FNO with neuraloperator's (lifting.fcs, fno_blocks.convs,
   fno_blocks.fno_skips, projection.fcs); the classes are written here from oplab's description
   of the models (operators/src/export/mod.rs), not imported from either code base;
2. loads the state dict strictly (every key present, nothing extra, every shape and dtype equal);
3. runs the probe input and prints max |torch - oplab| / max |oplab| over the outputs, failing
   (exit 1) above --tolerance (1e-5).

    python3 bench/operators/export_check.py --oplab target/release/oplab [--device cpu|cuda]

Matmuls and convolutions run in strict f32 (TF32 off) so the comparison measures the port, not
the arithmetic. The safetensors file is read by a small parser here (8-byte header length, JSON
header, raw little-endian data), so only torch and numpy are needed.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "C64": np.complex64, "F64": np.float64}


def read_safetensors(path):
    """(tensors as torch tensors by name, metadata dict) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


# --------------------------------------------------------------------------------------------
# MgNO with MgNO_DC's module tree
# --------------------------------------------------------------------------------------------


def conv3(c_in, c_out, mode, stride=1):
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False, padding_mode=mode)


class MgIteInit(nn.Module):
    """u = S f: the first smoothing step of the finest level."""

    def __init__(self, c_f, c_u, mode):
        super().__init__()
        self.S = conv3(c_f, c_u, mode)

    def step(self, u, f):
        return self.S(f), f


class MgIte(nn.Module):
    """u <- u + S(f - A u)."""

    def __init__(self, c_f, c_u, mode):
        super().__init__()
        self.A = conv3(c_u, c_f, mode)
        self.S = conv3(c_f, c_u, mode)

    def step(self, u, f):
        return u + self.S(f - self.A(u)), f


class Restrict(nn.Module):
    """(u, f) <- (Pi u, R f), learned stride-2 convolutions."""

    def __init__(self, c_f, c_u, mode):
        super().__init__()
        self.Pi = conv3(c_u, c_u, mode, stride=2)
        self.R = conv3(c_f, c_f, mode, stride=2)

    def step(self, u, f):
        return self.Pi(u), self.R(f)


class MgConvDC(nn.Module):
    """One V-cycle; the prolongation's output is fitted to the finer level as oplab fits it
    (one extra point through output_padding, else cropped or zero-extended at the far end)."""

    def __init__(self, levels, c_u, c_f, mode, kernels):
        super().__init__()
        self.n = len(levels)
        self.kernels = kernels
        self.RTlayers = nn.ModuleList([nn.ConvTranspose2d(c_u, c_u, k, stride=2, padding=1, bias=False) for k in kernels])
        for l, (pre, post) in enumerate(levels):
            steps = [Restrict(c_f, c_u, mode)] if l > 0 else []
            steps += [MgIteInit(c_f, c_u, mode) if (l == 0 and i == 0) else MgIte(c_f, c_u, mode) for i in range(pre)]
            setattr(self, f"layer{l}", nn.Sequential(*steps))
            setattr(self, f"post_smooth_layer{l}", nn.Sequential(*([MgIte(c_f, c_u, mode) for _ in range(post)] or [nn.Identity()])))

    def prolong(self, j, u, fine):
        k = self.kernels[j]
        natural = lambda n: max(2 * (max(n, 1) - 1) + k - 2, 0)
        extra = lambda want, got: 1 if want == got + 1 else 0
        h, w = u.shape[-2:]
        pad = (extra(fine[0], natural(h)), extra(fine[1], natural(w)))
        y = F.conv_transpose2d(u, self.RTlayers[j].weight, None, stride=2, padding=1, output_padding=pad)
        y = y[..., : fine[0], : fine[1]]
        return F.pad(y, (0, fine[1] - y.shape[-1], 0, fine[0] - y.shape[-2]))

    def forward(self, f):
        us, fs, u = [], [], None
        for l in range(self.n):
            for m in getattr(self, f"layer{l}"):
                u, f = m.step(u, f)
            us.append(u)
            fs.append(f)
        for j in reversed(range(self.n - 1)):
            uj = us[j] + self.prolong(j, us[j + 1], us[j].shape[-2:])
            for m in getattr(self, f"post_smooth_layer{j}"):
                if isinstance(m, MgIte):
                    uj, _ = m.step(uj, fs[j])
            us[j] = uj
        return us[0]


class MgNODC(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c_in, c_out, c_u = cfg["in_channels"], cfg["out_channels"], cfg["channels"]
        levels = cfg["levels"]
        kernels = cfg["prolongation_kernels"] or [4] * (len(levels) - 1)
        mode = cfg["padding"]
        self.conv_list = nn.ModuleList([MgConvDC(levels, c_u, c_in if i == 0 else c_u, mode, kernels) for i in range(cfg["layers"])])
        self.linear_list = nn.ModuleList([nn.Conv2d(c_in if i == 0 else c_u, c_u, 1, bias=True) for i in range(cfg["layers"])])
        self.linear = nn.Conv2d(c_u, c_out, 1, bias=False)

    def forward(self, u):
        for conv, lin in zip(self.conv_list, self.linear_list):
            u = F.gelu(conv(u) + lin(u))
        return self.linear(u)


# --------------------------------------------------------------------------------------------
# FNO with neuraloperator's module tree
# --------------------------------------------------------------------------------------------


class ChannelMLP(nn.Module):
    """Conv1d layers over the flattened grid, GELU between them."""

    def __init__(self, sizes):
        super().__init__()
        self.fcs = nn.ModuleList([nn.Conv1d(a, b, 1) for a, b in zip(sizes[:-1], sizes[1:])])

    def forward(self, x):
        b, _, h, w = x.shape
        x = x.reshape(b, x.shape[1], h * w)
        for i, fc in enumerate(self.fcs):
            x = fc(x)
            if i + 1 < len(self.fcs):
                x = F.gelu(x)
        return x.reshape(b, x.shape[1], h, w)


class SpectralConv(nn.Module):
    """Kept modes: H-frequencies -m1 .. m1-1 (fftshift order along axis 2 of the weight), rfft
    W-frequencies 0 .. m2-1; bias [c_out, 1, 1]."""

    def __init__(self, c, m1, m2):
        super().__init__()
        self.m1, self.m2 = m1, m2
        self.weight = nn.Parameter(torch.zeros(c, c, 2 * m1, m2, dtype=torch.complex64))
        self.bias = nn.Parameter(torch.zeros(c, 1, 1))

    def forward(self, x):
        b, _, h, w = x.shape
        assert 2 * self.m1 <= h and self.m2 <= w // 2 + 1, "grid too small for the kept modes"
        rows = torch.tensor([(k - self.m1) % h for k in range(2 * self.m1)], device=x.device)
        x_ft = torch.fft.rfft2(x)
        kept = x_ft.index_select(2, rows)[..., : self.m2]
        out = torch.zeros(b, self.weight.shape[1], h, w // 2 + 1, dtype=x_ft.dtype, device=x.device)
        out[:, :, rows, : self.m2] = torch.einsum("bixy,ioxy->boxy", kept, self.weight)
        return torch.fft.irfft2(out, s=(h, w)) + self.bias


class Skip(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv1d(c, c, 1, bias=False)

    def forward(self, x):
        b, c, h, w = x.shape
        return self.conv(x.reshape(b, c, h * w)).reshape(b, -1, h, w)


class FNOBlocks(nn.Module):
    def __init__(self, width, modes, layers):
        super().__init__()
        self.convs = nn.ModuleList([SpectralConv(width, *modes) for _ in range(layers)])
        self.fno_skips = nn.ModuleList([Skip(width) for _ in range(layers)])


class FNO(nn.Module):
    def __init__(self, cfg, grid_channels):
        super().__init__()
        self.grid = grid_channels
        extra = 0 if grid_channels == "none" else 2
        self.pad = cfg["domain_padding"]
        self.lifting = ChannelMLP([cfg["in_channels"] + extra, cfg["width"]])
        self.fno_blocks = FNOBlocks(cfg["width"], cfg["modes"], cfg["layers"])
        self.projection = ChannelMLP([cfg["width"], cfg["projection"], cfg["out_channels"]])

    def coords(self, x):
        b, _, h, w = x.shape
        if self.grid == "periodic":
            ys, xs = torch.arange(h) / h, torch.arange(w) / w
        else:
            ys, xs = torch.linspace(0, 1, h) if h > 1 else torch.zeros(1), torch.linspace(0, 1, w) if w > 1 else torch.zeros(1)
        gy = ys.to(x).view(1, 1, h, 1).expand(b, 1, h, w)
        gx = xs.to(x).view(1, 1, 1, w).expand(b, 1, h, w)
        return torch.cat([x, gy, gx], dim=1)

    def forward(self, x):
        h, w = x.shape[-2:]
        if self.grid != "none":
            x = self.coords(x)
        v = self.lifting(x)
        if self.pad:
            v = F.pad(v, (0, self.pad, 0, self.pad))
        n = len(self.fno_blocks.convs)
        for i, (k, skip) in enumerate(zip(self.fno_blocks.convs, self.fno_blocks.fno_skips)):
            v = k(v) + skip(v)
            if i + 1 < n:
                v = F.gelu(v)
        return self.projection(v[..., :h, :w])


# --------------------------------------------------------------------------------------------


# One epoch on 8 of the 12 samples: the comparison needs trained weights, not good ones.
RUN_TOML = "epochs = 1\nbatch_size = 4\n[data]\nn_train = 8\nn_val = 2\nn_test = 2\n"
# Post-smoothing and two pre-smoothing steps, so every kind of MgNO_DC name appears.
MGNO_TOML = RUN_TOML + "[mgno]\nchannels = 6\nlayers = 2\nlevels = [[1, 1], [2, 1], [2, 0]]\n"
# Domain padding and unequal modes exercise the padding and the mode layout.
FNO_TOML = RUN_TOML + "[fno]\nwidth = 8\nmodes = [4, 5]\nlayers = 3\nprojection = 16\ndomain_padding = 3\n"


def oplab(binary, *args):
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL)


def check(kind, weights, probe, device):
    state, meta = read_safetensors(weights)
    cfg = json.loads(meta["oplab.model"])
    model = MgNODC(cfg) if kind == "mgno" else FNO(cfg, meta["oplab.fno.grid_channels"])
    model.load_state_dict(state, strict=True)
    model = model.to(device).eval()
    tensors, _ = read_safetensors(probe)
    x, want = tensors["input"].to(device), tensors["output"].to(device)
    with torch.no_grad():
        got = model(x)
    rel = ((got - want).abs().max() / want.abs().max()).item()
    print(f"{kind}: {len(state)} tensors loaded strictly; output {tuple(got.shape)}: max |torch - oplab| / max |oplab| = {rel:.3e}")
    return rel


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--oplab", required=True, help="the oplab binary")
    p.add_argument("--device", default="cpu", help="cpu or cuda (PyTorch side; oplab's probe runs on the CPU)")
    p.add_argument("--resolution", type=int, default=33)
    p.add_argument("--tolerance", type=float, default=1e-5)
    p.add_argument("--workdir", help="keep the files here (default: a temporary directory)")
    args = p.parse_args()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or tmp
        os.makedirs(work, exist_ok=True)
        data = os.path.join(work, "darcy.h5")
        oplab(args.oplab, "generate", "darcy", "--n", "12", "--resolution", str(args.resolution), "--seed", "3", "--force", "-q", "--out", data)
        worst = 0.0
        for kind, toml in (("mgno", MGNO_TOML), ("fno", FNO_TOML)):
            cfg = os.path.join(work, f"{kind}.toml")
            with open(cfg, "w") as f:
                f.write(toml)
            run = os.path.join(work, f"run-{kind}")
            oplab(args.oplab, "train", kind, "--data", data, "--config", cfg, "--out", run, "-q")
            weights, probe = os.path.join(work, f"{kind}.safetensors"), os.path.join(work, f"{kind}.probe.safetensors")
            oplab(args.oplab, "export", "--run", run, "--out", weights, "--probe", probe, "--force")
            worst = max(worst, check(kind, weights, probe, device))
    ok = worst <= args.tolerance
    print(f"{'ok' if ok else 'FAILED'}: worst {worst:.3e} against tolerance {args.tolerance:.0e} (torch {torch.__version__}, device {args.device})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
