#!/usr/bin/env bash
# virtio-net on a tap, inside a network namespace this test makes for
# itself (unshare -n: the traffic never leaves it).  Debian's kernel on
# the software CPU with two vCPUs, the tap with two queues and mq=on (so
# both queue pairs, the vnet header and its checksum and TSO offloads are
# in use): host and guest ping each other, and a file goes each way over
# TCP (HTTP) with matching checksums.  Where /dev/vhost-net exists the
# same again with vhost=on; otherwise that part says why it is skipped.
# (no_timer_check: the kernel's IO-APIC timer probe is not what is tested,
# and on a loaded host it can fail before the network is reached)
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/net.bash"

if [ -z "${MINIVMM_IN_NETNS:-}" ]; then
	[ -c /dev/net/tun ] || { echo "skipped: no /dev/net/tun"; exit 77; }
	unshare -n true 2>/dev/null || { echo "skipped: cannot make a network namespace (unshare -n)"; exit 77; }
	exec unshare -n env MINIVMM_IN_NETNS=1 bash "$0" "$@"
fi

linux_kit
work=$(mktemp -d)
HTTP_PID=
cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
	kill -KILL "$VM_PID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL ($mode): $*"
	tail -n 30 "$out"
	exit 1
}

ip link set lo up
mkdir -p "$work/www"
head -c $((4 << 20)) /dev/urandom >"$work/www/host.bin"
want_host=$(md5sum <"$work/www/host.bin" | cut -d' ' -f1)
net_http_serve "$work/www" 8000 0.0.0.0 || { echo "FAIL: cannot start the host's HTTP server"; exit 1; }

# run MODE NETDEV_EXTRA: one boot and its checks
run() {
	mode=$1
	out=$work/$mode.out
	echo "== $mode"
	linux_start "$out" timeout -k 5 "$LINUX_TIMEOUT" "$MINIVMM" -accel tcg -m 256M -smp 2 -nographic \
		-no-reboot -kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 no_timer_check" \
		-netdev "tap,id=t0,ifname=mvtap0,script=no,downscript=no,queues=2$2" \
		-device virtio-net-pci,netdev=t0,mq=on
	local n=0
	until ip link show mvtap0 >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 300 ] || fail "no tap mvtap0"
		kill -0 "$VM_PID" 2>/dev/null || fail "minivmm ended"
		sleep 0.1
	done
	ip addr add 10.9.0.1/24 dev mvtap0
	ip link set mvtap0 up
	linux_wait "$out" "$MARKER" 600 || fail "no shell"

	net_run "$out" UP 60 "ip addr add 10.9.0.2/24 dev eth0 && ip link set eth0 up && echo QUEUES \$(ls /sys/class/net/eth0/queues | tr '\n' ' ')" ||
		fail "cannot configure eth0"
	[ "$(net_answer "$out" QUEUES)" = "rx-0 rx-1 tx-0 tx-1" ] ||
		fail "eth0 has queues '$(net_answer "$out" QUEUES)', want two pairs"
	net_run "$out" PING 120 "ping -c 3 -W 10 10.9.0.1 >/dev/null" || fail "the guest cannot ping the host"
	ping -c 3 -W 10 10.9.0.2 >/dev/null || fail "the host cannot ping the guest"

	net_run "$out" GET 300 "wget -q -O /tmp/host.bin http://10.9.0.1:8000/host.bin && echo GOT \$(md5sum </tmp/host.bin)" ||
		fail "the guest could not download from the host"
	local got
	got=$(net_answer "$out" GOT | cut -d' ' -f1)
	[ "$got" = "$want_host" ] || fail "the guest's copy has md5 $got, want $want_host"

	net_run "$out" SERVE 120 "mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/guest.bin bs=1024 count=3072 2>/dev/null && httpd -p 8080 -h /tmp/www && echo SUM \$(md5sum </tmp/www/guest.bin)" ||
		fail "the guest's httpd did not start"
	local want_guest
	want_guest=$(net_answer "$out" SUM | cut -d' ' -f1)
	curl -s --max-time 300 -o "$work/guest.bin" "http://10.9.0.2:8080/guest.bin" ||
		fail "the host could not download from the guest"
	got=$(md5sum <"$work/guest.bin" | cut -d' ' -f1)
	[ "$got" = "$want_guest" ] || fail "the host's copy has md5 $got, want $want_guest"
	net_run "$out" FEAT 30 "echo FEATURES \$(cat /sys/bus/virtio/drivers/virtio_net/virtio*/features)" || true
	echo "$mode: features $(net_answer "$out" FEATURES)"

	linux_type 'poweroff -f'
	linux_finish 120
	[ "$VM_STATUS" = 0 ] || fail "minivmm exited with $VM_STATUS"
	! grep -q 'needs a reset' "$out" || fail "the device failed: $(grep 'needs a reset' "$out")"
	echo "$mode: ping both ways, 4 MiB host->guest and 3 MiB guest->host with matching checksums"
}

run tap ""
if [ -c /dev/vhost-net ]; then
	run vhost ",vhost=on"
else
	echo "vhost=on skipped: no /dev/vhost-net on this host (tests/guest/kvm_nested.sh runs it where the kernel has vhost_net)"
fi
