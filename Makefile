# oplab: two commands on a fresh Debian machine.
#   make quickstart   install missing system packages, build, generate a small dataset, inspect it
#   make test         install missing system packages, run the whole test suite
SHELL := /bin/bash
CARGO ?= cargo
OPLAB := $(or $(CARGO_TARGET_DIR),target)/release/oplab
QUICKSTART_DIR ?= quickstart

.PHONY: deps quickstart test test-hpc build cuda cuda-fixed clean-quickstart

deps:
	@./scripts/install-deps.sh

build: deps
	$(CARGO) build --release --features mpi

quickstart: build
	@mkdir -p $(QUICKSTART_DIR)
	$(OPLAB) generate grf --n 64 --resolution 64 --seed 0 --out $(QUICKSTART_DIR)/grf.h5 --force
	$(OPLAB) inspect $(QUICKSTART_DIR)/grf.h5

test: deps
	$(CARGO) test --workspace --features oplab/mpi

# Real-engine HPC tests: OpenMPI runs in `make test`; this adds a single-node Slurm cluster on
# loopback (root only; installs Debian's slurmctld/slurmd/munge if missing) running a 3-task array
# plus a dependent merge job.
test-hpc: deps
	@command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 || ./scripts/install-deps.sh --slurm
	@eval "$$(./scripts/slurm-local.sh start)" && \
	  $(CARGO) test --workspace --features oplab/mpi --test slurm -- --ignored; rc=$$?; ./scripts/slurm-local.sh stop; exit $$rc

# The CUDA build (no toolkit needed to build; NVRTC and the driver are needed at run time).
cuda: deps
	$(CARGO) build --release --features cuda

# The same without burn's kernel autotuner: burn's fixed default kernels, so the first step of every
# new shape compiles a handful of kernels instead of benchmarking candidates for minutes. Slower
# steady state for MgNO at 256² (180 vs 106 ms/step on an H200), but FNO and small grids start at
# once; measured in bench/RESULTS.md, "Operators".
cuda-fixed: deps
	$(CARGO) build --release --no-default-features --features cuda

clean-quickstart:
	rm -rf $(QUICKSTART_DIR)

# Benchmarks (bench/README.md): each family against its peer on the same problem and threads;
# every run appends its records to bench/records.jsonl, and bench/RESULTS.md is generated from them.
#   make bench                   the CPU suite at the quick size (about 15 min on 2 cores)
#   make bench BENCH_SIZE=full   the canonical sizes (an hour or more on 2 cores)
#   make bench-ode | bench-pde | bench-hpc | bench-alrnn | bench-operators   one family
#   make bench-report            regenerate bench/RESULTS.md from the records
.PHONY: bench bench-build bench-ode bench-pde bench-hpc bench-alrnn bench-operators bench-report
BENCH_SIZE ?= quick
BENCH_RUN = BENCH_SIZE=$(BENCH_SIZE) OPLAB_BIN=$(OPLAB) python3

bench: build
	@start=$$(date +%s); \
	for family in ode pde hpc alrnn operators; do \
	  $(MAKE) --no-print-directory bench-$$family BENCH_SKIP_BUILD=1 || exit $$?; \
	done; \
	python3 bench/report.py; \
	echo "make bench ($(BENCH_SIZE)): $$(( $$(date +%s) - start )) s"

# Families that run the oplab binary build it first, unless `make bench` already did.
bench-build:
	@[ -n "$(BENCH_SKIP_BUILD)" ] || $(MAKE) --no-print-directory build

bench-ode:
	$(BENCH_RUN) bench/ode/bench_ode.py

bench-pde:
	$(BENCH_RUN) bench/pde/bench_pde.py

bench-hpc: bench-build
	$(BENCH_RUN) bench/hpc/bench_hpc.py

bench-alrnn: bench-build
	$(BENCH_RUN) bench/alrnn/bench_alrnn.py

bench-operators: bench-build
	$(BENCH_RUN) bench/operators/bench_operators.py

bench-report:
	python3 bench/report.py
