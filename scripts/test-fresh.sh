#!/usr/bin/env bash
# The clean-room test of the README (`make test-fresh`): the README's two commands, run exactly as
# written, in a minimal Debian 12 root that holds only the README's prerequisites, on a clean clone
# of this repository, from a cold build.
#
#   scripts/test-fresh.sh [--rev REV] [--keep]
#     --rev REV   test that commit instead of HEAD (e.g. to show that an old setup fails)
#     --keep      leave the root in place afterwards (for a look inside; it is large)
#
# The root: `debootstrap --variant=minbase bookworm` plus the README's prerequisites (make, git,
# ca-certificates, a Rust toolchain: the host's rustup toolchains, mounted read-only) plus
# libclang-cpp14, a look-alike of the libclang that bindgen needs, which common machine images
# ship and which once fooled the dependency check. Nothing else of the host is visible inside but
# /proc, /dev, /sys and its resolv.conf (for the package registries). Downloaded crates are copied
# in from the host's cargo cache to save network; no build output is ever shared, since a cached
# build-script result would hide exactly the bugs this test is for.
#
# Needs root (debootstrap, mount, chroot) and about $NEED_GIB GiB free under $OPLAB_FRESH_DIR (default
# /var/tmp; checked before anything is written). Everything is unmounted and removed on exit, also
# on failure; a root left by a run that was killed outright (SIGKILL skips the cleanup) is found by
# its owner file and removed by the next run.
set -euo pipefail

readonly PREREQUISITES=(make git ca-certificates)
readonly LOOKALIKES=(libclang-cpp14)
readonly README_COMMANDS=("make quickstart" "make test")
# The root at the end of a passing run: the Debian base, the cargo cache copy, the clone and its
# cold debug build of every test, plus the quickstart's data.
readonly NEED_GIB=20

repo=$(cd "$(dirname "$0")/.." && pwd)
rev=HEAD
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rev) rev=${2:?--rev needs a commit}; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "test-fresh.sh: unknown option '$1' (allowed: --rev REV, --keep)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "test-fresh.sh: needs root (debootstrap, mount, chroot); run it as root or with sudo" >&2
  exit 1
fi
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
if [ ! -d "$rustup_home/toolchains" ] || [ ! -x "$cargo_home/bin/cargo" ]; then
  echo "test-fresh.sh: no rustup toolchain at $rustup_home with proxies in $cargo_home/bin to lend the clean root" >&2
  exit 1
fi
command -v debootstrap >/dev/null 2>&1 || {
  echo "installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

base=${OPLAB_FRESH_DIR:-/var/tmp}

# Roots of earlier runs whose owner process is gone (killed with SIGKILL, or the machine rebooted):
# unmount and remove them, so that they cannot fill the disk run after run.
for stale in "$base"/oplab-fresh.*.owner; do
  [ -e "$stale" ] || continue
  old_root=${stale%.owner}
  owner=$(cat "$stale" 2>/dev/null || true)
  if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then continue; fi
  echo "test-fresh.sh: removing $old_root, left by a run (pid ${owner:-?}) that no longer exists" >&2
  awk -v r="$old_root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null || true; done
  if awk -v r="$old_root" '$2 == r || index($2, r "/") == 1 {found=1} END {exit !found}' /proc/mounts; then
    echo "test-fresh.sh: $old_root still has mounts; left in place" >&2
  else
    rm -rf --one-file-system "$old_root" && rm -f "$stale"
  fi
done

free_kib=$(df -Pk "$base" | awk 'NR == 2 {print $4}')
if [ "$free_kib" -lt $((NEED_GIB * 1024 * 1024)) ]; then
  echo "test-fresh.sh: $base has $((free_kib / 1024 / 1024)) GiB free; the clean root needs about $NEED_GIB GiB (free some, or set OPLAB_FRESH_DIR to a roomier place)" >&2
  exit 1
fi

root=$(mktemp -d "$base/oplab-fresh.XXXXXX")
echo $$ >"$root.owner"
mounts=()
cleanup() {
  local rc=$?
  # Unmount in reverse order; a recursive bind (dev, sys) goes with -R, lazily if busy.
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -R "${mounts[i]}" 2>/dev/null || umount -R -l "${mounts[i]}" 2>/dev/null || true
  done
  if [ "$keep" -eq 1 ]; then
    rm -f "$root.owner" # a kept root is the user's: later runs leave it alone
    echo "test-fresh.sh: root kept at $root" >&2
  elif ! grep -q " $root" /proc/mounts; then
    rm -rf --one-file-system "$root"
    rm -f "$root.owner"
  else
    echo "test-fresh.sh: $root still has mounts; not removing it" >&2
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n=== test-fresh [%s, +%ds]: %s\n' "$(date -u +%H:%M:%S)" "$SECONDS" "$*"; }

mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
step "debootstrap --variant=minbase bookworm into $root (mirror $mirror)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
  tail -20 "$root.debootstrap.log" >&2
  rm -f "$root.debootstrap.log"
  exit 1
}
rm -f "$root.debootstrap.log"

bind() { # bind SRC DST [ro]
  mkdir -p "$2"
  mount --rbind "$1" "$2"
  mount --make-rslave "$2"
  mounts+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}
mkdir -p "$root/proc" && mount -t proc proc "$root/proc" && mounts+=("$root/proc")
bind /dev "$root/dev"
bind /sys "$root/sys"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# The host's apt settings (a registry mirror, date checks) so the root reaches the same archive.
cp /etc/apt/apt.conf.d/99artifact-registry "$root/etc/apt/apt.conf.d/" 2>/dev/null || true
# The host's pip settings, with the CA bundle they trust, so pip in the root reaches the same
# registry (install-deps takes the Python client tests' modules from it).
if [ -f /etc/pip.conf ]; then
  mkdir -p "$root/etc/ssl"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/host-registry-ca.crt"
  sed 's#^cert *=.*#cert = /etc/ssl/host-registry-ca.crt#' /etc/pip.conf >"$root/etc/pip.conf"
fi
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources"
  rm -f "$root/etc/apt/sources.list"
fi

in_root() { chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"; }

step "the README's prerequisites (${PREREQUISITES[*]}, a Rust toolchain) and the look-alike ${LOOKALIKES[*]}"
in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${PREREQUISITES[*]} ${LOOKALIKES[*]} >/dev/null"
bind "$rustup_home" "$root/root/.rustup" ro
bind "$cargo_home/bin" "$root/root/.cargo/bin" ro
# Downloaded crates only (archives and the index), copied: the root writes its own extractions.
if [ -d "$cargo_home/registry/cache" ]; then
  mkdir -p "$root/root/.cargo/registry"
  cp -a "$cargo_home/registry/cache" "$cargo_home/registry/index" "$root/root/.cargo/registry/"
fi
in_root "cargo --version && rustc --version"

step "a clean clone of $repo at $rev"
git clone -q --no-local "$repo" "$root/root/oplab"
git -C "$root/root/oplab" checkout -q "$(git -C "$repo" rev-parse "$rev")"
git -C "$root/root/oplab" log --oneline -1

for cmd in "${README_COMMANDS[@]}"; do
  step "README: $cmd"
  if ! in_root "cd /root/oplab && $cmd"; then
    step "FAILED: '$cmd' in the clean root (rev $rev)"
    exit 1
  fi
done
step "the root holds $(du -sh --one-file-system "$root" 2>/dev/null | cut -f1) (the free-space check asks for $NEED_GIB GiB)"
step "passed: the README's two commands work on a fresh Debian 12 (rev $rev, ${SECONDS}s in all)"
