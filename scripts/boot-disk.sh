#!/usr/bin/env bash
# boot-disk.sh [--iso] DISK [APPEND]: a raw disk image that a PC BIOS boots into the
# Linux kit (scripts/linux-kit.sh), made of Debian's packages only: an MBR
# (syslinux's mbr.bin) with one active FAT16 partition from 1 MiB holding
# SYSLINUX, the kit's bzImage and initramfs and a syslinux.cfg that boots
# them with the serial console and APPEND (default: power off after the
# marker).  No root, loop devices or mounts: mkfs.fat, mtools and
# syslinux work on the partition as a file.  With --iso, an ISO9660 CD
# image instead (El Torito, no emulation, ISOLINUX; made by xorriso).
# Prints nothing on success.
set -euo pipefail
iso=false
if [ "${1:-}" = --iso ]; then
	iso=true
	shift
fi
disk=$1
append=${2:-console=ttyS0 panic=-1 minivmm.poweroff}
tools="mkfs.fat mcopy syslinux"
$iso && tools=xorriso
for tool in $tools; do
	command -v "$tool" >/dev/null || {
		echo "boot-disk: $tool is missing (scripts/setup-deps.sh installs it)" >&2
		exit 1
	}
done
MBR=/usr/lib/syslinux/mbr/mbr.bin
KIT=$("$(dirname "$0")/linux-kit.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

part_mib=48
cat >"$work/syslinux.cfg" <<CFG
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /bzImage
  INITRD /initrd.gz
  APPEND $append
CFG
if $iso; then
	mkdir -p "$work/cd/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
		"$work/cd/isolinux/"
	cp "$work/syslinux.cfg" "$work/cd/isolinux/isolinux.cfg"
	cp "$KIT/bzImage" "$work/cd/bzImage"
	cp "$KIT/initramfs.cpio.gz" "$work/cd/initrd.gz"
	rm -f "$disk"
	xorriso -as mkisofs -quiet -o "$disk" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table -V MINIVMM "$work/cd" 2>/dev/null
	exit 0
fi
truncate -s ${part_mib}M "$work/part.img"
mkfs.fat -F 16 -n MINIVMM "$work/part.img" >/dev/null
mcopy -i "$work/part.img" "$KIT/bzImage" ::/bzImage
mcopy -i "$work/part.img" "$KIT/initramfs.cpio.gz" ::/initrd.gz
mcopy -i "$work/part.img" "$work/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$work/part.img"

rm -f "$disk"
truncate -s $((part_mib + 1))M "$disk"
dd if="$MBR" of="$disk" bs=440 count=1 conv=notrunc status=none
# the partition table: one active FAT16 (LBA) partition, sectors 2048 on;
# CHS of the start for 255 heads and 63 sectors, the end beyond CHS
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
	$(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
printf "\x80\x20\x21\x00\x0e\xfe\xff\xff$(le32 2048)$(le32 $((part_mib * 2048)))" |
	dd of="$disk" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$disk" bs=1 seek=510 conv=notrunc status=none
dd if="$work/part.img" of="$disk" bs=1M seek=1 conv=notrunc status=none
