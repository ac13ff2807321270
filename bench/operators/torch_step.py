#!/usr/bin/env python3
"""PyTorch side of oplab's convolution benchmark (`operators/examples/gpu_bench.rs`).

Prints the same two tables as the Rust benchmark, for plain PyTorch on the same device, shapes,
batch sizes and dtype (f32):

1. single convolution layers: forward, input gradient (dgrad), weight gradient (wgrad), and a
   whole forward + backward of sum(r * y) with respect to x and w;
2. whole training steps (forward, relative L2 loss, backward, Adam) of MgNO in its Darcy-rough
   configuration (4 layers, 24 channels, 6 levels, 572,661 parameters) and of the FNO of the
   Darcy script (4 layers, width 32, 12 modes, 2,368,001 parameters).

The models are re-implemented here from their descriptions (oplab's `operators/src/layers/
mgconv.rs`, `operators/src/models/mgno.rs`, `fno.rs`, and `shared/reference/neural_operators.md`),
not imported from either code base, so the comparison is architecture against architecture. The
parameter counts are checked against oplab's before anything is timed.

Timings are medians over --reps repetitions after --warmup untimed ones, each repetition ending
with `torch.cuda.synchronize()`. TF32 is left at PyTorch's defaults (cuDNN convolutions may use
it, matmuls do not) unless --strict-fp32 is given; the header line says which.

    python3 bench/operators/torch_step.py --device cuda
"""

import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MGNO_DARCY_ROUGH_PARAMS = 572_661
FNO_DARCY_PARAMS = 2_368_001


# --------------------------------------------------------------------------------------------
# MgNO
# --------------------------------------------------------------------------------------------


def conv3(c_in, c_out, stride=1):
    """A 3x3 convolution without bias, zero halo of one (the Darcy boundary setting)."""
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


class Smoother(nn.Module):
    """u <- u + S(f - A u); the first step of the finest level has no A and sets u = S f."""

    def __init__(self, c_f, c_u, with_a):
        super().__init__()
        self.a = conv3(c_u, c_f) if with_a else None
        self.s = conv3(c_f, c_u)

    def forward(self, u, f):
        if u is None or self.a is None:
            s = self.s(f)
            return s if u is None else u + s
        return u + self.s(f - self.a(u))


class Prolongation(nn.Module):
    """Learned stride-2 transposed convolution (padding 1, no bias), fitted to the fine grid."""

    def __init__(self, c_u, kernel):
        super().__init__()
        self.kernel = kernel
        self.conv = nn.ConvTranspose2d(c_u, c_u, kernel, stride=2, padding=1, bias=False)

    def forward(self, u, fine):
        h, w = u.shape[-2:]
        natural = lambda n: max(2 * (max(n, 1) - 1) + self.kernel - 2, 0)
        extra = lambda want, got: 1 if want == got + 1 else 0
        out_pad = (extra(fine[0], natural(h)), extra(fine[1], natural(w)))
        y = F.conv_transpose2d(u, self.conv.weight, None, stride=2, padding=1, output_padding=out_pad)
        y = y[..., : fine[0], : fine[1]]
        ph, pw = fine[0] - y.shape[-2], fine[1] - y.shape[-1]
        if ph > 0 or pw > 0:
            y = F.pad(y, (0, max(pw, 0), 0, max(ph, 0)))
        return y


class MgConv(nn.Module):
    """One learned V-cycle over (u, f): pre-smoothing down the levels (with learned stride-2
    restrictions of both u and f), then prolongation and post-smoothing back up."""

    def __init__(self, c_f, c_u, levels, prolongation_kernels=None):
        super().__init__()
        n = len(levels)
        kernels = prolongation_kernels or [4] * (n - 1)
        self.levels = levels
        self.pi = nn.ModuleList([conv3(c_u, c_u, 2) if l > 0 else nn.Identity() for l in range(n)])
        self.r = nn.ModuleList([conv3(c_f, c_f, 2) if l > 0 else nn.Identity() for l in range(n)])
        self.pre = nn.ModuleList(
            [nn.ModuleList([Smoother(c_f, c_u, l > 0 or i > 0) for i in range(pre)]) for l, (pre, _) in enumerate(levels)]
        )
        self.post = nn.ModuleList([nn.ModuleList([Smoother(c_f, c_u, True) for _ in range(post)]) for _, post in levels])
        self.prolong = nn.ModuleList([Prolongation(c_u, kernels[l]) for l in range(n - 1)])

    def forward(self, f):
        us, fs, u = [], [], None
        for l in range(len(self.levels)):
            if l > 0:
                u = self.pi[l](u)
                f = self.r[l](f)
            for s in self.pre[l]:
                u = s(u, f)
            us.append(u)
            fs.append(f)
        for j in reversed(range(len(self.levels) - 1)):
            uj = us[j] + self.prolong[j](us[j + 1], us[j].shape[-2:])
            for s in self.post[j]:
                uj = s(uj, fs[j])
            us[j] = uj
        return us[0]


class MgNO(nn.Module):
    """u <- GELU(MgConv(u) + W u + b) per layer (W: 1x1 with bias), then a 1x1 head without bias;
    no lifting: the first V-cycle takes the input channels as its right-hand side."""

    def __init__(self, in_channels=1, out_channels=1, channels=24, layers=4, levels=None):
        super().__init__()
        levels = levels or [[1, 0]] * 5 + [[2, 0]]
        self.blocks = nn.ModuleList()
        self.skips = nn.ModuleList()
        for i in range(layers):
            c_in = in_channels if i == 0 else channels
            self.blocks.append(MgConv(c_in, channels, levels))
            self.skips.append(nn.Conv2d(c_in, channels, 1, bias=True))
        self.head = nn.Conv2d(channels, out_channels, 1, bias=False)

    def forward(self, x):
        u = x
        for block, skip in zip(self.blocks, self.skips):
            u = F.gelu(block(u) + skip(u))
        return self.head(u)


# --------------------------------------------------------------------------------------------
# FNO (layout of the reference fourier_2d.py, channels-first with 1x1 convolutions as the
# pointwise layers)
# --------------------------------------------------------------------------------------------


class SpectralConv2d(nn.Module):
    def __init__(self, c_in, c_out, m1, m2):
        super().__init__()
        self.m1, self.m2 = m1, m2
        scale = 1.0 / (c_in * c_out)
        self.w1 = nn.Parameter(scale * torch.rand(c_in, c_out, m1, m2, dtype=torch.cfloat))
        self.w2 = nn.Parameter(scale * torch.rand(c_in, c_out, m1, m2, dtype=torch.cfloat))

    def forward(self, x):
        b, _, h, w = x.shape
        x_ft = torch.fft.rfft2(x)
        out = torch.zeros(b, self.w1.shape[1], h, w // 2 + 1, dtype=torch.cfloat, device=x.device)
        m1, m2 = self.m1, self.m2
        out[:, :, :m1, :m2] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, :m1, :m2], self.w1)
        out[:, :, -m1:, :m2] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, -m1:, :m2], self.w2)
        return torch.fft.irfft2(out, s=(h, w))


class FNO2d(nn.Module):
    def __init__(self, in_channels=1, out_channels=1, width=32, modes=12, layers=4, projection=128):
        super().__init__()
        self.lift = nn.Conv2d(in_channels + 2, width, 1)
        self.spectral = nn.ModuleList([SpectralConv2d(width, width, modes, modes) for _ in range(layers)])
        self.pointwise = nn.ModuleList([nn.Conv2d(width, width, 1) for _ in range(layers)])
        self.proj1 = nn.Conv2d(width, projection, 1)
        self.proj2 = nn.Conv2d(projection, out_channels, 1)

    def forward(self, x):
        b, _, h, w = x.shape
        gy = torch.linspace(0, 1, h, device=x.device).view(1, 1, h, 1).expand(b, 1, h, w)
        gx = torch.linspace(0, 1, w, device=x.device).view(1, 1, 1, w).expand(b, 1, h, w)
        v = self.lift(torch.cat([x, gy, gx], dim=1))
        n = len(self.spectral)
        for i, (k, pw) in enumerate(zip(self.spectral, self.pointwise)):
            v = k(v) + pw(v)
            if i + 1 < n:
                v = F.gelu(v)
        return self.proj2(F.gelu(self.proj1(v)))


def count_params(model):
    """Real parameters, complex ones counted twice (as the FNO reference scripts do)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


def relative_l2(pred, target):
    b = pred.shape[0]
    num = (pred - target).reshape(b, -1).norm(dim=1)
    den = target.reshape(b, -1).norm(dim=1)
    return (num / den).mean()


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# Calls of one layer queued before each sync in the layer table, as in gpu_bench.rs
# (LAYER_QUEUE): the time per call is then the device's, not the sync's latency.
LAYER_QUEUE = 10


def time_ms(fn, device, warmup, reps, queue=1):
    """Median milliseconds per call over `reps` runs of `queue` back-to-back calls and one sync."""
    for _ in range(warmup):
        fn()
        sync(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        outs = [fn() for _ in range(queue)]
        sync(device)
        times.append((time.perf_counter() - start) * 1e3 / queue)
        del outs
    times.sort()
    return times[len(times) // 2]


def layers(layer_max):
    """Same list as gpu_bench.rs: (name, c_in, c_out, n, kernel, stride, transposed)."""
    out = []
    for c_in, c_out, n, k, s, t in [
        (32, 32, 256, 3, 1, False),
        (24, 24, 256, 3, 1, False),
        (1, 24, 256, 3, 1, False),
        (32, 32, 64, 3, 1, False),
        (24, 24, 256, 3, 2, False),
        (24, 24, 128, 4, 2, True),
        (24, 24, 256, 1, 1, False),
    ]:
        n = min(n, layer_max)
        kind = f"{k}×{k} s{s} transposed" if t else (f"{k}×{k} s{s}" if s > 1 else f"{k}×{k}")
        out.append((f"{kind} {c_in}→{c_out}, {n}²", c_in, c_out, n, k, s, t))
    return out


def layer_table(args, device):
    b = args.layer_batch
    print(f"## Single layers, batch {b} (ms per call: median over {args.reps} runs of {LAYER_QUEUE} queued calls and one sync, after {args.warmup} warm-up)\n")
    print("| layer | fwd | dgrad | wgrad | fwd+bwd |")
    print("|---|---|---|---|---|")
    for name, ci, co, n, k, s, transposed in layers(args.layer_max):
        pad = 0 if k == 1 else 1
        x = torch.randn(b, ci, n, n, device=device)
        w = 0.1 * torch.randn(*((ci, co, k, k) if transposed else (co, ci, k, k)), device=device)
        if transposed:
            op = lambda x, w: F.conv_transpose2d(x, w, None, stride=s, padding=pad)
        else:
            op = lambda x, w: F.conv2d(x, w, None, stride=s, padding=pad)
        with torch.no_grad():
            dy = torch.randn_like(op(x, w))
        fwd = time_ms(lambda: op(x, w), device, args.warmup, args.reps, LAYER_QUEUE)
        xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
        y = op(xg, wg)
        dgrad = time_ms(lambda: torch.autograd.grad(y, xg, dy, retain_graph=True), device, args.warmup, args.reps, LAYER_QUEUE)
        wgrad = time_ms(lambda: torch.autograd.grad(y, wg, dy, retain_graph=True), device, args.warmup, args.reps, LAYER_QUEUE)

        def both():
            xg.grad, wg.grad = None, None
            (op(xg, wg) * dy).sum().backward()

        total = time_ms(both, device, args.warmup, args.reps, LAYER_QUEUE)
        print(f"| {name} | {fwd:.3f} | {dgrad:.3f} | {wgrad:.3f} | {total:.3f} |")
    print()


def training_step(model, batch, n, device):
    """One training step of `model` (forward, relative L2, backward, Adam) on fixed random data."""
    x = torch.randn(batch, 1, n, n, device=device)
    y = torch.randn(batch, 1, n, n, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = relative_l2(model(x), y)
        loss.backward()
        opt.step()

    return step


def step_ms(model, batch, n, args, device):
    return time_ms(training_step(model, batch, n, device), device, args.warmup, args.reps)


def profile_steps(args, device, steps=5):
    """Kernel-level profile of the training steps (torch.profiler, CUDA activity): per model and
    grid, the GPU time and launch count per step and the kernels that take most of it."""
    from torch.profiler import ProfilerActivity, profile

    b = args.step_batch
    for n in args.sizes:
        for name, model in (("MgNO", MgNO()), ("FNO", FNO2d())):
            step = training_step(model.to(device), b, n, device)
            for _ in range(args.warmup):
                step()
            sync(device)
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                for _ in range(steps):
                    step()
                sync(device)
            # Kernels only: CPU-side operator rows would count their kernels' time a second time.
            rows = [e for e in prof.key_averages() if e.device_type.name == "CUDA"]
            if not rows:
                print(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=25))
                continue
            gpu_us = sum(e.self_device_time_total for e in rows) / steps
            launches = sum(e.count for e in rows) / steps
            print(f"## PyTorch profile, {name} {n}², batch {b}: GPU {gpu_us / 1000:.2f} ms in {launches:.0f} kernels per step\n")
            print("| kernel | calls/step | GPU ms/step |")
            print("|---|---|---|")
            for e in sorted(rows, key=lambda e: -e.self_device_time_total)[:25]:
                print(f"| {e.key[:90]} | {e.count / steps:.0f} | {e.self_device_time_total / steps / 1000:.3f} |")
            print()


def step_table(args, device):
    b = args.step_batch
    print(f"## Training steps (forward + relative L2 + backward + Adam), batch {b} (ms, median of {args.reps} after {args.warmup} warm-up)\n")
    print("| model | params | grid | torch ms |")
    print("|---|---|---|---|")
    for n in args.sizes:
        mgno = MgNO().to(device)
        print(f"| MgNO Darcy-rough (4 layers, 24 ch, 6 levels) | {count_params(mgno)} | {n}² | {step_ms(mgno, b, n, args, device):.2f} |")
        fno = FNO2d().to(device)
        print(f"| FNO (4 layers, width 32, modes 12) | {count_params(fno)} | {n}² | {step_ms(fno, b, n, args, device):.2f} |")
    print()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda or cpu")
    p.add_argument("--only", default="all", choices=["all", "layers", "steps", "profile"])
    p.add_argument("--layer-batch", type=int, default=16)
    p.add_argument("--step-batch", type=int, default=8)
    p.add_argument("--sizes", default="64,256", help="grid sides of the training steps")
    p.add_argument("--layer-max", type=int, default=1 << 30, help="cap the layer grids (quick CPU runs)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--strict-fp32", action="store_true", help="disable TF32 in cuDNN and matmul")
    args = p.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    device = torch.device(args.device)
    if args.strict_fp32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True

    # The architectures must be oplab's before their times mean anything.
    mgno_params, fno_params = count_params(MgNO()), count_params(FNO2d())
    assert mgno_params == MGNO_DARCY_ROUGH_PARAMS, f"MgNO has {mgno_params} parameters, oplab's {MGNO_DARCY_ROUGH_PARAMS}"
    assert fno_params == FNO_DARCY_PARAMS, f"FNO has {fno_params} parameters, oplab's {FNO_DARCY_PARAMS}"
    shapes = MgNO()(torch.randn(1, 1, 13, 11)).shape
    assert tuple(shapes) == (1, 1, 13, 11), shapes

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    tf32 = f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}"
    print(f"# PyTorch {torch.__version__} conv benchmark (device {name}, f32, {tf32}, cudnn.benchmark=True)\n")
    if args.only != "steps":
        layer_table(args, device)
    if args.only == "profile":
        profile_steps(args, device)
        return
    if args.only != "layers":
        step_table(args, device)


if __name__ == "__main__":
    main()
