#!/usr/bin/env bash
# Build the Linux test kit from Debian's own packages: the cloud kernel
# (bzImage) and an initramfs around busybox-static whose /init mounts proc,
# sys and devtmpfs, prints a marker line, and then either powers off
# (minivmm.poweroff on the command line) or starts a shell on the console.
# The initramfs also holds the kernel's modules for virtio (PCI and MMIO
# transports, block, network, console, rng), IDE/ATAPI and ISO9660/FAT,
# which /init loads before the marker, as a distribution's early boot would.
# The result is cached outside the tree; the script prints the kit folder.
# A kit built by an older version of this script is built again.
#
#   scripts/linux-kit.sh            build once, print the folder
#   MINIVMM_KIT_DIR=DIR scripts/linux-kit.sh
set -euo pipefail

# bump when what the kit holds changes
KIT_VERSION=4
# modules /init loads; their dependencies come along
KIT_MODULES="virtio_pci virtio_mmio virtio_blk virtio_rng virtio_console virtio_net ata_piix sd_mod sr_mod isofs vfat"

kit=${MINIVMM_KIT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/minivmm/linux-kit}
if [ "$(cat "$kit/ready" 2>/dev/null)" = "$KIT_VERSION" ]; then
	echo "$kit"
	exit 0
fi

PATH=$PATH:/usr/sbin:/sbin
for tool in apt-get dpkg cpio gzip depmod modprobe; do
	command -v "$tool" >/dev/null || { echo "linux-kit: $tool is needed" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# the metapackage names the versioned image package it depends on
image_pkg() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(image_pkg)
if [ -z "$pkg" ]; then
	apt-get update >&2
	pkg=$(image_pkg)
fi
[ -n "$pkg" ] || { echo "linux-kit: cannot resolve linux-image-cloud-amd64" >&2; exit 1; }
apt-get download "$pkg" busybox-static >&2

dpkg -x linux-image-*.deb kernel
dpkg -x busybox-static_*.deb busybox

root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,etc,root,usr/bin,usr/sbin}
cp busybox/bin/busybox "$root/bin/busybox"
# busybox is static x86-64, so the host can ask it for its applet list
for applet in $("$root/bin/busybox" --list-full); do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
printf 'minivmm test file\n' >"$root/etc/testfile"

# the modules, with a modules.dep that busybox's modprobe reads
release=$(ls kernel/lib/modules)
depmod -b kernel "$release"
mods=$(for m in $KIT_MODULES; do modprobe -D -d kernel -S "$release" "$m"; done |
	awk '$1 == "insmod" { print $2 }' | sort -u)
for f in $mods; do
	rel=${f#"$work"/kernel/}
	mkdir -p "$root/$(dirname "$rel")"
	cp "$f" "$root/$rel"
done
cp kernel/lib/modules/"$release"/modules.builtin* "$root/lib/modules/$release/"
depmod -b "$root" "$release"
echo "$KIT_MODULES" >"$root/etc/modules"
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/modules); do modprobe "$m"; done
# console=hvc0: the console comes with virtio_console, after the kernel
# gave init its descriptors (or found no console to give)
if (: </dev/console) 2>/dev/null; then exec </dev/console >/dev/console 2>&1; fi
echo "MINIVMM-LINUX-UP cpus=$(grep -c ^processor /proc/cpuinfo)"
case " $(cat /proc/cmdline) " in
*" minivmm.poweroff "*) poweroff -f ;;
esac
exec setsid cttyhack /bin/sh
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >initramfs.cpio.gz

mkdir -p "$kit.tmp"
cp kernel/boot/vmlinuz-* "$kit.tmp/bzImage"
cp initramfs.cpio.gz "$kit.tmp/initramfs.cpio.gz"
echo "$pkg" >"$kit.tmp/kernel-package"
echo "$KIT_VERSION" >"$kit.tmp/ready"
rm -rf "$kit"
mv "$kit.tmp" "$kit"
echo "$kit"
