#!/usr/bin/env bash
# vhost-user-blk-pci against qemu-storage-daemon's vhost-user-blk export
# (-accel tcg, guest RAM in a shared memfd):
#   ext4: Debian's kernel, -smp 2, num-queues=2, runs virtio-check.init on
#     an ext4 image the host made: the guest reads the host's files, writes,
#     syncs, trims and unmounts; the host finds the guest's files in the
#     image (debugfs) and e2fsck -fn clean; two queues with an MSI-X vector
#     each;
#   back-end gone: qemu-storage-daemon is killed while the guest runs:
#     minivmm says the back-end is gone (the device needs a reset) and
#     still ends at once on SIGTERM; it does not hang;
#   refused: no back-end listening, or guest RAM that is not a shared
#     memfd: one line, exit status 1 or 2, before the guest starts.
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/virtio.bash"
linux_kit
command -v qemu-storage-daemon >/dev/null ||
	{ echo "skipped: qemu-storage-daemon is not installed (Debian: qemu-system-common)"; exit 77; }
work=$(mktemp -d)
qsd_pid=
trap '[ -n "$qsd_pid" ] && kill "$qsd_pid" 2>/dev/null; [ -n "${VM_PID:-}" ] && kill -KILL "$VM_PID" 2>/dev/null; rm -rf "$work"' EXIT
status=0
virtio_initrd "$work"
RAM=(-m 512M -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem)

# qsd IMG: qemu-storage-daemon exporting IMG on $work/vu.sock; sets qsd_pid
qsd() {
	rm -f "$work/vu.sock"
	qemu-storage-daemon --blockdev "driver=file,node-name=disk,filename=$1" \
		--export "type=vhost-user-blk,id=vu,node-name=disk,addr.type=unix,addr.path=$work/vu.sock,writable=on,num-queues=2" \
		>"$work/qsd.log" 2>&1 &
	qsd_pid=$!
	local n=0
	while [ ! -S "$work/vu.sock" ] && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ -S "$work/vu.sock" ] || { echo "qemu-storage-daemon did not start: $(cat "$work/qsd.log")"; exit 1; }
}

qsd_stop() {
	kill "$qsd_pid" 2>/dev/null
	wait "$qsd_pid" 2>/dev/null
	qsd_pid=
}

echo "== ext4 over vhost-user-blk"
virtio_disk_make "$work/disk.raw" >/dev/null || exit 1
qsd "$work/disk.raw"
ok=0
virtio_disk_boot ext4 "$work/initrd" "$work/ext4.out" -smp 2 "${RAM[@]}" \
	-chardev "socket,id=vu0,path=$work/vu.sock" -device vhost-user-blk-pci,chardev=vu0,num-queues=2 ||
	ok=1
qsd_stop
grep -q '^VIRTIO-CHECK vda size=131072 ro=0 queues=2 ' "$work/ext4.out" ||
	{ echo "ext4: /dev/vda has not two queues: $(grep '^VIRTIO-CHECK vda' "$work/ext4.out")"; ok=1; }
grep -q '^VIRTIO-CHECK irq .*PCI-MSI.*virtio0-req.1' "$work/ext4.out" ||
	{ echo "ext4: no MSI-X vector for the second queue"; ok=1; }
virtio_disk_check ext4 "$work/disk.raw" "$work/ext4.out" || ok=1
if [ $ok = 0 ]; then
	echo "ext4: ok ($(grep -c '^VIRTIO-CHECK wrote' "$work/ext4.out") files written and found, e2fsck clean, 2 queues)"
else
	status=1
fi

echo "== back-end gone"
virtio_disk_make "$work/gone.raw" >/dev/null || exit 1
qsd "$work/gone.raw"
out=$work/gone.out
linux_start "$out" "$MINIVMM" -accel tcg "${RAM[@]}" -nographic -no-reboot -kernel "$KIT/bzImage" \
	-initrd "$work/initrd" -append "console=ttyS0 panic=-1 no_timer_check" \
	-chardev "socket,id=vu0,path=$work/vu.sock" -device vhost-user-blk-pci,chardev=vu0
ok=0
if linux_wait "$out" '^VIRTIO-CHECK vda ' "$LINUX_TIMEOUT"; then
	kill -KILL "$qsd_pid"
	wait "$qsd_pid" 2>/dev/null
	qsd_pid=
	linux_wait "$out" "vhost-user back-end at $work/vu.sock is gone" 60 || ok=1
	kill -TERM "$VM_PID"
	if ! linux_finish 30; then
		echo "gone: minivmm did not end within 30 s of SIGTERM"
		ok=1
	fi
else
	linux_finish 1
	ok=1
fi
VM_PID=
if [ $ok = 0 ]; then
	echo "gone: ok (the back-end's end reported, minivmm ended on SIGTERM)"
else
	status=1
	tail -n 20 "$out"
fi

echo "== refused"
# expect NAME STATUS PATTERN ARGS...: minivmm exits STATUS with one line matching PATTERN
expect() {
	local name=$1 want=$2 pattern=$3 rc
	shift 3
	timeout 60 "$MINIVMM" -accel tcg -nographic -kernel "$KIT/bzImage" "$@" </dev/null >"$work/refused.out" 2>&1
	rc=$?
	if [ $rc != "$want" ] || ! grep -q "$pattern" "$work/refused.out"; then
		echo "refused ($name): exit $rc, want $want with /$pattern/:"
		cat "$work/refused.out"
		status=1
	else
		echo "refused ($name): ok ($(head -n 1 "$work/refused.out"))"
	fi
}
expect "no back-end" 1 "cannot connect to the back-end at $work/nobody.sock" "${RAM[@]}" \
	-chardev "socket,id=vu0,path=$work/nobody.sock" -device vhost-user-blk-pci,chardev=vu0
expect "anonymous RAM" 2 "the back-end must map guest RAM" -m 512M \
	-chardev "socket,id=vu0,path=$work/vu.sock" -device vhost-user-blk-pci,chardev=vu0
expect "share=off" 2 "the back-end must map guest RAM" -m 512M \
	-object memory-backend-memfd,id=mem,size=512M,share=off -machine memory-backend=mem \
	-chardev "socket,id=vu0,path=$work/vu.sock" -device vhost-user-blk-pci,chardev=vu0
exit $status
