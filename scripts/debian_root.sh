#!/usr/bin/env bash
# A Debian system in a directory (debootstrap, cached), for building r1train without touching this
# machine's system: trixie for its libtorch 2.6 (check_libtorch2.sh, check_cuda_build.sh), bookworm
# for the GPU run kit's dry run (device_run.sh --dry-run). Runs as root (debootstrap, chroot, mount).
#
#   scripts/debian_root.sh ensure ROOT PACKAGE...   create ROOT if needed; install the missing packages
#   scripts/debian_root.sh run ROOT REPO COMMAND    run COMMAND (bash) in ROOT with REPO at /r1train,
#                                                   /proc and /dev mounted
# Env: R1_DEBIAN_SUITE (trixie), R1_DEBIAN_MIRROR.
set -euo pipefail

mirror=${R1_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${R1_DEBIAN_SUITE:-trixie}
action=$1 root=$2
shift 2

# A clean environment: the host's variables (proxies aside) mean nothing inside the root.
in_root() {
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive ${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} \
    chroot "$root" "$@"
}

case "$action" in
  ensure)
    if [ "$(id -u)" -ne 0 ]; then echo "debian_root: needs root (debootstrap, chroot)" >&2; exit 1; fi
    # What this machine must allow; without it the check cannot run here at all (exit 3), which
    # callers can tell apart from a build or test failure (any other non-zero exit).
    probe=$(mktemp -d)
    if ! mount --bind "$probe" "$probe" 2>/dev/null; then
      rmdir "$probe"
      echo "debian_root: this machine does not allow bind mounts (needed for the Debian root)" >&2
      exit 3
    fi
    umount "$probe" && rmdir "$probe"
    if [ ! -f "$root/.r1-base-ready" ]; then
      command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
      rm -rf "$root"
      mkdir -p "$root"
      echo "debian_root: debootstrap $suite into $root"
      if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1; then
        tail -5 "$root.log" >&2
        echo "debian_root: debootstrap from $mirror failed (no route to Debian's mirror?)" >&2
        exit 3
      fi
      rm -f "$root.log"
      echo "deb $mirror $suite main contrib non-free non-free-firmware" > "$root/etc/apt/sources.list"
      in_root apt-get update -qq
      touch "$root/.r1-base-ready"
    fi
    missing=()
    for p in "$@"; do
      in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
      echo "debian_root: installing ${missing[*]}"
      in_root apt-get update -qq
      in_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    ;;
  run)
    repo=$1 command=$2
    mkdir -p "$root/r1train"
    mounts=()
    cleanup() { for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[i]}" 2>/dev/null || true; done; }
    trap cleanup EXIT
    mount --bind "$repo" "$root/r1train" && mounts+=("$root/r1train")
    mount -t proc proc "$root/proc" && mounts+=("$root/proc")
    mount --bind /dev "$root/dev" && mounts+=("$root/dev")
    in_root bash -c "cd /r1train && $command"
    ;;
  *)
    echo "usage: debian_root.sh ensure ROOT PACKAGE... | run ROOT REPO COMMAND" >&2
    exit 2
    ;;
esac
