#!/usr/bin/env bash
# virtio-net on user-mode networking (libslirp), Debian's kernel on the
# software CPU, on -M pc and -M microvm: the guest gets 10.0.2.15 by DHCP (busybox udhcpc),
# downloads a file from an HTTP server this test runs on the host's
# loopback (reached as 10.0.2.2), and serves a file of its own that the
# host downloads through hostfwd; both checksums must match.  Then the
# guest powers off and minivmm exits 0 with no device failure.
# (no_timer_check: the kernel's IO-APIC timer probe is not what is tested,
# and on a loaded host it can fail before the network is reached)
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/net.bash"
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
	echo "FAIL: $*"
	tail -n 30 "$out"
	exit 1
}

mkdir -p "$work/www"
head -c $((3 << 20)) /dev/urandom >"$work/www/host.bin"
want_host=$(md5sum <"$work/www/host.bin" | cut -d' ' -f1)
http_port=$(net_free_port)
net_http_serve "$work/www" "$http_port" || fail "cannot start the host's HTTP server"
fwd_port=$(net_free_port)

# run_on LABEL MINIVMM-ARGS...: the whole exchange on one machine
run_on() {
	out=$work/vm-$1.out
	linux_start "$out" timeout -k 5 "$LINUX_TIMEOUT" "$MINIVMM" -accel tcg -m 256M -nographic -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "console=ttyS0 panic=-1 no_timer_check" \
		-nic "user,hostfwd=tcp:127.0.0.1:$fwd_port-:8080" "${@:2}"
	linux_wait "$out" "$MARKER" 600 || fail "no shell"

	net_run "$out" DHCP 120 "$NET_DHCP_SCRIPT; ip link set eth0 up && udhcpc -i eth0 -n -q -s /tmp/dhcp.sh && echo ADDR \$(ip -4 -o addr show eth0 | awk '{print \$4}')" ||
		fail "udhcpc failed"
	[ "$(net_answer "$out" ADDR)" = 10.0.2.15/24 ] || fail "the guest's address is '$(net_answer "$out" ADDR)', want 10.0.2.15/24"

	net_run "$out" GET 300 "wget -q -O /tmp/host.bin http://10.0.2.2:$http_port/host.bin && echo GOT \$(md5sum </tmp/host.bin)" ||
		fail "the guest could not download from the host"
	got=$(net_answer "$out" GOT | cut -d' ' -f1)
	[ "$got" = "$want_host" ] || fail "the guest's copy has md5 $got, want $want_host"

	net_run "$out" SERVE 120 "mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/guest.bin bs=1024 count=2048 2>/dev/null && httpd -p 8080 -h /tmp/www && echo SUM \$(md5sum </tmp/www/guest.bin)" ||
		fail "the guest's httpd did not start"
	want_guest=$(net_answer "$out" SUM | cut -d' ' -f1)
	curl -s --max-time 300 -o "$work/guest.bin" "http://127.0.0.1:$fwd_port/guest.bin" ||
		fail "the host could not download through hostfwd"
	got=$(md5sum <"$work/guest.bin" | cut -d' ' -f1)
	[ "$got" = "$want_guest" ] || fail "the host's copy has md5 $got, want $want_guest"

	linux_type 'poweroff -f'
	linux_finish 120
	[ "$VM_STATUS" = 0 ] || fail "minivmm exited with $VM_STATUS"
	! grep -q 'needs a reset' "$out" || fail "the device failed: $(grep 'needs a reset' "$out")"
	echo "user networking ($1): DHCP 10.0.2.15, 3 MiB host->guest and 2 MiB guest->host with matching checksums"
}

run_on pc
# -M microvm: the card is a virtio-net-device on virtio-mmio
fwd_port=$(net_free_port)
run_on microvm -M microvm
