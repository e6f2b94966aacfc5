#!/usr/bin/env bash
# Network throughput benchmark (not a test): TCP from the guest to the host
# and from the host to the guest, BENCH_NET_MIB (256) MiB each way, timed
# in the guest (/proc/uptime around busybox nc), over user-mode networking
# (-nic user: the host is 10.0.2.2) and over a tap (inside a network
# namespace of its own, when unshare -n works), with virtio-net-pci, under
# minivmm -accel tcg and, when installed, qemu-system-x86_64 -accel tcg
# with the same options; MB/s and the ratio minivmm/QEMU for each.  The
# host's end is a small Python server that only counts or sends zeros.
#   BENCH_NET_MIB=N       MiB per transfer (default 256)
#   BENCH_NET_TIMEOUT=S   how long one transfer may take (default 900)
. "$(dirname "$0")/../tests/guest/linux.bash"
. "$(dirname "$0")/../tests/guest/net.bash"

if [ "${1:-}" = --in-netns ]; then
	shift
else
	linux_kit
	MIB=${BENCH_NET_MIB:-256}
	export MIB
	results=$(mktemp)
	trap 'rm -f "$results"' EXIT
	BENCH_NET_RESULTS=$results bash "$0" --in-netns user
	if [ -c /dev/net/tun ] && unshare -n true 2>/dev/null; then
		BENCH_NET_RESULTS=$results unshare -n bash "$0" --in-netns tap
	else
		echo "tap: skipped (needs /dev/net/tun and unshare -n)"
	fi
	echo
	printf '%-6s %-10s %-10s %10s %10s %8s\n' net direction "" minivmm qemu-tcg ratio
	awk '{ k = $1 " " $2; v[k " " $3] = $4; keys[k] = 1 }
	     END { for (k in keys) {
		     m = v[k " minivmm"]; q = v[k " qemu"];
		     r = (m != "" && q != "" && q > 0) ? sprintf("%.2f", m / q) : "-";
		     printf "%-6s %-21s %10s %10s %8s\n", substr(k, 1, index(k, " ") - 1),
			    substr(k, index(k, " ") + 1), m == "" ? "-" : m " MB/s", q == "" ? "-" : q " MB/s", r } }' \
		"$results" | sort
	exit 0
fi

net=$1
KIT=$("$ROOT/scripts/linux-kit.sh")
TIMEOUT=${BENCH_NET_TIMEOUT:-900}
work=$(mktemp -d)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
	[ -n "${VM_PID:-}" ] && kill -KILL "$VM_PID" 2>/dev/null
	[ -n "${BENCH_NET_KEEP:-}" ] && cp "$work"/*.out "$BENCH_NET_KEEP/" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# the host's end: MODE sink (read to EOF) or source (send MIB MiB, close);
# it writes the bytes it moved to $work/moved once done
server() {
	rm -f "$work/ready" "$work/moved"
	python3 - "$1" "$2" "$3" "$MIB" "$work" <<'PY' &
import os, socket, sys
addr, port, mode, mib, work = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(1)
open(os.path.join(work, "ready"), "w").close()
c, _ = s.accept()
moved = 0
if mode == "sink":
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        moved += len(b)
else:
    block = bytes(1 << 20)
    for _ in range(mib):
        c.sendall(block)
        moved += len(block)
    c.shutdown(socket.SHUT_WR)
c.close()
with open(os.path.join(work, "moved"), "w") as f:
    f.write(str(moved))
PY
	SERVER_PID=$!
	local n=0
	until [ -e "$work/ready" ] || [ $n -ge 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}

# run ENGINE CMD...: boot (twice at most: QEMU's TCG on a loaded host
# sometimes panics with "IO-APIC + timer doesn't work"), then both transfers
run() {
	run_once "$@" || { echo "$1 ($net): booting once more" >&2; run_once "$@"; }
}

# run_once ENGINE CMD...: returns 1 when the guest did not boot
run_once() {
	local engine=$1 out=$work/$1.out
	shift
	if [ "$net" = user ]; then
		linux_start "$out" "$@" -nic user,model=virtio-net-pci
	else
		linux_start "$out" "$@" -netdev tap,id=t0,ifname=mvtap0,script=no,downscript=no \
			-device virtio-net-pci,netdev=t0
	fi
	local host_ip=10.0.2.2 bind=127.0.0.1
	if [ "$net" = tap ]; then
		host_ip=10.9.0.1 bind=10.9.0.1
		local n=0
		until ip link show mvtap0 >/dev/null 2>&1; do
			n=$((n + 1))
			[ $n -lt 600 ] || { echo "$engine: no tap" >&2; linux_finish 1; return 1; }
			sleep 0.1
		done
		ip addr add 10.9.0.1/24 dev mvtap0 && ip link set mvtap0 up
	fi
	if ! linux_wait "$out" "$MARKER" 900 >&2; then
		echo "$engine ($net): no shell" >&2
		linux_finish 1
		return 1
	fi
	if [ "$net" = user ]; then
		net_run "$out" UP 120 "$NET_DHCP_SCRIPT; ip link set eth0 up && udhcpc -i eth0 -n -q -s /tmp/dhcp.sh >/dev/null"
	else
		net_run "$out" UP 60 "ip addr add 10.9.0.2/24 dev eth0 && ip link set eth0 up && sleep 2"
	fi || { echo "$engine ($net): cannot configure eth0" >&2; linux_finish 1; return; }
	local dir mode cmd port=$((20000 + RANDOM % 10000))
	for dir in guest-to-host host-to-guest; do
		port=$((port + 1))
		if [ $dir = guest-to-host ]; then
			server "$bind" "$port" sink
			cmd="dd if=/dev/zero bs=65536 count=$((MIB * 16)) 2>/dev/null | nc $host_ip $port"
		else
			server "$bind" "$port" source
			cmd="nc $host_ip $port </dev/null | dd of=/dev/null bs=65536 2>/dev/null"
		fi
		if net_run "$out" "X$dir" "$TIMEOUT" "s=\$(cut -d' ' -f1 /proc/uptime); $cmd; e=\$(cut -d' ' -f1 /proc/uptime); echo TIMED \$s \$e" &&
			wait "$SERVER_PID" && [ "$(cat "$work/moved" 2>/dev/null)" = $((MIB << 20)) ]; then
			local t
			t=$(net_answer "$out" TIMED)
			awk -v n="$net" -v d="$dir" -v e="$engine" -v t="$t" -v mib="$MIB" 'BEGIN {
				split(t, a, " "); s = a[2] - a[1]; if (s <= 0) s = 0.01;
				printf "%s %s %s %.1f\n", n, d, e, mib * 1.048576 / s }' >>"$BENCH_NET_RESULTS"
			echo "$engine $net $dir: $(tail -n 1 "$BENCH_NET_RESULTS" | cut -d' ' -f4) MB/s" >&2
		else
			echo "$engine ($net) $dir: failed, took more than $TIMEOUT s, or moved $(cat "$work/moved" 2>/dev/null || echo no) bytes" >&2
		fi
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=
	done
	linux_type 'poweroff -f'
	linux_finish 120
}

[ "$net" = tap ] && ip link set lo up
opts=(-accel tcg -m 512M -nographic -no-reboot -kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz"
	-append "console=ttyS0 panic=-1 no_timer_check")
[ -z "${BENCH_NET_ONLY_QEMU:-}" ] && run minivmm "$MINIVMM" "${opts[@]}"
if command -v qemu-system-x86_64 >/dev/null; then
	run qemu qemu-system-x86_64 "${opts[@]}"
fi
