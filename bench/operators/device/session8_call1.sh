#!/bin/bash
# Session 8, call 1: the tiled kernel's register prefetch A/B (prefetch_ab.sh), then cubecl's own
# per-kernel profile of one MgNO 256² step on `--device cuda-direct` (the backend MgNO trains on since
# session 7; session 6 profiled only the fusion backend), without and with the prefetch. The profile
# times each kernel alone with a sync (about 15 µs per launch on top), so its totals exceed the step.
# Run from a folder holding a fixed-kernel `gpu_bench` (see side_by_side.sh).
set -u
cd "$(dirname "$0")"
t0=$(date +%s)
part() { echo "## $1 (t=$(( $(date +%s)-t0 )) s)"; }
bash prefetch_ab.sh > /dev/null 2>&1
for pf in 0 1; do
  part "cubecl profile, MgNO 256², prefetch=$pf" >> $OUT/prefetch.md
  OPLAB_TILED_PREFETCH=$pf CUBECL_DEBUG_LOG=$OUT/cubecl_mgno_256_pf$pf.log CUBECL_DEBUG_OPTION=profile timeout 90 \
    ./gpu_bench --device cuda-direct --only steps --paths fast --models mgno --sizes 256 --warmup 1 --reps 3 > $OUT/oplab_mgno_256_pf$pf.log 2>&1
done
python3 - "$OUT" > $OUT/profile.md <<'PY'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
for log in sorted(out.glob("oplab_*.log")):
    print(f"## {log.name}\n\n{log.read_text(errors='replace')[-3000:]}\n")
for log in sorted(out.glob("cubecl_*.log")):
    txt = log.read_text(encoding="utf-8", errors="replace")
    blocks = re.findall(r"\| Name\s+\| Duration.*?\| Total[^\n]*", txt, re.S)
    print(f"## {log.name}\n")
    print(blocks[-1] if blocks else txt[:4000])
    print()
PY
rm -f $OUT/cubecl_*.log $OUT/oplab_*.log
part "done" >> $OUT/prefetch.md
cat $OUT/prefetch.md
