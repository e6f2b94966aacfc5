#!/usr/bin/env bash
# -kernel with -bios, the way QEMU does it (-accel tcg, -M pc): SeaBIOS
# boots and QEMU's option ROM linuxboot_dma.bin (Debian's qemu-system-data)
# loads Debian's kernel, the initramfs and the command line from fw_cfg and
# runs the kernel's real-mode setup.  The guest reaches the kit's marker,
# runs a command and powers off with exit status 0.  When QEMU is
# installed the same command line under qemu-system-x86_64 is the
# reference; a QEMU run that does not reach user space (its TCG under
# load) is reported, not held against minivmm.  The same on -M microvm
# through qboot (QEMU's bios-microvm.bin, which loads the kernel from
# fw_cfg itself), beside QEMU's microvm.  Then hostile input: a
# truncated bzImage and an initrd larger than RAM, each one clear error.
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/common.bash"
linux_kit
BIOS=/usr/share/seabios/bios-256k.bin
ROM=/usr/share/qemu/linuxboot_dma.bin
[ -r "$BIOS" ] && [ -r "$ROM" ] || { echo "skipped: no $BIOS or $ROM"; exit 77; }
work=$WORK
status=0

# boot NAME VMM: one boot to the marker and poweroff
# boot NAME VMM [ARGS...]: BIOS and machine in ARGS, SeaBIOS on pc if none
boot() {
	local name=$1 vmm=$2 out=$work/$1.out
	shift 2
	local fw=("$@")
	[ ${#fw[@]} -gt 0 ] || fw=(-bios "$BIOS")
	linux_start "$out" "$vmm" -accel tcg -m 512M -nographic -no-reboot "${fw[@]}" \
		-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "console=ttyS0 panic=-1"
	# QEMU's own microvm through qboot sometimes stops at TSC calibration
	# under TCG: a reference boot takes seconds, a stalled one is given up
	# after 150 s (it is then reported, below, not held against minivmm)
	local limit=$LINUX_TIMEOUT reached=0
	[ "$vmm" = "$MINIVMM" ] || limit=${QEMU_REFERENCE_TIMEOUT:-150}
	if linux_wait "$out" "^$MARKER cpus=" "$limit"; then
		reached=1
		linux_type 'echo "fwboot=$(cat /proc/cmdline)"'
		linux_wait "$out" '^fwboot=' 120
		linux_type 'poweroff -f'
	fi
	linux_finish 120
	if [ "$vmm" != "$MINIVMM" ] && [ $reached = 0 ]; then
		echo "$name: QEMU did not reach user space in $limit s (the kernel's last line: $(grep -a '^\[' "$out" | tail -n 1 | cut -c1-100)): no reference this time"
		return
	fi
	local ok=0
	grep -q "^$MARKER cpus=1" "$out" || { echo "$name: no marker line"; ok=1; }
	grep -q '^fwboot=console=ttyS0 panic=-1' "$out" || { echo "$name: the command line did not arrive"; ok=1; }
	[ "${VM_STATUS:-}" = 0 ] || { echo "$name: exit status ${VM_STATUS:-?}, want 0"; ok=1; }
	if [ $ok = 0 ]; then
		echo "$name: ok (booted through the BIOS to user space, powered off)"
	else
		status=1
		echo "--- $name serial output (last 40 lines) ---"
		tail -n 40 "$out"
	fi
}

boot minivmm "$MINIVMM"
if qemu_reference; then
	boot qemu qemu-system-x86_64
fi
# -M microvm through qboot, as QEMU's microvm boots by default
QBOOT=/usr/share/qemu/bios-microvm.bin
if [ -r "$QBOOT" ]; then
	boot minivmm-microvm-qboot "$MINIVMM" -M microvm -bios "$QBOOT"
	if qemu_reference; then
		boot qemu-microvm-qboot qemu-system-x86_64 -M microvm -bios "$QBOOT"
	fi
else
	echo "microvm through qboot: skipped: no $QBOOT (package qemu-system-data)"
fi

# expect_error NAME PATTERN ARGS...: minivmm refuses with one clear line
expect_error() {
	linux_expect_refusal "$1" "$2" -bios "$BIOS" "${@:3}" || status=1
}
head -c 4096 "$KIT/bzImage" >"$work/truncated"
expect_error truncated "file ends" -m 256M -kernel "$work/truncated"
head -c $((80 << 20)) /dev/zero >"$work/big.initrd"
expect_error big-initrd "initrd.*larger than guest RAM" -m 64M -kernel "$KIT/bzImage" -initrd "$work/big.initrd"
expect_error tiny-ram "larger than guest RAM" -m 8M -kernel "$KIT/bzImage"
exit $status
