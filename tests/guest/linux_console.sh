#!/usr/bin/env bash
# Debian's kernel with virtio-serial-pci (-accel tcg), twice:
#   hvc0: (on -M pc and, through virtio-serial-device, on -M microvm)
#     console=hvc0 on a virtconsole whose -chardev is stdio, and no
#     serial port: the kit's marker comes through it, a command typed on
#     stdin runs and answers, /sys says the console is hvc0, poweroff ends
#     minivmm with status 0;
#   ports: the serial console for the commands, and on the virtio-serial
#     bus a virtconsole on a file chardev (what the guest writes to
#     /dev/hvc0 is in the file), a virtserialport named org.minivmm.echo
#     on a unix socket (server=on,wait=off) where a guest loop answers each
#     line: two clients in turn get their answers, and a virtserialport on
#     a pty (the name minivmm prints) that carries a guest's writes once
#     the test opens it, and one more socket port whose client reads
#     nothing at first: the guest's writer of 4 MiB waits while the shell
#     still answers, and once the client reads it gets every byte.  The
#     port names reach /sys/class/virtio-ports.
# QEMU 7.2, run the same way for the hvc0 case, prints the same lines
# (the kernel's messages from when virtio_console registers hvc0 on).
. "$(dirname "$0")/linux.bash"
linux_kit
work=$(mktemp -d)
trap 'kill $VM_PID 2>/dev/null; rm -rf "$work"' EXIT
status=0
PY=python3

fail() {
	echo "$case: $*"
	status=1
}

show() {
	echo "--- $case output (last 30 lines) ---"
	tail -n 30 "$1"
}

# ---- hvc0 on stdio, on pc (virtio-serial-pci) and microvm (virtio-serial-device) ----
hvc0_case() {
	case=$1
	local bus=$2
	shift 2
	out=$work/$case.out
	linux_start "$out" timeout -k 5 "$LINUX_TIMEOUT" "$MINIVMM" -accel tcg -m 256M -display none -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "console=hvc0 panic=-1" \
		-chardev stdio,id=con -device "$bus" -device virtconsole,chardev=con "$@"
	if linux_wait "$out" "$MARKER" 600; then
		linux_type 'echo "active=$(cat /sys/class/tty/console/active) typed-$((6 * 7))"'
		linux_wait "$out" 'typed-42' 120 || fail "a command typed on stdin did not answer"
		grep -q 'active=hvc0' "$out" || fail "the console is not hvc0: $(grep 'active=' "$out")"
		linux_type 'poweroff -f'
	else
		fail "no marker through the virtconsole"
	fi
	linux_finish 120
	[ "$VM_STATUS" = 0 ] || fail "exit status $VM_STATUS, want 0"
	grep -q 'ttyS0' "$out" && fail "COM1 is there although stdio belongs to the virtconsole"
	[ $status = 0 ] && echo "$case: ok (marker, input and poweroff through the virtconsole)" || show "$out"
}
hvc0_case hvc0 virtio-serial-pci
hvc0_case hvc0-microvm virtio-serial-device -M microvm

# ---- file, socket and pty ports ----
case=ports
s0=$status
out=$work/ports.out
sock=$work/echo.sock
linux_start "$out" timeout -k 5 "$LINUX_TIMEOUT" "$MINIVMM" -accel tcg -m 256M -nographic -no-reboot \
	-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "console=ttyS0 panic=-1" \
	-device virtio-serial-pci,id=vser \
	-chardev "file,id=f,path=$work/hvc.txt" -device virtconsole,chardev=f \
	-chardev "socket,id=s,path=$sock,server=on,wait=off" \
	-device virtserialport,bus=vser.0,chardev=s,name=org.minivmm.echo \
	-chardev pty,id=p -device virtserialport,chardev=p,name=org.minivmm.pty \
	-chardev "socket,id=b,path=$work/bulk.sock,server=on,wait=off" \
	-device virtserialport,chardev=b,name=org.minivmm.bulk
linux_wait "$out" "$MARKER" 600 || { fail "no marker"; show "$out"; linux_finish 5; exit 1; }
pty=$(sed -n 's/^char device redirected to \(\/dev\/pts\/[0-9]*\) (label p).*/\1/p' "$out" | head -n 1)
[ -n "$pty" ] || fail "minivmm did not name the pty"

linux_type 'echo "ports: $(for p in /sys/class/virtio-ports/*; do echo "${p##*/}=$(cat $p/name 2>/dev/null)"; done | tr "\n" " ")"; echo to-the-file-$((2 * 3)) >/dev/hvc0'
linux_wait "$out" '^ports: ' 60 || fail "no answer"
grep -q '^ports: vport0p0= vport0p1=org.minivmm.echo vport0p2=org.minivmm.pty vport0p3=org.minivmm.bulk' "$out" ||
	fail "port names: $(grep '^ports: ' "$out")"
# the guest echoes each line of the socket port, and writes to the pty port
# (a read says end of file while no client is connected: open it again)
linux_type '(while :; do exec 3<>/dev/vport0p1; while read -r l <&3; do echo "echo:$l" >&3; done; exec 3<&-; sleep 0.2; done) &'
linux_type '(while :; do echo pty-data >/dev/vport0p2; sleep 1; done) &'
linux_type 'echo loops-started'
linux_wait "$out" '^loops-started' 60 || fail "the guest loops did not start"

n=0
while ! grep -q 'to-the-file-6' "$work/hvc.txt" 2>/dev/null && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
grep -q 'to-the-file-6' "$work/hvc.txt" 2>/dev/null || fail "the file chardev did not get the guest's output"

# two clients in turn, each line answered
$PY - "$sock" <<'EOF' || fail "the socket port did not echo"
import socket, sys, time
for client in (1, 2):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(120)
    got = b""
    for i in range(3):
        line = b"ping-%d-%d\n" % (client, i)
        s.sendall(line)
        want = b"echo:" + line
        while want not in got:
            d = s.recv(4096)
            if not d:
                sys.exit("client %d: connection closed after %r" % (client, got))
            got += d
    print("socket client %d: %d lines echoed" % (client, 3))
    s.close()
    time.sleep(0.5)
EOF

if [ -n "$pty" ]; then
	$PY - "$pty" <<'EOF' || fail "the pty port carried nothing"
import os, sys, select, time, termios, tty
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
got = b""
end = time.time() + 120
while b"pty-data" not in got and time.time() < end:
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        got += os.read(fd, 4096)
print("pty: %r" % got[:40])
sys.exit(0 if b"pty-data" in got else 1)
EOF
fi

# back-pressure: 4 MiB (more than the guest's transmit ring, the socket
# and the back-end's buffer hold) for a client that does not read yet;
# the guest's writer waits (nothing is lost) while the rest of the guest
# goes on
$PY - "$work/bulk.sock" "$work/bulk.go" "$work/bulk.count" <<'EOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
while not os.path.exists(sys.argv[2]):
    time.sleep(0.1)
s.settimeout(120)
n = bad = 0
while n < 4 << 20:
    d = s.recv(65536)
    if not d:
        break
    n += len(d)
    bad += len(d) - d.count(b"\0")
open(sys.argv[3], "w").write("%d %d\n" % (n, bad))
EOF
reader=$!
sleep 1
linux_type "(dd if=/dev/zero of=/dev/vport0p3 bs=4096 count=1024 2>/dev/null; echo bulk-done-\$((1 + 1))) &"
sleep 5
linux_type 'echo alive-$((40 + 2))'
linux_wait "$out" '^alive-42' 120 || fail "the guest stopped answering while a port's reader stalled"
grep -q 'bulk-done-2' "$out" && fail "4 MiB went out although the reader took nothing"
touch "$work/bulk.go"
linux_wait "$out" 'bulk-done-2' 300 || fail "the writer did not finish once the reader read"
wait $reader
[ "$(cat "$work/bulk.count" 2>/dev/null)" = "4194304 0" ] ||
	fail "the reader got '$(cat "$work/bulk.count" 2>/dev/null)' (want 4194304 zero bytes)"

linux_type 'poweroff -f'
linux_finish 120
[ "$VM_STATUS" = 0 ] || fail "exit status $VM_STATUS, want 0"
grep -E 'needs a reset|BUG:|Oops|Call Trace' "$out" && fail "a device failed or the guest saw errors"
[ -e "$sock" ] && fail "the socket file is left behind"
[ $status = "$s0" ] && echo "ports: ok (file, socket both ways with two clients, pty, names, 4 MiB held for a stalled reader and delivered whole)" || show "$out"
exit $status
