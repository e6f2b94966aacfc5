#!/usr/bin/env bash
# Debian's kernel on virtio-blk-pci (-accel tcg) over the disk formats and
# protocols other than a raw file (linux_virtio.sh has that): each run
# boots tests/guest/virtio-check.init on an ext4 image the host made, which
# checks the host's files, writes, syncs and unmounts; then the host checks
# the result: `qemu-img check` clean, the guest's files in the image
# (debugfs on a raw copy) and `e2fsck -fn` clean.  The disks:
#   qcow2: a qcow2 v3 image;
#   backing: a qcow2 overlay on a raw backing file, which must be unchanged
#     (checksum) afterwards;
#   snapshot: a qcow2 with an internal snapshot taken by `qemu-img
#     snapshot -c` first: the snapshot must still be listed and read as the
#     image did when it was taken (`qemu-img convert -l`);
#   nbd-tcp: a qcow2 exported by qemu-nbd on 127.0.0.1, nbd://HOST:PORT/EXPORT;
#   nbd-unix: a raw image exported by qemu-nbd on a unix socket,
#     nbd+unix:///EXPORT?socket=PATH.
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/virtio.bash"
linux_kit
for t in qemu-img qemu-nbd; do
	command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 77; }
done
work=$(mktemp -d)
nbd_pid=
trap '[ -n "$nbd_pid" ] && kill "$nbd_pid" 2>/dev/null; rm -rf "$work"' EXIT
status=0
virtio_initrd "$work"

# qcow2_clean NAME IMG: qemu-img check finds nothing (no errors, no leaks)
qcow2_clean() {
	local out
	if ! out=$(qemu-img check -f qcow2 "$2" 2>&1); then
		echo "$1: qemu-img check $2:"
		echo "$out" | head -n 20
		return 1
	fi
}

# disk_result NAME IMG FORMAT: the host's checks of what the guest did
disk_result() {
	local name=$1 img=$2 fmt=$3 raw=$work/$1.result.raw ok=0
	if [ "$fmt" = qcow2 ]; then
		qcow2_clean "$name" "$img" || ok=1
		qemu-img convert -f qcow2 -O raw "$img" "$raw" || { echo "$name: cannot read $img"; return 1; }
	else
		raw=$img
	fi
	virtio_disk_check "$name" "$raw" "$work/$name.out" || ok=1
	return $ok
}

# run NAME ARGS...: boot with ARGS (@IMG@ is $work/NAME.<format>), report
run() {
	local name=$1
	shift
	echo "== $name"
	if virtio_disk_boot "$name" "$work/initrd" "$work/$name.out" "$@" && "check_${name//-/_}"; then
		echo "$name: ok ($(grep -c '^VIRTIO-CHECK wrote' "$work/$name.out") files written and found, qemu-img check and e2fsck clean)"
	else
		status=1
	fi
}

# an ext4 image NAME.raw and its qcow2 copy NAME.qcow2
make_images() {
	virtio_disk_make "$work/$1.raw" >/dev/null &&
		qemu-img convert -f raw -O qcow2 -o compat=1.1 "$work/$1.raw" "$work/$1.qcow2"
}

# qemu_nbd ARGS...: start qemu-nbd in the background (it ends when its
# client leaves); sets nbd_pid
qemu_nbd() {
	qemu-nbd --pid-file="$work/nbd.pid" "$@" &
	nbd_pid=$!
}

# nbd_ready: qemu-nbd wrote its pid file (it listens by then) or ended
nbd_ready() {
	local n=0
	while [ ! -s "$work/nbd.pid" ] && kill -0 "$nbd_pid" 2>/dev/null && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ -s "$work/nbd.pid" ] && kill -0 "$nbd_pid" 2>/dev/null
}

# nbd_done NAME: qemu-nbd left after its client did, having flushed
nbd_done() {
	local n=0
	while kill -0 "$nbd_pid" 2>/dev/null && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$nbd_pid" 2>/dev/null; then
		echo "$1: qemu-nbd did not end after minivmm left"
		kill "$nbd_pid"
		wait "$nbd_pid" 2>/dev/null
		nbd_pid=
		return 1
	fi
	wait "$nbd_pid"
	local rc=$?
	nbd_pid=
	rm -f "$work/nbd.pid"
	[ $rc = 0 ] || { echo "$1: qemu-nbd exited $rc"; return 1; }
}

check_qcow2() { disk_result qcow2 "$work/qcow2.qcow2" qcow2; }
make_images qcow2 || exit 1
run qcow2 -drive "file=$work/qcow2.qcow2,format=qcow2,if=virtio"

check_backing() {
	local ok=0
	[ "$(md5sum <"$work/backing.raw")" = "$base_sum" ] ||
		{ echo "backing: the backing file changed"; ok=1; }
	disk_result backing "$work/backing.qcow2" qcow2 || ok=1
	return $ok
}
virtio_disk_make "$work/backing.raw" >/dev/null || exit 1
base_sum=$(md5sum <"$work/backing.raw")
qemu-img create -q -f qcow2 -b "$work/backing.raw" -F raw "$work/backing.qcow2" || exit 1
run backing -drive "file=$work/backing.qcow2,format=qcow2,if=virtio"

check_snapshot() {
	local ok=0
	qemu-img snapshot -l "$work/snapshot.qcow2" | grep -q ' before-boot ' ||
		{ echo "snapshot: the snapshot is no longer listed"; ok=1; }
	if ! qemu-img convert -f qcow2 -O raw -l snapshot.name=before-boot "$work/snapshot.qcow2" \
		"$work/snapshot.then.raw" || ! cmp -s "$work/snapshot.then.raw" "$work/snapshot.raw"; then
		echo "snapshot: the snapshot does not read as the image did when it was taken"
		ok=1
	fi
	disk_result snapshot "$work/snapshot.qcow2" qcow2 || ok=1
	return $ok
}
make_images snapshot || exit 1
qemu-img snapshot -c before-boot "$work/snapshot.qcow2" || exit 1
run snapshot -drive "file=$work/snapshot.qcow2,format=qcow2,if=virtio"

# qemu-nbd on a free port of 127.0.0.1 (another may take the one tried)
check_nbd_tcp() { nbd_done nbd-tcp && disk_result nbd-tcp "$work/nbd-tcp.qcow2" qcow2; }
make_images nbd-tcp || exit 1
for try in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 30000))
	qemu_nbd -f qcow2 -b 127.0.0.1 -p "$port" -x disk "$work/nbd-tcp.qcow2" 2>"$work/nbd.err"
	nbd_ready && break
	wait "$nbd_pid" 2>/dev/null
	nbd_pid=
done
if [ -n "$nbd_pid" ]; then
	run nbd-tcp -drive "file=nbd://127.0.0.1:$port/disk,format=raw,if=virtio"
else
	echo "nbd-tcp: qemu-nbd did not start: $(cat "$work/nbd.err")"
	status=1
fi

check_nbd_unix() { nbd_done nbd-unix && disk_result nbd-unix "$work/nbd-unix.raw" raw; }
virtio_disk_make "$work/nbd-unix.raw" >/dev/null || exit 1
qemu_nbd -f raw -k "$work/nbd.sock" -x disk "$work/nbd-unix.raw" 2>"$work/nbd.err"
if nbd_ready; then
	run nbd-unix -drive "file=nbd+unix:///disk?socket=$work/nbd.sock,format=raw,if=virtio"
else
	echo "nbd-unix: qemu-nbd did not start: $(cat "$work/nbd.err")"
	status=1
fi
exit $status
