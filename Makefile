# oplab: two commands on a fresh Debian machine.
#   make quickstart   install missing system packages, build, generate a small dataset, inspect it
#   make test         install missing system packages, run the whole test suite
SHELL := /bin/bash
CARGO ?= cargo
OPLAB := $(or $(CARGO_TARGET_DIR),target)/release/oplab
QUICKSTART_DIR ?= quickstart

.PHONY: deps quickstart test build cuda clean-quickstart

deps:
	@./scripts/install-deps.sh

build: deps
	$(CARGO) build --release

quickstart: build
	@mkdir -p $(QUICKSTART_DIR)
	$(OPLAB) generate grf --n 64 --resolution 64 --seed 0 --out $(QUICKSTART_DIR)/grf.h5 --force
	$(OPLAB) inspect $(QUICKSTART_DIR)/grf.h5

test: deps
	$(CARGO) test --workspace

# The CUDA build (no toolkit needed to build; NVRTC and the driver are needed at run time).
cuda: deps
	$(CARGO) build --release --features cuda

clean-quickstart:
	rm -rf $(QUICKSTART_DIR)
