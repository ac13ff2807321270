# oplab: two commands on a fresh Debian machine.
#   make quickstart   install missing system packages, build, then a short tour: generate a small
#                     Darcy dataset, train MgNO on the CPU, evaluate it, run the quick theory report
#   make test         install missing system packages, run the whole test suite
# Other targets: make build | cuda | cuda-autotune | test-hpc | test-fresh | clean-quickstart
SHELL := /bin/bash
CARGO ?= cargo
OPLAB := $(or $(CARGO_TARGET_DIR),target)/release/oplab
QUICKSTART_DIR ?= quickstart

.PHONY: deps quickstart test test-hpc test-fresh build cuda cuda-autotune clean-quickstart

deps:
	@./scripts/install-deps.sh

build: deps
	$(CARGO) build --release --features mpi

# The shortest honest tour of what oplab is for; every step prints where its output went.
quickstart: build
	@mkdir -p $(QUICKSTART_DIR)
	$(OPLAB) generate darcy --n 240 --resolution 65 --seed 0 --out $(QUICKSTART_DIR)/darcy.h5
	$(OPLAB) inspect $(QUICKSTART_DIR)/darcy.h5
	$(OPLAB) train mgno --data $(QUICKSTART_DIR)/darcy.h5 --config scripts/quickstart-mgno.toml --out $(QUICKSTART_DIR)/mgno-run
	$(OPLAB) eval --run $(QUICKSTART_DIR)/mgno-run --data $(QUICKSTART_DIR)/darcy.h5
	$(OPLAB) validate --quick --out $(QUICKSTART_DIR)/report
	@echo
	@echo "quickstart done:"
	@echo "  dataset           $(QUICKSTART_DIR)/darcy.h5   (h5py reads it: see README)"
	@echo "  trained operator  $(QUICKSTART_DIR)/mgno-run/  (config.toml, metrics.jsonl, loss_curve.png, eval.json, eval_samples.png)"
	@echo "  theory report     $(QUICKSTART_DIR)/report/index.html"

# House rules first (formatting, lints as errors, API docs without warnings), then every test
# (`cargo test` also builds every program in examples/), the three fuzz targets for 30 s each
# (tests/fuzz; scripts/fuzz.sh runs them longer), the PROSE training tests that need burn's RNG to
# themselves (with the workspace's features, so no dependency is rebuilt for them: `-p oplab-operators`
# alone resolves other features and recompiled burn for 5 min on a cold build), then the examples fast
# enough to run.
test: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --features oplab/mpi -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace --features oplab/mpi
	$(CARGO) test --workspace --features oplab/mpi
	$(CARGO) test --workspace --features oplab/mpi --test fuzz -- --ignored --nocapture --test-threads=1 fuzz_
	$(CARGO) test --workspace --features oplab/mpi --lib -- --ignored --test-threads=1 prose::train::
	@$(MAKE) --no-print-directory examples

# The Rust programs in examples/ (the README lists them), in the test build (about 2 min in all on
# 2 cores). advani_saxe, icl_gd and darcy_mgno exit non-zero when their result contradicts what
# they demonstrate; lorenz_alrnn runs 30 of its 150 epochs here, the whole path end to end.
EXAMPLE = $(CARGO) run -q --features oplab/mpi --example
.PHONY: examples
examples:
	$(EXAMPLE) advani_saxe
	$(EXAMPLE) icl_gd
	$(EXAMPLE) darcy_mgno
	$(EXAMPLE) lorenz_alrnn -- 30

# Real-engine HPC tests: OpenMPI runs in `make test`; this adds a single-node Slurm cluster on
# loopback (root only; installs Debian's slurmctld/slurmd/munge if missing) running a 3-task array
# plus a dependent merge job.
test-hpc: deps
	@command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 || ./scripts/install-deps.sh --slurm
	@eval "$$(./scripts/slurm-local.sh start)" && \
	  $(CARGO) test --workspace --features oplab/mpi --test slurm -- --ignored; rc=$$?; ./scripts/slurm-local.sh stop; exit $$rc

# The CUDA build (no toolkit needed to build; NVRTC and the driver are needed at run time), with
# burn's fixed default kernels: oplab's own kernels carry the convolutions, and every model starts
# within seconds.
cuda: deps
	$(CARGO) build --release --features cuda

# The same with burn's kernel autotuner: it benchmarks candidate kernels for every new tensor shape
# before the first step that uses it, which stalled first steps for minutes on the GPUs measured
# (bench/RESULTS.md) and buys nothing measurable for oplab's models.
cuda-autotune: deps
	$(CARGO) build --release --features cuda,autotune

# The README's promise, proven: a minimal Debian 12 root (debootstrap), the README's prerequisites
# only, a clean clone of this repository, and the README's two commands, from a cold build.
test-fresh:
	./scripts/test-fresh.sh

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
