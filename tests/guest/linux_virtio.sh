#!/usr/bin/env bash
# Debian's kernel on virtio-pci devices (-accel tcg), twice: with MSI-X,
# -smp 2 and the devices' defaults (packed rings, event index, indirect
# descriptors), then with pci=nomsi (INTx and ISR status) and split rings.
# Each boot checks, in the guest:
#   the features the driver took (sysfs): indirect, event index, VERSION_1,
#   and packed rings unless packed=off;
#   virtio-rng: /sys/class/misc/hw_random/rng_current is virtio_rng.0 and
#   /dev/hwrng gives 4 KiB, different on a second read;
#   the interrupts are the kind the boot asked for (/proc/interrupts).
. "$(dirname "$0")/linux.bash"
linux_kit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

# boot NAME SMP APPEND_EXTRA DEVICE_OPTS: one boot, its checks
boot() {
	local name=$1 smp=$2 extra=$3 devopts=$4 out=$work/$1.serial
	echo "== $name: -smp $smp, append '$extra', device options '$devopts'"
	linux_start "$out" "$MINIVMM" -accel tcg -m 512M -smp "$smp" -nographic -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 $extra" \
		-device "virtio-rng-pci$devopts"
	if ! linux_wait "$out" "^$MARKER cpus=" "$LINUX_TIMEOUT"; then
		status=1
		linux_finish 10
		tail -n 40 "$out"
		return
	fi
	linux_type 'echo "rng=$(cat /sys/class/misc/hw_random/rng_current)"'
	linux_type 'a=$(dd if=/dev/hwrng bs=512 count=8 2>/dev/null | md5sum); b=$(dd if=/dev/hwrng bs=512 count=8 2>/dev/null | md5sum)'
	linux_type 'echo "hwrng-bytes=$(dd if=/dev/hwrng bs=512 count=8 2>/dev/null | wc -c) differ=$([ "$a" != "$b" ] && echo yes)"'
	linux_type 'for d in /sys/bus/virtio/devices/*; do echo "features $(cat $d/device) $(cat $d/features)"; done'
	linux_type 'grep virtio /proc/interrupts | sed "s/^/irq: /"; echo irqs-listed'
	linux_wait "$out" '^irqs-listed' 300 || status=1
	linux_type 'poweroff -f'
	linux_finish 120 || { echo "$name: minivmm did not end after poweroff"; status=1; }
	tr -d '\r' <"$out" >"$out.txt"
	local ok=1
	grep -q '^rng=virtio_rng.0$' "$out.txt" || { echo "$name: rng_current is not virtio_rng.0"; ok=0; }
	grep -q '^hwrng-bytes=4096 differ=yes$' "$out.txt" ||
		{ echo "$name: /dev/hwrng did not give 4096 fresh bytes: $(grep '^hwrng-bytes' "$out.txt")"; ok=0; }
	# negotiated features, bit n is character n: 28 indirect, 29 event
	# index, 32 VERSION_1, 34 packed
	local f want=1
	f=$(sed -n 's/^features 0x0004 \([01]*\)$/\1/p' "$out.txt" | head -n 1)
	[[ $devopts == *packed=off* ]] && want=0
	if [ "${f:28:1}${f:29:1}${f:32:1}${f:34:1}" != "111$want" ]; then
		echo "$name: virtio-rng negotiated '${f}' (want indirect, event index, VERSION_1, packed=$want)"
		ok=0
	fi
	if [[ $extra == *pci=nomsi* ]]; then
		grep -q '^irq: .*IO-APIC.*virtio0' "$out.txt" || { echo "$name: virtio0 is not on an IO-APIC line"; ok=0; }
		grep -q '^irq: .*MSI' "$out.txt" && { echo "$name: MSI in use despite pci=nomsi"; ok=0; }
	else
		grep -q '^irq: .*PCI-MSI.*virtio0-input' "$out.txt" || { echo "$name: no MSI-X vector for virtio0-input"; ok=0; }
	fi
	[ "${VM_STATUS:-}" = 0 ] || { echo "$name: exit status ${VM_STATUS:-?}, want 0"; ok=0; }
	grep -E 'needs a reset|BUG:|Oops' "$out.txt" && ok=0
	if [ $ok = 1 ]; then
		echo "$name: ok ($(grep -c '^irq: ' "$out.txt") virtio interrupt lines)"
	else
		status=1
		echo "--- $name serial output (last 40 lines) ---"
		tail -n 40 "$out.txt"
	fi
}

boot msix-packed 2 "" ""
boot intx-split 1 "pci=nomsi" ",packed=off"
exit $status
