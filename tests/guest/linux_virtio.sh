#!/usr/bin/env bash
# Debian's kernel on virtio-pci devices (-accel tcg), twice: with MSI-X,
# -smp 2 and the devices' defaults (packed rings, event index, indirect
# descriptors), then with pci=nomsi (INTx and ISR status) and split rings.
# The guest runs tests/guest/virtio-check.init as its /init, which reports
# on the serial port; this script checks, for each boot:
#   the features the driver took (sysfs): indirect, event index, VERSION_1,
#   and packed rings unless packed=off;
#   virtio-rng: rng_current is virtio_rng.0, /dev/hwrng gives 4 KiB, fresh
#   on each read;
#   the interrupts are the kind the boot asked for (/proc/interrupts);
#   minivmm exits 0 after the guest's poweroff, with no device failure.
. "$(dirname "$0")/linux.bash"
linux_kit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

# the kit's initramfs with virtio-check.init as /init
mkdir -p "$work/overlay"
cp "$ROOT/tests/guest/virtio-check.init" "$work/overlay/init"
chmod +x "$work/overlay/init"
(cd "$work/overlay" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/overlay.cpio.gz"
cat "$KIT/initramfs.cpio.gz" "$work/overlay.cpio.gz" >"$work/initrd"

# boot NAME SMP APPEND_EXTRA RING_OPTS: one boot and its checks
boot() {
	local name=$1 smp=$2 extra=$3 ringopts=$4 out=$work/$1.out
	echo "== $name: -smp $smp, append '$extra', ring options '$ringopts'"
	timeout -k 5 "$LINUX_TIMEOUT" "$MINIVMM" -accel tcg -m 512M -smp "$smp" -nographic -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$work/initrd" -append "console=ttyS0 panic=-1 $extra" \
		-device "virtio-rng-pci$ringopts" </dev/null 2>&1 | tr -d '\r' >"$out"
	local rc=${PIPESTATUS[0]} ok=1
	fail() {
		echo "$name: $*"
		ok=0
	}
	[ "$rc" = 0 ] || fail "exit status $rc, want 0"
	grep -q '^VIRTIO-CHECK END$' "$out" || fail "the guest's checks did not finish"
	grep -q '^VIRTIO-CHECK rng-current virtio_rng.0$' "$out" || fail "rng_current is not virtio_rng.0"
	grep -q '^VIRTIO-CHECK rng-bytes 4096 differ$' "$out" ||
		fail "/dev/hwrng: $(grep '^VIRTIO-CHECK rng-bytes' "$out" || echo 'no answer')"
	# negotiated features, bit n is character n: 28 indirect, 29 event
	# index, 32 VERSION_1, 34 packed
	local f want=1
	f=$(sed -n 's/^VIRTIO-CHECK features 0x0004 \([01]*\)$/\1/p' "$out" | head -n 1)
	[[ $ringopts == *packed=off* ]] && want=0
	[ "${f:28:1}${f:29:1}${f:32:1}${f:34:1}" = "111$want" ] ||
		fail "virtio-rng negotiated '$f' (want indirect, event index, VERSION_1, packed=$want)"
	if [[ $extra == *pci=nomsi* ]]; then
		grep -q '^VIRTIO-CHECK irq .*IO-APIC.*fasteoi.*virtio' "$out" || fail "no virtio device on a level-triggered IO-APIC line"
		! grep -q '^VIRTIO-CHECK irq .*MSI' "$out" || fail "MSI in use despite pci=nomsi"
	else
		grep -q '^VIRTIO-CHECK irq .*PCI-MSI.*virtio0-input' "$out" || fail "no MSI-X vector for virtio0-input"
	fi
	! grep -E 'needs a reset|BUG:|Oops|Call Trace' "$out" || fail "a device failed or the guest oopsed"
	if [ $ok = 1 ]; then
		echo "$name: ok"
	else
		status=1
		echo "--- $name serial output (last 40 lines) ---"
		tail -n 40 "$out"
	fi
}

boot msix-packed 2 "" ""
boot intx-split 1 "pci=nomsi" ",packed=off"
exit $status
