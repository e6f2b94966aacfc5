#!/usr/bin/env bash
# Install the Debian packages minivmm needs to build, test and fuzz.
# Idempotent; run as root (or with sudo available).
set -euo pipefail
pkgs=(build-essential binutils clang libclang-rt-14-dev cpio acpica-tools kmod
	liburing-dev libnbd-dev zlib1g-dev libzstd-dev libslirp-dev libglib2.0-dev libseccomp-dev
	pkg-config)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
