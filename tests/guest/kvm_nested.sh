#!/usr/bin/env bash
# minivmm's KVM engine on a machine without /dev/kvm: QEMU (TCG, -cpu max,
# which offers AMD SVM) boots Debian's kernel, which loads kvm-amd; inside
# it a static minivmm runs with -accel kvm (scripts/kvm-nested-kit.sh builds
# that outer guest).  QEMU is only the host here: the test skips without it.
# Checked, from the markers the outer /init prints on its serial port:
#   - every test program that needs /dev/kvm or /dev/vhost-net (test_kvm_run,
#     test_vhost_net) passes, none skipped;
#   - each test guest under -accel kvm prints exactly its expected output
#     (the tcg scripts' QEMU-checked expectations) and exits with 33;
#   - the Linux kit boots with -accel kvm -smp 2 and sees 2 CPUs;
#   - the virtio guest (broken chains, tests/guest/virtio.sh) under kvm, where
#     notifications arrive through ioeventfd and MSIs through KVM_SIGNAL_MSI;
#   - Linux -smp 2 under kvm with virtio-rng-pci and a virtio-blk disk: an
#     ext4 image made here, which QEMU gives the outer guest and the outer
#     guest gives minivmm as a block device (/dev/vda); afterwards the image
#     must hold what the inner guest wrote (debugfs) and be clean (e2fsck);
#     its interrupts go through KVM irqfds and its notifications through
#     ioeventfds (minivmm's -d int counts);
#   - the same on -M microvm (virtio-rng-device, virtio-blk-device) with a
#     second image, its transports on edge-triggered I/O APIC lines and
#     their QueueNotify registers on ioeventfds (no slow-path warning);
#   - vhost-net under kvm on a tap of the outer guest's own: the inner
#     guest pings the outer one and downloads a file with the right
#     checksum; its receive queue's interrupts (the guest's
#     /proc/interrupts) came while minivmm forwarded none: vhost's call
#     eventfds are irqfds on the queues' MSI-X vectors, its kick eventfds
#     ioeventfds (no notify write reached minivmm's handler), and minivmm
#     says so (-d int).  NESTED_VHOST=0 leaves this part out.
#   NESTED_TIMEOUT=S   limit for the whole QEMU run (default 900)
#   NESTED_LINUX=0     leave the Linux boot out
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/virtio.bash"

if ! have_qemu; then
	echo "skipped: qemu-system-x86_64 not installed"
	exit 77
fi
guests="hello-exit modes exceptions exceptions32 rings paging virtio"
export NESTED_ARGS_virtio="-m 128M -device virtio-rng-pci -device virtio-rng-pci"
for name in $guests; do
	need_guest "$name"
done
linux=${NESTED_LINUX:-1}
smp=2
start=$SECONDS

kit_args=(--initrd "$WORK/initrd")
[ "$linux" = 1 ] && kit_args+=(--linux)
if ! KIT=$(NESTED_GUESTS=$guests "$ROOT/scripts/kvm-nested-kit.sh" "${kit_args[@]}" 2>"$WORK/kit.err"); then
	echo "FAIL: cannot build the nested KVM kit:"
	tail -n 30 "$WORK/kit.err"
	exit 1
fi
kit_time=$((SECONDS - start))

append="console=ttyS0 quiet panic=-1 nested.timeout=120 nested.vhost=${NESTED_VHOST:-1}"
disk=()
if [ "$linux" = 1 ]; then
	append+=" nested.linux_smp=$smp"
	virtio_disk_make "$WORK/disk.img" || { echo "FAIL: cannot make the ext4 image"; exit 1; }
	virtio_disk_make "$WORK/microvm.img" || { echo "FAIL: cannot make the ext4 image"; exit 1; }
	disk=(-drive "file=$WORK/disk.img,format=raw,if=virtio"
	      -drive "file=$WORK/microvm.img,format=raw,if=virtio")
fi
: >"$WORK/serial"
timeout -k 5 "${NESTED_TIMEOUT:-1400}" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 \
	-nodefaults -display none -serial "file:$WORK/serial" -no-reboot \
	-kernel "$KIT/bzImage" -initrd "$WORK/initrd" -append "$append" "${disk[@]}" \
	</dev/null >"$WORK/qemu.err" 2>&1
qemu_rc=$?
tr -d '\r' <"$WORK/serial" >"$WORK/out"
out=$WORK/out
echo "nested KVM: $((SECONDS - start)) s in all (kit and static build $kit_time s," \
	"QEMU $((SECONDS - start - kit_time)) s, exit status $qemu_rc)"

show_tail() {
	echo "--- outer guest serial output (last 40 lines) ---"
	tail -n 40 "$out"
	if [ -s "$WORK/qemu.err" ]; then
		echo "--- QEMU stderr ---"
		head -n 20 "$WORK/qemu.err"
	fi
}

if ! grep -q '^NESTED-BEGIN$' "$out"; then
	echo "FAIL: the outer guest never reached its /init (QEMU exit status $qemu_rc)"
	show_tail
	exit 1
fi
if grep -q '^NESTED-NO-KVM the CPU offers no SVM' "$out"; then
	echo "skipped: this QEMU's TCG CPU offers no SVM, so there is no nested /dev/kvm"
	exit 77
fi
if ! grep -q '^NESTED-KVM-READY' "$out"; then
	echo "FAIL: no /dev/kvm in the outer guest:"
	grep '^NESTED-NO-KVM' "$out"
	show_tail
	exit 1
fi
grep '^NESTED-KVM-READY' "$out"

status=0
# the KVM test programs: all must run and pass, none skip
tests=$(sed -n 's/^NESTED-TEST-END \([^ ]*\) .*/\1/p' "$out")
if [ -z "$tests" ]; then
	echo "FAIL: no KVM test program ran"
	status=1
fi
for t in $tests; do
	sed -n "/^NESTED-TEST-BEGIN $t\$/,/^NESTED-TEST-END $t /p" "$out" | sed '1d;$d'
	summary=$(grep -E "^$t: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$" "$out")
	if ! grep -q "^NESTED-TEST-END $t rc=0$" "$out" ||
		! grep -qE "^$t: [1-9][0-9]* passed, 0 failed, 0 skipped$" <<<"$summary"; then
		echo "FAIL: $t under nested KVM: ${summary:-no summary line}"
		status=1
	fi
done

# the test guests: exact serial output and exit status 33
for name in $guests; do
	if [ "$name" = hello-exit ]; then
		printf 'Hello, world!\n' >"$WORK/expected"
	else
		# the expected output is the heredoc in tests/guest/$name.sh
		sed -n "/^cat >\"\$WORK\/expected\" <<'EOF'$/,/^EOF$/p" "$(dirname "$0")/$name.sh" |
			sed '1d;$d' >"$WORK/expected"
	fi
	end=$(grep "^NESTED-GUEST-END $name " "$out")
	sed -n "s/^guest $name: //p" "$out" >"$WORK/$name.out"
	want="NESTED-GUEST-END $name rc=$STATUS_PASS bytes=$(wc -c <"$WORK/expected")"
	if [ "$end" = "$want" ] && cmp -s "$WORK/expected" "$WORK/$name.out"; then
		echo "minivmm -accel kvm $name: output matches ($(wc -l <"$WORK/$name.out") lines), exit status $STATUS_PASS"
	else
		if [ "$end" != "$want" ]; then
			echo "minivmm -accel kvm $name: FAILED: ${end:-no result line} (want: $want)"
		else
			echo "minivmm -accel kvm $name: FAILED: serial output differs (--- expected, +++ got):"
		fi
		diff -u "$WORK/expected" "$WORK/$name.out" | tail -n +3 | head -n 40
		grep "^guest $name stderr: " "$out" | head -n 20
		status=1
	fi
done

if [ "$linux" = 1 ]; then
	if grep -q "^linux: MINIVMM-LINUX-UP cpus=$smp\$" "$out" &&
		grep -q "^NESTED-LINUX-END smp=$smp rc=0\$" "$out"; then
		echo "minivmm -accel kvm -smp $smp Linux: $(sed -n 's/^linux: \(MINIVMM-LINUX-UP.*\)/\1/p' "$out"), powered off"
	else
		echo "minivmm -accel kvm -smp $smp Linux: FAILED: $(grep '^NESTED-LINUX-END' "$out" || echo 'no result line')"
		grep '^linux: ' "$out" | tail -n 30
		status=1
	fi
fi

# the virtio guest's device failures are the expected ones; anything else
# (KVM_IOEVENTFD or KVM_SIGNAL_MSI refused, say) is not
if grep '^guest virtio stderr: ' "$out" | grep -v 'the device needs a reset'; then
	echo "minivmm -accel kvm virtio: FAILED: unexpected messages above"
	status=1
fi

if [ "$linux" = 1 ]; then
	v=$(grep '^NESTED-VIRTIO-END' "$out")
	sed -n 's/^virtio: //p' "$out" >"$WORK/virtio.out"
	if [ "$v" = "NESTED-VIRTIO-END smp=$smp disk=yes rc=0" ] &&
		grep -q '^VIRTIO-CHECK rng-current virtio_rng.0$' "$WORK/virtio.out" &&
		grep -q '^VIRTIO-CHECK rng-bytes 4096 differ$' "$WORK/virtio.out" &&
		grep -q '^VIRTIO-CHECK irq .*PCI-MSI.*virtio0-input' "$WORK/virtio.out" &&
		grep -q "^VIRTIO-CHECK vda size=$((64 << 11)) ro=0 queues=$smp serial=nested-disk\$" "$WORK/virtio.out" &&
		grep -q '^VIRTIO-CHECK irq .*PCI-MSI.*virtio1-req.1' "$WORK/virtio.out" &&
		grep -q '^VIRTIO-CHECK END$' "$WORK/virtio.out" &&
		grep -qE '^minivmm: debug: virtio-blk-pci [0-9a-f:.]+: [1-9][0-9]* interrupts through irqfds, [0-9]+ forwarded by minivmm; 0 notifications through its handler$' "$WORK/virtio.out" &&
		virtio_disk_check "minivmm -accel kvm virtio-blk" "$WORK/disk.img" "$WORK/virtio.out"; then
		echo "minivmm -accel kvm -smp $smp Linux with virtio-rng-pci and virtio-blk-pci (MSI-X, $smp queues): checks passed, the image holds what the guest wrote"
		sed -n 's/^minivmm: debug: \(virtio-blk-pci .* interrupts through irqfds.*\)/  \1/p' "$WORK/virtio.out"
	else
		echo "minivmm -accel kvm -smp $smp Linux with virtio: FAILED: ${v:-no result line}"
		grep '^VIRTIO-CHECK' "$WORK/virtio.out"
		tail -n 30 "$WORK/virtio.out"
		status=1
	fi
	v=$(grep '^NESTED-VIRTIO-MMIO-END' "$out")
	sed -n 's/^virtio-mmio: //p' "$out" >"$WORK/mmio.out"
	if [ "$v" = "NESTED-VIRTIO-MMIO-END smp=$smp rc=0" ] &&
		virtio_report_check "minivmm -M microvm -accel kvm" "$WORK/mmio.out" "$smp" &&
		! grep 'KVM_IOEVENTFD' "$WORK/mmio.out" &&
		[ "$(grep -cE '^VIRTIO-CHECK irq .*IO-APIC +1[67]-edge +virtio[01]$' "$WORK/mmio.out")" = 2 ] &&
		virtio_disk_check "minivmm -M microvm -accel kvm virtio-blk-device" "$WORK/microvm.img" "$WORK/mmio.out"; then
		echo "minivmm -M microvm -accel kvm -smp $smp Linux with virtio-rng-device and virtio-blk-device (edge lines 16, 17): checks passed, the image holds what the guest wrote"
	else
		echo "minivmm -M microvm -accel kvm -smp $smp Linux: FAILED: ${v:-no result line}"
		grep '^VIRTIO-CHECK' "$WORK/mmio.out"
		tail -n 30 "$WORK/mmio.out"
		status=1
	fi
fi

if [ "$linux" = 1 ] && [ "${NESTED_VHOST:-1}" = 1 ]; then
	v=$(grep '^NESTED-VHOST-END' "$out")
	sed -n 's/^vhost: //p' "$out" >"$WORK/vhost.out"
	want=$(seq 1 400000 | md5sum | cut -d' ' -f1)
	# the receive queue's interrupts, summed over the CPUs' columns
	rx_irqs=$(awk '$1 == "VIRTIO-CHECK" && $2 == "irq" && $NF == "virtio0-input.0" {
		n = 0; for (i = 4; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; print n }' "$WORK/vhost.out")
	net_dbg='^minivmm: debug: virtio-net-pci [0-9a-f:.]+:'
	if [ "$v" = "NESTED-VHOST-END smp=$smp rc=0" ] &&
		grep -q '^VIRTIO-CHECK net-ping ok$' "$WORK/vhost.out" &&
		grep -q "^VIRTIO-CHECK net-md5 $want\$" "$WORK/vhost.out" &&
		grep -qE "$net_dbg vhost: queue pair 0 started, its interrupts through the transport's call eventfds$" "$WORK/vhost.out" &&
		grep -qE "$net_dbg queue 0: irqfd on GSI [0-9]+ \(MSI-X vector [0-9]+\)$" "$WORK/vhost.out" &&
		grep -qE "$net_dbg queue 1: irqfd on GSI [0-9]+ \(MSI-X vector [0-9]+\)$" "$WORK/vhost.out" &&
		grep -qE "$net_dbg [0-9]+ interrupts through irqfds, 0 forwarded by minivmm; 0 notifications through its handler$" "$WORK/vhost.out" &&
		[ "${rx_irqs:-0}" -ge 10 ] &&
		! grep -E 'serves the queues itself|forwards its interrupts|KVM_IRQFD|KVM_SET_GSI_ROUTING' "$WORK/vhost.out"; then
		echo "minivmm -accel kvm virtio-net-pci with vhost=on: ping, $(wc -c <<<"$(seq 1 400000)") bytes host->guest with the right checksum;" \
			"$rx_irqs receive interrupts in the guest, none forwarded by minivmm (irqfds), no notification through its handler (ioeventfds)"
	else
		echo "minivmm -accel kvm virtio-net-pci with vhost=on: FAILED: ${v:-no result line} (receive interrupts: ${rx_irqs:-none})"
		grep -E '^VIRTIO-CHECK|^minivmm' "$WORK/vhost.out" | head -n 40
		tail -n 30 "$WORK/vhost.out"
		status=1
	fi
fi

if ! grep -q '^NESTED-END$' "$out"; then
	echo "FAIL: the outer guest did not finish (QEMU exit status $qemu_rc)"
	status=1
fi
[ $status -eq 0 ] || show_tail
exit $status
