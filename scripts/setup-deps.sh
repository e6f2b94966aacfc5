#!/usr/bin/env bash
# Install the Debian packages minivmm needs to build, test and fuzz, and
# the test peers: QEMU (the reference the guest tests compare with, and
# the host of the nested-KVM test) with its firmware and tools, and what
# the Linux and nested-KVM kits are unpacked with (xz, zstd), and what the
# network tests drive the host side with (ip, ping, curl, python3).
# Idempotent; run as root (or with sudo available).
set -euo pipefail
pkgs=(build-essential binutils clang libclang-rt-14-dev cpio acpica-tools kmod pkg-config
	liburing-dev libnbd-dev zlib1g-dev libzstd-dev libslirp-dev libglib2.0-dev libseccomp-dev
	qemu-system-x86 qemu-system-common qemu-utils seabios ipxe-qemu e2fsprogs xz-utils zstd
	iproute2 iputils-ping curl python3
	syslinux syslinux-common isolinux mtools dosfstools xorriso)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
