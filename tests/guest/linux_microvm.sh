#!/usr/bin/env bash
# Debian's kernel on -M microvm (-accel tcg): virtio over virtio-mmio, the
# transports found through the ACPI DSDT alone (Debian's kernel is built
# without virtio_mmio.device=, which minivmm, as QEMU, gives only with
# acpi=off).  Two boots:
#   full: -smp 2, the default machine (PIC, PIT, RTC), virtio-rng-device
#     and the disk from -drive if=virtio (a virtio-blk-device on microvm)
#     with the defaults (packed rings, two queues);
#   minimal: pic=off,pit=off,rtc=off, -smp 1, split rings, the disk
#     through -device virtio-blk-device,drive=ID.
# Each runs tests/guest/virtio-check.init on an ext4 image made on the
# host; checked: the rng and the disk as in linux_virtio.sh (the guest
# reads every host file with the right checksum, what it wrote and synced
# is in the image per debugfs, e2fsck -fn is clean), the ring features
# the driver took, each transport on its own edge-triggered I/O APIC line,
# and minivmm's exit status 0 after the guest's poweroff.  When QEMU is
# installed the full boot runs under qemu-system-x86_64 -M microvm too,
# with the same kernel, initrd and checks, as the reference (see below).
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/virtio.bash"
. "$(dirname "$0")/common.bash"
linux_kit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
virtio_initrd "$work"

# boot NAME SMP QUEUES PACKED VMM ARGS...: one boot and its checks
boot() {
	local name=$1 smp=$2 queues=$3 packed=$4 vmm=$5 out=$work/$1.out
	shift 5
	local img=$work/$name.img ok=0
	echo "== $name: $vmm -smp $smp $*"
	virtio_disk_make "$img" || { echo "$name: cannot make the ext4 image"; status=1; return; }
	local args=()
	for a in "$@"; do args+=("${a//@IMG@/$img}"); done
	timeout -k 5 "$LINUX_TIMEOUT" "$vmm" -accel tcg -m 512M -smp "$smp" -nographic -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$work/initrd" -append "console=ttyS0 panic=-1" \
		"${args[@]}" </dev/null 2>&1 | tr -d '\r' >"$out"
	local rc=${PIPESTATUS[0]}
	if [ "$vmm" != "$MINIVMM" ] && ! grep -q '^MINIVMM-LINUX-UP' "$out"; then
		echo "$name: QEMU did not reach user space (exit status $rc; the kernel's last line: $(grep '^\[' "$out" | tail -n 1 | cut -c1-100)): no reference this time"
		return
	fi
	[ "$rc" = 0 ] || { echo "$name: exit status $rc, want 0"; ok=1; }
	virtio_report_check "$name" "$out" "$queues" || ok=1
	# negotiated features, bit n is character n: 28 indirect, 29 event
	# index, 32 VERSION_1, 34 packed
	local f dev
	for dev in 0x0004 0x0002; do
		f=$(sed -n "s/^VIRTIO-CHECK features $dev \\([01]*\\)\$/\\1/p" "$out" | head -n 1)
		[ "${f:28:1}${f:29:1}${f:32:1}${f:34:1}" = "111$packed" ] ||
			{ echo "$name: device $dev negotiated '$f' (want indirect, event index, VERSION_1, packed=$packed)"; ok=1; }
	done
	# one line per transport, and interrupts on both: edge triggered on
	# minivmm; QEMU 7.2 declares its lines level triggered (fasteoi)
	local lines trigger=edge
	[ "$vmm" = "$MINIVMM" ] || trigger=fasteoi
	lines=$(awk -v t="$trigger" '$0 ~ "^VIRTIO-CHECK irq .* IO-APIC +[0-9]+-" t " +virtio[01]$" {
		n = 0; for (i = 4; $i ~ /^[0-9]+$/; i++) n += $i; if (n > 0) c++ } END { print c + 0 }' "$out")
	[ "$lines" = 2 ] || { echo "$name: want two virtio lines ($trigger) that interrupted:"; grep '^VIRTIO-CHECK irq' "$out"; ok=1; }
	if [ "$vmm" = "$MINIVMM" ]; then
		! grep -q "Command line:.*virtio_mmio.device=" "$out" ||
			{ echo "$name: virtio_mmio.device= on the command line although the DSDT has the devices"; ok=1; }
		grep -q "^VIRTIO-CHECK irq .* 1[67]-edge" "$out" || { echo "$name: virtio not on GSI 16/17"; ok=1; }
	fi
	virtio_disk_check "$name" "$img" "$out" || ok=1
	if [ $ok = 0 ]; then
		echo "$name: ok ($(grep -c '^VIRTIO-CHECK wrote' "$out") files written and found, e2fsck clean)"
	else
		status=1
		echo "--- $name serial output (last 40 lines) ---"
		tail -n 40 "$out"
	fi
}

boot full 2 2 1 "$MINIVMM" -M microvm -device virtio-rng-device \
	-drive file=@IMG@,format=raw,if=virtio
boot minimal 1 1 0 "$MINIVMM" -M microvm,pic=off,pit=off,rtc=off \
	-device virtio-rng-device,packed=off -drive file=@IMG@,format=raw,if=none,id=d0 \
	-device virtio-blk-device,drive=d0,packed=off
# QEMU's microvm on TCG has no reliable clock to calibrate against (no
# PM timer, no kvmclock), and on a loaded machine its boot can stall
# before user space: a boot that never reaches the checks is reported and
# not held against minivmm; one that does must pass them all, or the test
# itself is wrong.  A healthy one takes under a minute; a stalled one is
# given up after 150 s.
if qemu_reference; then
	# QEMU offers no packed rings by default, virtio-blk-device there has
	# one queue, and its virtio-mmio is the legacy (version 1) interface
	# unless force-legacy is off; the rest is the same
	LINUX_TIMEOUT=${QEMU_MICROVM_TIMEOUT:-150} boot qemu 2 1 0 qemu-system-x86_64 -M microvm \
		-nodefaults -serial stdio -global virtio-mmio.force-legacy=false -device virtio-rng-device \
		-drive file=@IMG@,format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0
else
	echo "qemu: no reference run (not installed, or the sanitizer pass)"
fi
exit $status
