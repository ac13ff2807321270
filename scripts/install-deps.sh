#!/usr/bin/env bash
# Install the system packages oplab needs to build and test, if they are missing.
#   scripts/install-deps.sh           what `make build` and `make test` need
#   scripts/install-deps.sh --slurm   also the single-node Slurm test cluster (make test-hpc)
#   scripts/install-deps.sh --check   report what is missing and exit 1 if anything is; install nothing
# As root: installs with apt-get. With passwordless sudo: uses sudo. Otherwise prints the exact
# command to run and exits 1.
#
# A package counts as present when dpkg says it is installed, or, off Debian's packages (a cluster's
# `module load`, a hand-built library), when the exact file or command the build uses is there. The
# file checks are deliberately narrow: `libclang-cpp.so` (shipped by many images) is not the
# `libclang.so` that bindgen loads, and a loose glob once took one for the other.
set -euo pipefail

slurm=0
check_only=0
for arg in "$@"; do
  case "$arg" in
    --slurm) slurm=1 ;;
    --check) check_only=1 ;;
    *) echo "install-deps.sh: unknown option '$arg' (allowed: --slurm, --check)" >&2; exit 2 ;;
  esac
done

dpkg_installed() {
  command -v dpkg-query >/dev/null 2>&1 &&
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# The shared library bindgen (clang-sys) loads: libclang.so, libclang.so.N or libclang-N.so*.
libclang_file_present() {
  local dirs=()
  [ -n "${LIBCLANG_PATH:-}" ] && dirs+=("$LIBCLANG_PATH")
  dirs+=(/usr/lib/llvm-*/lib /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib)
  local d f
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    for f in "$d"/libclang.so "$d"/libclang.so.[0-9]* "$d"/libclang-[0-9]*.so*; do
      [ -e "$f" ] && return 0
    done
  done
  return 1
}

# The Python client tests read our files with h5py, xarray (h5netcdf engine) and safetensors.
readonly PY_MODULES=(h5py numpy xarray h5netcdf safetensors)
python_has_test_modules() {
  command -v python3 >/dev/null 2>&1 && python3 -c "import $(IFS=,; echo "${PY_MODULES[*]}")" >/dev/null 2>&1
}

# present PKG: is Debian package PKG, or what the build takes from it, on this machine?
present() {
  dpkg_installed "$1" && return 0
  case "$1" in
    libhdf5-dev) pkg-config --exists hdf5 2>/dev/null ;;
    pkg-config) command -v pkg-config >/dev/null 2>&1 ;;
    gcc) command -v cc >/dev/null 2>&1 ;;
    python3) command -v python3 >/dev/null 2>&1 ;;
    python3-pip) command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 ;;
    openmpi-bin) command -v mpirun >/dev/null 2>&1 ;;
    libopenmpi-dev) pkg-config --exists ompi 2>/dev/null ;;
    libclang-dev) libclang_file_present ;;
    slurmctld) command -v slurmctld >/dev/null 2>&1 ;;
    slurmd) command -v slurmd >/dev/null 2>&1 ;;
    slurm-client) command -v sbatch >/dev/null 2>&1 ;;
    munge) command -v munged >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

# Build: HDF5 through pkg-config, a C compiler for the -sys crates. MPI generation
# (`--features mpi`, part of `make build` and `make test`): OpenMPI to build and run, libclang for
# rsmpi's bindgen. Tests: python3 with the modules of PY_MODULES for the Python client tests.
managed=(libhdf5-dev pkg-config gcc python3 openmpi-bin libopenmpi-dev libclang-dev)
[ "$slurm" -eq 1 ] && managed+=(slurmctld slurmd slurm-client munge)

missing() {
  local p out=()
  for p in "${managed[@]}"; do present "$p" || out+=("$p"); done
  python_has_test_modules || out+=(python-modules)
  echo "${out[*]:-}"
}

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

read -r -a need <<<"$(missing)"
if [ "$check_only" -eq 1 ]; then
  if [ ${#need[@]} -gt 0 ]; then echo "missing: ${need[*]}" >&2; exit 1; fi
  echo "all system packages present" >&2
  exit 0
fi

if [ ${#need[@]} -gt 0 ]; then
  apt_pkgs=()
  for p in "${need[@]}"; do [ "$p" != python-modules ] && apt_pkgs+=("$p"); done
  if [ ${#apt_pkgs[@]} -gt 0 ]; then
    echo "installing system packages: ${apt_pkgs[*]}" >&2
    apt_install "${apt_pkgs[@]}"
  fi
  # Prefer the interpreter's own pip (works in venvs and pyenv).
  # Debian's python3-xarray predates open_datatree and there is no python3-safetensors, so the
  # fallback for a system interpreter without pip (PEP 668) is Debian's pip installing the whole
  # set, consistent with itself, into the user site rather than the system's.
  if ! python_has_test_modules; then
    echo "installing ${PY_MODULES[*]} for the Python client tests" >&2
    python3 -m pip install --quiet --disable-pip-version-check "${PY_MODULES[@]}" 2>/dev/null || {
      apt_install python3-pip &&
        python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages "${PY_MODULES[@]}"
    }
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "oplab needs a Rust toolchain (cargo, Rust >= 1.92): see https://rustup.rs" >&2
  exit 1
fi

# Check again: an install that exited 0 but left something out must stop here, not in a build
# script twenty minutes later.
read -r -a still <<<"$(missing)"
if [ ${#still[@]} -gt 0 ]; then
  echo "install-deps.sh: still missing after installing: ${still[*]}" >&2
  exit 1
fi
