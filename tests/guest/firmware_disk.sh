#!/usr/bin/env bash
# firmware_disk: a disk image built here from Debian packages (MBR, FAT16,
# SYSLINUX; scripts/boot-disk.sh) holding the Linux kit boots with no
# -kernel: SeaBIOS reads it from virtio-blk, SYSLINUX loads the kernel and
# initramfs through the BIOS disk services, Linux prints the kit's marker
# and powers off (exit status 0).  Raw and qcow2.  Under QEMU, when
# installed, the same raw image prints the same firmware and boot loader
# lines and the same marker.
. "$(dirname "$0")/linux.bash"

if [ ! -f /usr/share/seabios/bios-256k.bin ]; then
	echo "skipped: /usr/share/seabios/bios-256k.bin is missing (package seabios)"
	exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
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
boot minivmm-raw "$WORK/raw.out" "$MINIVMM" -accel tcg -nographic -m 256 -no-reboot \
	-drive "file=$WORK/disk.img,format=raw,if=virtio" || status=1
qemu-img convert -f raw -O qcow2 "$WORK/disk.img" "$WORK/disk.qcow2"
boot minivmm-qcow2 "$WORK/qcow2.out" "$MINIVMM" -accel tcg -nographic -m 256 -no-reboot \
	-drive "file=$WORK/disk.qcow2,format=qcow2,if=virtio" || status=1
boot_lines "$WORK/raw.out" >"$WORK/raw.lines"
boot_lines "$WORK/qcow2.out" >"$WORK/qcow2.lines"
if ! grep -q 'SYSLINUX' "$WORK/raw.lines"; then
	echo "minivmm: FAILED: SYSLINUX did not print its banner"
	status=1
fi
if ! cmp -s "$WORK/raw.lines" "$WORK/qcow2.lines"; then
	echo "minivmm: FAILED: raw and qcow2 boots differ:"
	diff -u "$WORK/raw.lines" "$WORK/qcow2.lines" | head -n 20
	status=1
fi
if command -v qemu-system-x86_64 >/dev/null; then
	boot qemu "$WORK/qemu.out" qemu-system-x86_64 -accel tcg -nodefaults -vga none -nographic \
		-serial stdio -m 256 -no-reboot -drive "file=$WORK/disk.img,format=raw,if=virtio" ||
		status=1
	boot_lines "$WORK/qemu.out" >"$WORK/qemu.lines"
	if cmp -s "$WORK/qemu.lines" "$WORK/raw.lines"; then
		echo "qemu: the same $(wc -l <"$WORK/raw.lines") firmware, boot loader and marker lines"
	else
		echo "FAILED: QEMU and minivmm print different boot lines (--- qemu, +++ minivmm):"
		diff -u "$WORK/qemu.lines" "$WORK/raw.lines" | tail -n +3 | head -n 30
		status=1
	fi
fi
exit $status
