#!/usr/bin/env bash
# Two minivmm guests joined by a stream netdev (QEMU's 4-byte length
# framing over a Unix socket, no privileges): one listens (server=on),
# the other connects; each gives its virtio-net card an address and pings
# the other.  Both power off and exit 0 with no device failure.
# (no_timer_check: the kernel's IO-APIC timer probe is not what is tested,
# and on a loaded host it can fail before the network is reached)
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/net.bash"
linux_kit
work=$(mktemp -d)
A_PID= B_PID=
cleanup() {
	[ -n "$A_PID" ] && kill -KILL "$A_PID" 2>/dev/null
	[ -n "$B_PID" ] && kill -KILL "$B_PID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in "$work"/*.out; do
		echo "--- $f"
		tail -n 15 "$f"
	done
	exit 1
}

# vm NAME MAC NETDEV: start a guest; its input on fd 3
vm() {
	linux_start "$work/$1.out" timeout -k 5 "$LINUX_TIMEOUT" "$MINIVMM" -accel tcg -m 256M -nographic \
		-no-reboot -kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 no_timer_check" -netdev "$3" -device "virtio-net-pci,netdev=n0,mac=$2"
}

sock=$work/link.sock
vm a 52:54:00:00:00:0a "stream,id=n0,server=on,addr.type=unix,addr.path=$sock"
A_PID=$VM_PID
exec 4>&3
n=0
until [ -S "$sock" ]; do
	n=$((n + 1))
	[ $n -lt 300 ] || fail "the server did not listen on $sock"
	sleep 0.1
done
vm b 52:54:00:00:00:0b "stream,id=n0,server=off,addr.type=unix,addr.path=$sock"
B_PID=$VM_PID

VM_PID=$A_PID
linux_wait "$work/a.out" "$MARKER" 900 || fail "guest a: no shell"
VM_PID=$B_PID
linux_wait "$work/b.out" "$MARKER" 900 || fail "guest b: no shell"

# guest b is on fd 3, guest a on fd 4
VM_PID=$B_PID
net_run "$work/b.out" UP 60 "ip addr add 10.8.0.2/24 dev eth0 && ip link set eth0 up" || fail "guest b: cannot configure eth0"
printf '%s\n' "ip addr add 10.8.0.1/24 dev eth0 && ip link set eth0 up; echo UP-END rc=\$?" >&4
VM_PID=$A_PID
linux_wait "$work/a.out" '^UP-END rc=0' 60 || fail "guest a: cannot configure eth0"

VM_PID=$B_PID
net_run "$work/b.out" PING 180 "ping -c 3 -W 20 10.8.0.1 >/dev/null" || fail "guest b cannot ping guest a"
printf '%s\n' "ping -c 3 -W 20 10.8.0.2 >/dev/null; echo PING-END rc=\$?" >&4
VM_PID=$A_PID
linux_wait "$work/a.out" '^PING-END rc=' 180 || fail "guest a: ping did not finish"
grep -q '^PING-END rc=0' <(tr -d '\r' <"$work/a.out") || fail "guest a cannot ping guest b"

printf 'poweroff -f\n' >&4
exec 4>&-
linux_type 'poweroff -f'
linux_finish 120
[ "$VM_STATUS" = 0 ] || fail "guest b: minivmm exited with $VM_STATUS"
n=0
while kill -0 "$A_PID" 2>/dev/null && [ $n -lt 1200 ]; do
	sleep 0.1
	n=$((n + 1))
done
wait "$A_PID"
rc=$?
A_PID=
[ "$rc" = 0 ] || fail "guest a: minivmm exited with $rc"
! grep -q 'needs a reset' "$work"/*.out || fail "a device failed"
echo "stream netdev: two guests ping each other"
