#!/usr/bin/env bash
# Install the system packages oplab needs to build and test, if they are missing.
# As root: installs with apt-get. With passwordless sudo: uses sudo. Otherwise prints the exact
# command to run and exits 1.
set -euo pipefail

need_apt=()
pkg-config --exists hdf5 2>/dev/null || need_apt+=(libhdf5-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-h5py python3-numpy)
# MPI generation (`--features mpi`): OpenMPI to build and run, libclang for rsmpi's bindgen.
command -v mpirun >/dev/null 2>&1 || need_apt+=(openmpi-bin)
pkg-config --exists ompi 2>/dev/null || need_apt+=(libopenmpi-dev)
compgen -G "/usr/lib/llvm-*/lib/libclang*.so*" >/dev/null || need_apt+=(libclang-dev)
# `--slurm`: the packages of the single-node Slurm test cluster (make test-hpc).
if [ "${1:-}" = "--slurm" ]; then
  command -v slurmctld >/dev/null 2>&1 || need_apt+=(slurmctld)
  command -v slurmd >/dev/null 2>&1 || need_apt+=(slurmd)
  command -v sbatch >/dev/null 2>&1 || need_apt+=(slurm-client)
  command -v munged >/dev/null 2>&1 || need_apt+=(munge)
fi

apt_install() {
  local cmd=(apt-get install -y --no-install-recommends "$@")
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${cmd[@]}"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive "${cmd[@]}"
  else
    echo "oplab needs these system packages: $*" >&2
    echo "install them with:  sudo apt-get update && sudo ${cmd[*]}" >&2
    exit 1
  fi
}

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing system packages: ${need_apt[*]}" >&2
  apt_install "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "oplab needs a Rust toolchain (cargo, Rust >= 1.92): see https://rustup.rs" >&2
  exit 1
fi

# The h5py client test reads our files from Python. Prefer pip (works in venvs and pyenv);
# fall back to Debian's package for the system interpreter (PEP 668 blocks pip there).
if ! python3 -c 'import h5py, numpy' >/dev/null 2>&1; then
  echo "installing h5py for the Python client test" >&2
  python3 -m pip install --quiet --disable-pip-version-check h5py numpy 2>/dev/null || apt_install python3-h5py python3-numpy
fi
