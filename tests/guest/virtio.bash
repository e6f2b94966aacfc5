# Shared by the Linux virtio tests (sourced, after linux.bash and
# linux_kit): the initrd with virtio-check.init, a boot of it, the ext4
# image it works on, and the host's checks of what it reported.

# virtio_initrd DIR [INIT]: DIR/initrd is the kit's initramfs with INIT
# (default tests/guest/virtio-check.init) as /init, and whatever else the
# caller put in DIR/overlay
virtio_initrd() {
	local dir=$1 init=${2:-$ROOT/tests/guest/virtio-check.init}
	mkdir -p "$dir/overlay"
	cp "$init" "$dir/overlay/init"
	chmod +x "$dir/overlay/init"
	(cd "$dir/overlay" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/overlay.cpio.gz"
	cat "$KIT/initramfs.cpio.gz" "$dir/overlay.cpio.gz" >"$dir/initrd"
}

# virtio_disk_boot NAME INITRD OUT ARGS...: boot Linux -accel tcg with
# virtio-check.init and the devices ARGS, serial output into OUT; then the
# checks every disk run shares: exit status 0, the guest's checks finished
# and unmounted, a 64 MiB /dev/vda, no device failure or guest I/O error.
# Prints what is wrong; returns 1 then.
virtio_disk_boot() {
	local name=$1 initrd=$2 out=$3 rc ok=0
	shift 3
	timeout -k 5 "$LINUX_TIMEOUT" "$MINIVMM" -accel tcg -m 512M -nographic -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$initrd" -append "console=ttyS0 panic=-1 no_timer_check" \
		"$@" </dev/null 2>&1 | tr -d '\r' >"$out"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || { echo "$name: exit status $rc, want 0"; ok=1; }
	grep -q '^VIRTIO-CHECK END$' "$out" || { echo "$name: the guest's checks did not finish"; ok=1; }
	grep -q "^VIRTIO-CHECK vda size=$((64 << 11)) ro=0 " "$out" ||
		{ echo "$name: /dev/vda: $(grep '^VIRTIO-CHECK vda ' "$out" || echo missing)"; ok=1; }
	if grep -E 'needs a reset|BUG:|Oops|Call Trace|I/O error' "$out"; then
		echo "$name: a device failed or the guest saw errors"
		ok=1
	fi
	[ $ok = 0 ] || { echo "--- $name serial output (last 30 lines) ---"; tail -n 30 "$out"; }
	return $ok
}

# virtio_disk_make IMG: a 64 MiB ext4 file system made by the host with
# mkfs.ext4 -d, holding a few files and MD5SUMS of them
virtio_disk_make() {
	local img=$1 dir
	dir=$(mktemp -d)
	mkdir -p "$dir/sub/deeper"
	head -c 1234567 /dev/urandom >"$dir/random.bin"
	seq 1 50000 >"$dir/sub/numbers.txt"
	printf 'minivmm\n' >"$dir/hello.txt"
	head -c $((100 * 4096)) /dev/urandom >"$dir/sub/deeper/pages.bin"
	(cd "$dir" && find . -type f | sort | xargs md5sum) >"$img.md5"
	mv "$img.md5" "$dir/MD5SUMS"
	PATH=$PATH:/sbin:/usr/sbin mkfs.ext4 -q -F -b 4096 -L minivmm -d "$dir" "$img" 64M
	local rc=$?
	rm -rf "$dir"
	return $rc
}

# virtio_disk_check NAME IMG REPORT: REPORT holds the guest's VIRTIO-CHECK
# lines; checks the guest read every file right, and that what it wrote is
# in the image (debugfs) and the file system is clean (e2fsck -fn).
# Prints what is wrong; returns 1 then.
virtio_disk_check() {
	local name=$1 img=$2 rep=$3 ok=0 n f sum got
	local tmp
	tmp=$(mktemp)
	n=$(grep -c . <(PATH=$PATH:/sbin:/usr/sbin debugfs -R "cat /MD5SUMS" "$img" 2>/dev/null))
	grep -q "^VIRTIO-CHECK md5-check rc=0 ok=$n of=$n$" "$rep" ||
		{ echo "$name: the guest's checksums of the host's files: $(grep '^VIRTIO-CHECK md5-check' "$rep" || echo none)"; ok=1; }
	grep -q '^VIRTIO-CHECK umount ok$' "$rep" || { echo "$name: the guest did not unmount"; ok=1; }
	n=0
	while read -r f sum; do
		PATH=$PATH:/sbin:/usr/sbin debugfs -R "dump $f $tmp" "$img" >/dev/null 2>&1
		got=$(md5sum <"$tmp" | cut -d' ' -f1)
		if [ "$got" != "$sum" ]; then
			echo "$name: $f in the image has md5 $got, the guest wrote $sum"
			ok=1
		fi
		n=$((n + 1))
	done < <(sed -n 's/^VIRTIO-CHECK wrote \(\/[^ ]*\) \([0-9a-f]*\)$/\1 \2/p' "$rep")
	[ $n -ge 4 ] || { echo "$name: the guest reported $n files written, want 4"; ok=1; }
	if PATH=$PATH:/sbin:/usr/sbin debugfs -R "stat /guest/gone.bin" "$img" 2>&1 | grep -q 'Inode:'; then
		echo "$name: /guest/gone.bin, deleted in the guest, is still there"
		ok=1
	fi
	if ! PATH=$PATH:/sbin:/usr/sbin e2fsck -fn "$img" >"$tmp" 2>&1; then
		echo "$name: e2fsck -fn finds problems:"
		head -n 20 "$tmp"
		ok=1
	fi
	rm -f "$tmp"
	return $ok
}

# virtio_report_check NAME REPORT QUEUES: what every run of
# virtio-check.init with virtio-rng and one disk must report: the checks
# finished, /dev/hwrng gives fresh bytes from virtio_rng.0, /dev/vda has
# the image's size and QUEUES queues, no device failed and the guest saw
# no error.  Prints what is wrong; returns 1 then.
virtio_report_check() {
	local name=$1 rep=$2 queues=$3 ok=0
	grep -q '^VIRTIO-CHECK END$' "$rep" || { echo "$name: the guest's checks did not finish"; ok=1; }
	grep -q '^VIRTIO-CHECK rng-current virtio_rng.0$' "$rep" ||
		{ echo "$name: rng_current is not virtio_rng.0"; ok=1; }
	grep -q '^VIRTIO-CHECK rng-bytes 4096 differ$' "$rep" ||
		{ echo "$name: /dev/hwrng: $(grep '^VIRTIO-CHECK rng-bytes' "$rep" || echo 'no answer')"; ok=1; }
	grep -q "^VIRTIO-CHECK vda size=$((64 << 11)) ro=0 queues=$queues " "$rep" ||
		{ echo "$name: /dev/vda: $(grep '^VIRTIO-CHECK vda ' "$rep" || echo missing) (want 64 MiB, $queues queues)"; ok=1; }
	if grep -E 'needs a reset|BUG:|Oops|Call Trace|I/O error' "$rep"; then
		echo "$name: a device failed or the guest saw errors"
		ok=1
	fi
	return $ok
}
