#!/usr/bin/env python3
"""PyTorch side of oplab's PROSE step benchmark (`gpu_bench --only prose`).

An independent re-implementation of the PROSE model from its description (issue 21 and
`shared/reference/prose_alrnn.md` §A.3), not from either code base: embedder MLP, data encoder,
symbol encoder with sinusoidal positions, fusion with a modality embedding, data decoder of
cross-attention-only layers, causal symbol decoder with a tied output embedding; post-LN XLM-style
layers (LN eps 1e-12), `nn.MultiheadAttention`, FFN 4d with GELU, dropout 0. The parameter count
must equal oplab's before anything is timed (medium 14,312,243, paper 104,357,427).

It times one training step as oplab's trainer runs it: forward, loss = 6 · relative-L2² data term
+ token cross-entropy, backward, global-norm clip 1.0, AdamW (lr 1e-4, weight decay 1e-4), batch
256, 64 data samples, 128 query times, 25 symbol tokens (Lorenz's skeleton), 35 decoder tokens
(<BOS> + 33 + <EOS>). Three modes per preset:

  f32        TF32 off for matmuls and cuDNN (plain FP32, what oplab computes);
  f32-tf32   TF32 on for matmuls and cuDNN;
  bf16       autocast to bfloat16 around forward and loss with a GradScaler, as the reference
             trains (`--amp 0`, its default), TF32 on.

Medians over --reps steps after --warmup untimed ones, each ending with a device sync.

    python3 bench/prose/torch_prose_step.py --device cuda --presets medium,paper
"""

import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 1072
PAD = 2
N_IN, N_QUERY, L_SYM, L_DEC = 64, 128, 25, 35
PRESETS = {
    # d, heads, layers (data encoder, symbol encoder, fusion, data decoder, symbol decoder)
    "tiny": (32, 4, (1, 1, 1, 1, 1)),
    "small": (128, 4, (1, 1, 2, 2, 2)),
    "medium": (256, 8, (2, 2, 4, 4, 4)),
    "paper": (512, 8, (2, 4, 8, 8, 8)),
}
EXPECTED_PARAMS = {"tiny": 139_251, "small": 2_013_619, "medium": 14_312_243, "paper": 104_357_427}
EPS = 1e-12


def sinusoids(n_pos, d):
    """Fixed table: sin of pos / 10000^(2 floor(j/2) / d) at even j, cos at odd j."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    j = torch.arange(d)
    angle = pos / torch.pow(10000.0, (2 * (j // 2)).double() / d)[None, :]
    return torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle)).float()


class Layer(nn.Module):
    """Post-LN layer: optional self-attention, optional cross-attention, FFN; each x = LN(x + f(x))."""

    def __init__(self, d, heads, self_attn, cross_attn):
        super().__init__()
        mha = lambda: nn.MultiheadAttention(d, heads, dropout=0.0, batch_first=True)
        self.attn = mha() if self_attn else None
        self.ln_attn = nn.LayerNorm(d, eps=EPS) if self_attn else None
        self.cross = mha() if cross_attn else None
        self.ln_cross = nn.LayerNorm(d, eps=EPS) if cross_attn else None
        self.ffn = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.ln_ffn = nn.LayerNorm(d, eps=EPS)

    def forward(self, x, key_pad=None, causal=None, memory=None, memory_pad=None, keep=None):
        if self.attn is not None:
            a = self.attn(x, x, x, key_padding_mask=key_pad, attn_mask=causal, need_weights=False)[0]
            x = self.ln_attn(x + a)
        if self.cross is not None:
            a = self.cross(x, memory, memory, key_padding_mask=memory_pad, need_weights=False)[0]
            x = self.ln_cross(x + a)
        x = self.ln_ffn(x + self.ffn(x))
        return x if keep is None else x * keep


def token_embedding(vocab, d):
    emb = nn.Embedding(vocab, d, padding_idx=PAD)
    nn.init.normal_(emb.weight, 0.0, d ** -0.5)
    with torch.no_grad():
        emb.weight[PAD].zero_()
    return emb


class Prose(nn.Module):
    def __init__(self, d, heads, layers, vocab=VOCAB, max_dim=3):
        super().__init__()
        l1, l2, l3, l4, l5 = layers
        stack = lambda n, s, c: nn.ModuleList(Layer(d, heads, s, c) for _ in range(n))
        self.embedder = nn.Sequential(nn.Linear(1 + max_dim, d), nn.GELU(), nn.Linear(d, d))
        self.data_ln = nn.LayerNorm(d, eps=EPS)
        self.data_layers = stack(l1, True, False)
        self.sym_emb = token_embedding(vocab, d)
        self.sym_ln = nn.LayerNorm(d, eps=EPS)
        self.sym_layers = stack(l2, True, False)
        self.types = nn.Parameter(torch.randn(2, d) * d ** -0.5)
        self.fusion_ln = nn.LayerNorm(d, eps=EPS)
        self.fusion_layers = stack(l3, True, False)
        self.query = nn.Linear(1, d)
        self.query_ln = nn.LayerNorm(d, eps=EPS)
        self.query_layers = stack(l4, False, True)
        self.proj = nn.Linear(d, max_dim)
        self.dec_emb = token_embedding(vocab, d)
        self.dec_ln = nn.LayerNorm(d, eps=EPS)
        self.dec_layers = stack(l5, True, True)
        self.dec_bias = nn.Parameter(torch.empty(vocab).uniform_(-(d ** -0.5), d ** -0.5))
        self.register_buffer("positions", sinusoids(512, d), persistent=False)

    def forward(self, data, symbols, symbol_pad, query_times, dec_in, dec_pad):
        x = self.data_ln(self.embedder(data))
        for layer in self.data_layers:
            x = layer(x)
        keep = (~symbol_pad).unsqueeze(-1).to(x.dtype)
        s = self.sym_ln(self.sym_emb(symbols) + self.positions[: symbols.shape[1]]) * keep
        for layer in self.sym_layers:
            s = layer(s, key_pad=symbol_pad, keep=keep)
        n = x.shape[1]
        fused_pad = torch.cat([torch.zeros_like(symbol_pad[:, :1]).expand(-1, n), symbol_pad], 1)
        fused_keep = (~fused_pad).unsqueeze(-1).to(x.dtype)
        f = self.fusion_ln(torch.cat([x + self.types[0], s + self.types[1]], 1)) * fused_keep
        for layer in self.fusion_layers:
            f = layer(f, key_pad=fused_pad, keep=fused_keep)
        data_part, sym_part = f[:, :n], f[:, n:]

        q = self.query_ln(self.query(query_times.unsqueeze(-1)))
        for layer in self.query_layers:
            q = layer(q, memory=data_part)
        pred = self.proj(q)

        length = dec_in.shape[1]
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=dec_in.device), 1)
        dec_keep = (~dec_pad).unsqueeze(-1).to(x.dtype)
        h = self.dec_ln(self.dec_emb(dec_in) + self.positions[:length]) * dec_keep
        for layer in self.dec_layers:
            h = layer(h, causal=causal, memory=sym_part, memory_pad=symbol_pad, keep=dec_keep)
        logits = h @ self.dec_emb.weight.t() + self.dec_bias
        return pred, logits


def prose_loss(pred, target, mask, logits, dec_in, dec_pad, data_weight=6.0):
    target = target * mask
    err = ((pred.float() * mask - target) ** 2).sum((1, 2))
    data = (err / ((target ** 2).sum((1, 2)) + 1e-5)).mean()
    counted = ~dec_pad[:, 1:]
    ce = F.cross_entropy(logits[:, :-1][counted].float(), dec_in[:, 1:][counted])
    return data_weight * data + ce


def count_params(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_ms(f, device, warmup, reps):
    for _ in range(warmup):
        f()
        sync(device)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def set_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def time_preset(name, mode, args, device):
    torch.manual_seed(0)
    d, heads, layers = PRESETS[name]
    model = Prose(d, heads, layers).to(device)
    params = count_params(model)
    assert params == EXPECTED_PARAMS[name], f"{name}: {params} parameters, oplab has {EXPECTED_PARAMS[name]}"
    b = args.batch
    data = torch.randn(b, N_IN, 4, device=device)
    symbols = torch.randint(4, VOCAB, (b, L_SYM), device=device)
    symbol_pad = torch.zeros(b, L_SYM, dtype=torch.bool, device=device)
    query_times = torch.rand(b, N_QUERY, device=device) * 4 + 2
    dec_in = torch.randint(4, VOCAB, (b, L_DEC), device=device)
    dec_pad = torch.zeros(b, L_DEC, dtype=torch.bool, device=device)
    target = torch.randn(b, N_QUERY, 3, device=device)
    mask = torch.ones(b, 1, 3, device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    bf16 = mode == "bf16"
    set_tf32(mode != "f32")
    scaler = torch.amp.GradScaler("cuda", enabled=bf16 and device.type == "cuda")

    def loss():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            pred, logits = model(data, symbols, symbol_pad, query_times, dec_in, dec_pad)
            return prose_loss(pred, target, mask, logits, dec_in, dec_pad)

    def step():
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss()).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()

    # Forward + loss with autograd recording, as in the step (no_grad would skip saving activations).
    fwd = median_ms(loss, device, args.warmup, args.reps)
    st = median_ms(step, device, args.warmup, args.reps)
    return params, fwd, st


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda or cpu")
    p.add_argument("--presets", default="medium,paper")
    p.add_argument("--modes", default="f32,f32-tf32,bf16")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=10)
    args = p.parse_args()
    presets = [s for s in args.presets.split(",") if s]
    modes = [s for s in args.modes.split(",") if s]
    for s in presets:
        if s not in PRESETS:
            p.error(f"--presets {s}: must be among {', '.join(PRESETS)}")
    for m in modes:
        if m not in ("f32", "f32-tf32", "bf16"):
            p.error(f"--modes {m}: must be among f32, f32-tf32, bf16")
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"# PyTorch {torch.__version__} PROSE step benchmark (device {name})\n")
    print(f"## PROSE training step (forward + loss + backward + clip 1.0 + AdamW), batch {args.batch}, "
          f"{N_IN} data / {N_QUERY} queries / {L_SYM} symbol / {L_DEC} decoder tokens "
          f"(ms, median of {args.reps} after {args.warmup} warm-up)\n")
    print("| preset | params | mode | forward + loss ms | step ms | samples/s |")
    print("|---|---|---|---|---|---|")
    for preset in presets:
        for mode in modes:
            params, fwd, st = time_preset(preset, mode, args, device)
            print(f"| {preset} | {params} | {mode} | {fwd:.2f} | {st:.2f} | {args.batch / st * 1e3:.0f} |", flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    print()
    print("modes: f32 = matmul.allow_tf32=False, cudnn.allow_tf32=False; f32-tf32 = both True; "
          "bf16 = autocast(bfloat16) + GradScaler, TF32 on")


if __name__ == "__main__":
    main()
