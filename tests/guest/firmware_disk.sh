#!/usr/bin/env bash
# firmware_disk: a disk image built here from Debian packages (MBR, FAT16,
# SYSLINUX; scripts/boot-disk.sh) holding the Linux kit boots with no
# -kernel: SeaBIOS reads it, SYSLINUX loads the kernel and initramfs
# through the BIOS disk services, Linux prints the kit's marker and powers
# off (exit status 0).  From virtio-blk on qcow2 and from an IDE disk
# (-hda) on raw, where Linux's ata_piix drives the disk too; and an ISO9660
# CD image (ISOLINUX) with -cdrom -boot d.  Under QEMU, when installed, the
# same raw and CD images print the same firmware and boot loader lines
# and the same marker.
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/common.bash"

if [ ! -f /usr/share/seabios/bios-256k.bin ]; then
	echo "skipped: /usr/share/seabios/bios-256k.bin is missing (package seabios)"
	exit 77
fi
"$ROOT/scripts/boot-disk.sh" "$WORK/disk.img" || { echo "FAIL: cannot build the boot disk"; exit 1; }

# boot WHO OUT CMD...: run until the guest powers off; 0 when the marker
# came and the run ended with status 0
boot() {
	local who=$1 out=$2
	shift 2
	timeout -k 5 "$LINUX_TIMEOUT" "$@" </dev/null >"$out" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || ! grep -q "^$MARKER" "$out"; then
		echo "$who: FAILED: exit status $rc$([ $rc -eq 124 ] && echo ', timed out'), marker $(grep -c "^$MARKER" "$out") times; last lines:"
		tr -d '\r' <"$out" | tail -n 15 | sed 's/^/  /'
		return 1
	fi
	echo "$who: marker and power-off"
}

# What firmware and boot loader print up to the kernel's first line, and
# the marker: terminal escapes (SeaBIOS' serial console moves the cursor
# as it likes) and carriage returns dropped
boot_lines() {
	tr -d '\r' <"$1" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' |
		awk '/Probing EDD/ { sub(/Probing EDD.*/, "Probing EDD"); print; linux = 1; next }
		     !linux && NF { print } /^'"$MARKER"'/ { print }'
}

status=0
"$ROOT/scripts/boot-disk.sh" --iso "$WORK/cd.iso" || { echo "FAIL: cannot build the CD image"; exit 1; }
qemu-img convert -f raw -O qcow2 "$WORK/disk.img" "$WORK/disk.qcow2"
boot minivmm-virtio-qcow2 "$WORK/qcow2.out" "$MINIVMM" -accel tcg -nographic -m 256 -no-reboot \
	-drive "file=$WORK/disk.qcow2,format=qcow2,if=virtio" || status=1
boot minivmm-ide-raw "$WORK/ide.out" "$MINIVMM" -accel tcg -nographic -m 256 -no-reboot \
	-drive "file=$WORK/disk.img,format=raw,if=ide" || status=1
boot minivmm-cdrom "$WORK/cd.out" "$MINIVMM" -accel tcg -nographic -m 256 -no-reboot \
	-drive "file=$WORK/cd.iso,format=raw,media=cdrom,index=2" -boot d || status=1
for run in qcow2 ide cd; do
	boot_lines "$WORK/$run.out" >"$WORK/$run.lines"
done
if ! grep -q '^SYSLINUX' "$WORK/ide.lines" || ! grep -q '^ISOLINUX' "$WORK/cd.lines"; then
	echo "minivmm: FAILED: no SYSLINUX or ISOLINUX banner"
	status=1
fi
if ! cmp -s "$WORK/ide.lines" "$WORK/qcow2.lines"; then
	echo "minivmm: FAILED: IDE and virtio boots differ:"
	diff -u "$WORK/ide.lines" "$WORK/qcow2.lines" | head -n 20
	status=1
fi
# Linux found the IDE disk and the CD-ROM through ata_piix
if ! grep -q 'ata1.00: ATA-7: MINIVMM HARDDISK' "$WORK/ide.out" || ! grep -q ' sda: sda1' "$WORK/ide.out"; then
	echo "minivmm: FAILED: Linux did not find the IDE disk and its partition"
	status=1
fi
if ! grep -q 'ata2.00: ATAPI: MINIVMM DVD-ROM' "$WORK/cd.out" || ! grep -q 'sr 1:0:0:0: \[sr0\] scsi3-mmc drive' "$WORK/cd.out"; then
	echo "minivmm: FAILED: Linux did not find the CD-ROM"
	status=1
fi
# bootindex: of two virtio disks, SeaBIOS boots the one it names, not
# the first (an empty one here)
truncate -s 1M "$WORK/empty.img"
: >"$WORK/bootindex.out"
"$MINIVMM" -accel tcg -nographic -m 256 -no-reboot \
	-drive "file=$WORK/empty.img,format=raw,if=none,id=e" -device virtio-blk-pci,drive=e \
	-drive "file=$WORK/disk.img,format=raw,if=none,id=d" -device virtio-blk-pci,drive=d,bootindex=1 \
	</dev/null >"$WORK/bootindex.out" 2>&1 &
pid=$!
for _ in $(seq $((LINUX_TIMEOUT * 10))); do
	grep -q 'SYSLINUX' "$WORK/bootindex.out" && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
kill $pid 2>/dev/null
wait $pid 2>/dev/null
if grep -q 'SYSLINUX' "$WORK/bootindex.out"; then
	echo "minivmm: bootindex=1 on the second virtio disk boots it"
else
	echo "minivmm: FAILED: bootindex did not make SeaBIOS boot the second disk:"
	tr -d '\r' <"$WORK/bootindex.out" | tail -n 5 | sed 's/^/  /'
	status=1
fi
if qemu_reference; then
	boot qemu-ide "$WORK/qemu-ide.out" qemu-system-x86_64 -accel tcg -nodefaults -vga none \
		-nographic -serial stdio -m 256 -no-reboot -drive "file=$WORK/disk.img,format=raw,if=ide" ||
		status=1
	boot qemu-cdrom "$WORK/qemu-cd.out" qemu-system-x86_64 -accel tcg -nodefaults -vga none \
		-nographic -serial stdio -m 256 -no-reboot \
		-drive "file=$WORK/cd.iso,format=raw,media=cdrom,index=2" -boot d || status=1
	for run in ide cd; do
		boot_lines "$WORK/qemu-$run.out" >"$WORK/qemu-$run.lines"
		if cmp -s "$WORK/qemu-$run.lines" "$WORK/$run.lines"; then
			echo "qemu: $run: the same $(wc -l <"$WORK/$run.lines") firmware, boot loader and marker lines"
		else
			echo "FAILED: $run: QEMU and minivmm print different boot lines (--- qemu, +++ minivmm):"
			diff -u "$WORK/qemu-$run.lines" "$WORK/$run.lines" | tail -n +3 | head -n 30
			status=1
		fi
	done
fi
exit $status
