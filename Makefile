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
