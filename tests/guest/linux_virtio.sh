#!/usr/bin/env bash
# Debian's kernel on virtio-pci devices (-accel tcg), twice:
#   msix-packed: MSI-X, -smp 2, the devices' defaults (packed rings, event
#     index, indirect descriptors); the disk from -drive if=virtio (so two
#     queues, one per vCPU);
#   intx-split: pci=nomsi (INTx and ISR status), -smp 1, split rings, the
#     disk through -device virtio-blk-pci,drive=ID with discard=unmap, and
#     a second, read-only disk.
# Each boot has virtio-rng-pci and an ext4 image made on the host with
# mkfs.ext4 -d.  The guest runs tests/guest/virtio-check.init as /init,
# which reports on the serial port; checked here:
#   the features the driver took (sysfs): indirect, event index, VERSION_1,
#   and packed rings unless packed=off;
#   virtio-rng: rng_current is virtio_rng.0, /dev/hwrng gives 4 KiB, fresh
#   on each read;
#   virtio-blk: size, queues and serial as configured; every host file
#   read back with the host's checksum; what the guest wrote and synced is
#   in the image with the checksums the guest saw (debugfs), a deleted
#   file is gone, e2fsck -fn finds nothing; fstrim works; the read-only
#   disk reads as the image and refuses a write;
#   the interrupts are the kind the boot asked for (/proc/interrupts);
#   minivmm exits 0 after the guest's poweroff, with no device failure.
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/virtio.bash"
linux_kit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

virtio_initrd "$work"

# boot NAME SMP APPEND_EXTRA RING_OPTS QUEUES SERIAL ARGS...: one boot and its checks
boot() {
	local name=$1 smp=$2 extra=$3 ringopts=$4 queues=$5 serial=$6 out=$work/$1.out
	shift 6
	local img=$work/$name.img
	echo "== $name: -smp $smp, append '$extra', ring options '$ringopts'"
	virtio_disk_make "$img" || { echo "$name: cannot make the ext4 image"; status=1; return; }
	local args=()
	for a in "$@"; do args+=("${a//@IMG@/$img}"); done
	timeout -k 5 "$LINUX_TIMEOUT" "$MINIVMM" -accel tcg -m 512M -smp "$smp" -nographic -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$work/initrd" -append "console=ttyS0 panic=-1 $extra" \
		-device "virtio-rng-pci$ringopts" "${args[@]}" </dev/null 2>&1 | tr -d '\r' >"$out"
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
	local f want=1 dev
	[[ $ringopts == *packed=off* ]] && want=0
	for dev in 0x0004 0x0002; do
		f=$(sed -n "s/^VIRTIO-CHECK features $dev \\([01]*\\)\$/\\1/p" "$out" | head -n 1)
		[ "${f:28:1}${f:29:1}${f:32:1}${f:34:1}" = "111$want" ] ||
			fail "device $dev negotiated '$f' (want indirect, event index, VERSION_1, packed=$want)"
	done
	local size=$((64 << 11))
	grep -q "^VIRTIO-CHECK vda size=$size ro=0 queues=$queues serial=$serial\$" "$out" ||
		fail "/dev/vda: $(grep '^VIRTIO-CHECK vda ' "$out" || echo missing) (want $size sectors, $queues queues, serial $serial)"
	grep -q '^VIRTIO-CHECK fstrim ok$' "$out" || fail "fstrim failed"
	if grep -q '^VIRTIO-CHECK vdb' "$out"; then
		grep -q "^VIRTIO-CHECK vdb size=$size ro=1\$" "$out" || fail "/dev/vdb is not read-only"
		grep -q '^VIRTIO-CHECK vdb-write refused$' "$out" || fail "a write to the read-only disk was accepted"
		grep -q "^VIRTIO-CHECK vdb-md5 $(head -c 1M "$work/ro.img" | md5sum | cut -d' ' -f1)\$" "$out" ||
			fail "/dev/vdb does not read as the image"
	fi
	if [[ $extra == *pci=nomsi* ]]; then
		grep -q '^VIRTIO-CHECK irq .*IO-APIC.*fasteoi.*virtio' "$out" || fail "no virtio device on a level-triggered IO-APIC line"
		! grep -q '^VIRTIO-CHECK irq .*MSI' "$out" || fail "MSI in use despite pci=nomsi"
	else
		grep -q '^VIRTIO-CHECK irq .*PCI-MSI.*virtio0-input' "$out" || fail "no MSI-X vector for virtio0-input"
		grep -q '^VIRTIO-CHECK irq .*PCI-MSI.*virtio1-req.1' "$out" || fail "no MSI-X vector for the second disk queue"
	fi
	! grep -E 'needs a reset|BUG:|Oops|Call Trace|I/O error' "$out" || fail "a device failed or the guest saw errors"
	virtio_disk_check "$name" "$img" "$out" || ok=0
	if [ $ok = 1 ]; then
		echo "$name: ok ($(grep -c '^VIRTIO-CHECK wrote' "$out") files written and found, e2fsck clean)"
	else
		status=1
		echo "--- $name serial output (last 40 lines) ---"
		tail -n 40 "$out"
	fi
}

boot msix-packed 2 "" "" 2 minivmm-disk0 \
	-drive file=@IMG@,format=raw,if=virtio,serial=minivmm-disk0
virtio_disk_make "$work/ro.img" || { echo "cannot make the read-only image"; exit 1; }
boot intx-split 1 "pci=nomsi" ",packed=off" 1 split-disk \
	-drive file=@IMG@,format=raw,if=none,id=d0,discard=unmap \
	-device virtio-blk-pci,drive=d0,packed=off,num-queues=1,serial=split-disk \
	-drive "file=$work/ro.img,format=raw,if=none,id=ro,readonly=on" \
	-device virtio-blk-pci,drive=ro,packed=off
exit $status
