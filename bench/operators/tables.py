"""Reads the markdown tables that `gpu_bench` (operators/examples/gpu_bench.rs) and `torch_step.py`
print, for the operators entries (`bench_operators.py` on the CPU, `gpu_side_by_side.py` on a GPU)."""

import math
import re


def tables(text):
    """Every markdown table in `text`, as a list of rows, each a dict from header cell to cell."""
    found, header = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
            found.append([])
        elif not set(line) <= set("|-: "):
            found[-1].append(dict(zip(header, cells)))
    return found


def number(cell):
    """A cell as a float (a trailing × or unit-free text allowed); NaN when it is no number."""
    m = re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", (cell or "").strip())
    return float(m.group(0)) if m else math.nan


def model_key(name):
    name = name.lower()
    return "mgno" if name.startswith("mgno") else "fno" if name.startswith("fno") else name


def step_times(text, column):
    """Training-step times from a step table: {(model, grid side): ms} for the rows whose `column`
    ("fast ms", "tuned ms", "torch ms") holds a number."""
    out = {}
    for table in tables(text):
        for row in table:
            if "grid" in row and column in row and not math.isnan(number(row[column])):
                out[(model_key(row["model"]), int(number(row["grid"])))] = number(row[column])
    return out


def step_params(text):
    """Parameter counts of the step table's models: {model: params}."""
    out = {}
    for table in tables(text):
        for row in table:
            if "grid" in row and "params" in row:
                out[model_key(row["model"])] = int(number(row["params"].replace(",", "")))
    return out
