#!/usr/bin/env python3
"""Merge one device call's oplab and PyTorch tables into a ratio table in bench/RESULTS.md.

`bench/operators/device/side_by_side.sh` leaves, in the call's output folder, `oplab_steps.md`,
`torch_steps.md` and (when the layer tables ran) `oplab_layers.md`, `torch_layers.md`, plus
`oplab_check.md` / `oplab_breakdown.md` / `oplab_breakdown_raw.md` and `call.txt` (date, GPU,
versions), and for two-round calls `torch_steps2.md` / `oplab_steps2.md` and `torch_steps_fp32.md`. This script pairs
the rows by model and grid (steps) or by layer name (layers), computes oplab / PyTorch, and writes
the result between the markers

    <!-- gpu-side-by-side:begin -->
    <!-- gpu-side-by-side:end -->

of bench/RESULTS.md (appending the markers at the end the first time). Nothing is estimated: a cell
that one side did not produce is printed as "–".

    python3 bench/operators/update_results.py /work/.device/N [--results bench/RESULTS.md] [--dry-run]
"""

import argparse
import math
import pathlib
import re
import sys

BEGIN = "<!-- gpu-side-by-side:begin -->"
END = "<!-- gpu-side-by-side:end -->"


def table_rows(path):
    """The data rows of every markdown table in `path`, as lists of stripped cells."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(cells)
    return rows


def number(cell):
    try:
        v = float(cell.rstrip("×"))
    except ValueError:
        return math.nan
    return v


def fmt(v, digits=2):
    return "–" if v is None or math.isnan(v) else f"{v:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return "–"
    return f"**{a / b:.2f}×**"


def model_key(name):
    return "mgno" if name.lower().startswith("mgno") else "fno" if name.lower().startswith("fno") else name


def oplab_steps(path):
    rows = {}
    for cells in table_rows(path):
        # | model | params | grid | stock | fast | [tuned |] stock/fast |
        if len(cells) >= 6 and cells[0] != "model":
            rows[(model_key(cells[0]), cells[2])] = (number(cells[3]), number(cells[4]))
    return rows


def torch_steps(folder, name="torch_steps.md"):
    """PyTorch step rows of `name`: (model, grid) -> (model name as printed, ms)."""
    rows = {}
    path = folder / name
    if not path.is_file():
        return rows
    for cells in table_rows(path):
        if len(cells) == 4 and cells[0] != "model":
            rows[(model_key(cells[0]), cells[2])] = (cells[0], number(cells[3]))
    return rows


def steps_table(folder):
    """One row per model and grid; one PyTorch/oplab column pair per round (`torch_steps.md` with
    `oplab_steps.md`, then `torch_steps2.md` with `oplab_steps2.md` where present), and PyTorch
    with TF32 off (`torch_steps_fp32.md`) against the first round's oplab time where present."""
    rounds = [(torch_steps(folder, "torch_steps.md"), oplab_steps(folder / "oplab_steps.md"))]
    if (folder / "torch_steps2.md").is_file() or (folder / "oplab_steps2.md").is_file():
        rounds.append((torch_steps(folder, "torch_steps2.md"), oplab_steps(folder / "oplab_steps2.md")))
    fp32 = torch_steps(folder, "torch_steps_fp32.md")
    keys = set(fp32)
    for torch, oplab in rounds:
        keys |= set(torch) | set(oplab)
    keys = sorted(keys, key=lambda k: (k[0], int(re.sub(r"\D", "", k[1]) or 0)))
    if not keys:
        return []
    head = "| training step, batch 8 | grid |"
    rule = "|---|---|"
    for i in range(len(rounds)):
        tag = f" (round {i + 1})" if len(rounds) > 1 else ""
        head += f" PyTorch ms{tag} | oplab ms{tag} | oplab / PyTorch{tag} |"
        rule += "---|---|---|"
    if fp32:
        head += " PyTorch ms, TF32 off | oplab / PyTorch TF32 off (round 1) |"
        rule += "---|---|"
    out = [head, rule]
    for key in keys:
        name = next((t[key][0] for t, _ in rounds if key in t), fp32.get(key, (key[0],))[0])
        row = f"| {name} | {key[1]} |"
        for torch, oplab in rounds:
            t = torch.get(key, (None, None))[1]
            fast = oplab.get(key, (None, None))[1]
            row += f" {fmt(t)} | {fmt(fast)} | {ratio(fast, t)} |"
        if fp32:
            t = fp32.get(key, (None, None))[1]
            fast = rounds[0][1].get(key, (None, None))[1]
            row += f" {fmt(t)} | {ratio(fast, t)} |"
        out.append(row)
    return out


def layers_table(folder, oplab_file="oplab_layers.md"):
    torch = {}
    for cells in table_rows(folder / "torch_layers.md"):
        if len(cells) == 5 and cells[0] != "layer":
            torch[cells[0]] = [number(c) for c in cells[1:]]
    oplab = {}
    for cells in table_rows(folder / oplab_file):
        # | layer | stock fwd | fast fwd | stock dgrad | stock wgrad | fast dgrad | fast wgrad | stock fwd+bwd | fast fwd+bwd | speed-up |
        # (tables of calls before the direct forward kernel have no "fast fwd" column)
        if len(cells) == 10 and cells[0] != "layer":
            oplab[cells[0]] = [number(c) for c in cells[2:9]]
        elif len(cells) == 9 and cells[0] != "layer":
            oplab[cells[0]] = [number(c) for c in cells[1:8]]
    names = [n for n in torch if n in oplab] + [n for n in oplab if n not in torch] + [n for n in torch if n not in oplab]
    if not names:
        return []
    out = [
        "| layer, batch 16 | PyTorch fwd / dgrad / wgrad / fwd+bwd | oplab fast fwd / fast dgrad / fast wgrad / fast fwd+bwd | fwd+bwd oplab / PyTorch |",
        "|---|---|---|---|",
    ]
    for n in names:
        t = torch.get(n)
        o = oplab.get(n)
        tcell = " / ".join(fmt(v, 3) for v in t) if t else "–"
        ocell = " / ".join(fmt(v, 3) for v in (o[0], o[3], o[4], o[6])) if o else "–"
        out.append(f"| {n} | {tcell} | {ocell} | {ratio(o[6] if o else None, t[3] if t else None)} |")
    return out


def passthrough(folder, name, title):
    path = folder / name
    if not path.is_file():
        return []
    body = []
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            # A section heading of gpu_bench becomes a bold caption (not a heading of RESULTS.md).
            body += ["", f"**{line[3:].strip()}**", ""]
        elif line.startswith("|"):
            body.append(line)
        elif line.startswith(("all within", "SOME ABOVE", "worst relative difference")):
            # A blank line first, or markdown would read the sentence as one more table row.
            body += ["", line]
    return [f"{title}"] + body if body else []


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=pathlib.Path, help="the device call's output folder (files_at)")
    p.add_argument("--results", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[1] / "RESULTS.md")
    p.add_argument("--dry-run", action="store_true", help="print the block instead of writing it")
    args = p.parse_args()
    if not args.folder.is_dir():
        print(f"update_results: folder {args.folder} does not exist", file=sys.stderr)
        return 2
    header = (args.folder / "call.txt").read_text().strip() if (args.folder / "call.txt").is_file() else "(no call.txt)"
    parts = [BEGIN, f"### GPU side by side, latest call (`side_by_side.sh`, merged by `bench/operators/update_results.py`)\n\n```\n{header}\n```\n"]
    for section in (steps_table(args.folder), layers_table(args.folder)):
        if section:
            parts += section + [""]
    parts += passthrough(args.folder, "oplab_breakdown.md", "Step breakdown (oplab, fast path; MgNO on `--device cuda-direct`, FNO on `--device cuda`):") + [""]
    parts += passthrough(args.folder, "oplab_breakdown_raw.md", "The same on burn's CUDA backend without its fusion layer (`--device cuda-raw`):") + [""]
    parts += passthrough(args.folder, "oplab_breakdown_fused_adam.md", "The same with the fused Adam step (`OPLAB_ADAM=fused`):") + [""]
    parts += passthrough(args.folder, "oplab_check.md", "Fast vs stock path on the GPU (gradients, MgNO loss curves, fused vs burn's Adam):") + [""]
    parts.append(END)
    block = "\n".join(parts)
    if len(parts) <= 4:
        print("update_results: no oplab or PyTorch tables found in the folder", file=sys.stderr)
        return 2
    if args.dry_run:
        print(block)
        return 0
    text = args.results.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    args.results.write_text(text)
    print(f"update_results: wrote the side-by-side block into {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
