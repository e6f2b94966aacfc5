#!/usr/bin/env bash
# Crash safety as a guest sees it: Debian's kernel runs
# tests/guest/crash-writer.init, a write-and-fsync loop on /dev/vda that
# reports each record on the serial port only once its fsync returned,
# while a second writer keeps unsynced writes in flight.  The host
# SIGKILLs minivmm at a random moment (after a random number of records,
# plus a random part of a second), CRASH_KILLS times (default 3) per disk,
# booting again on the same image each time; after each kill:
#   `qemu-img check` finds no corruption (leaked clusters are allowed);
#   every record any boot reported as fsync'd is in the image.
# The disks: qcow2 v3 with cache=writeback (metadata lives in minivmm's
# memory until a flush: the guest must see a volatile write cache, "write
# back", so that Linux sends the FLUSHes whose completion this test holds
# minivmm to); qcow2 v3 with cache=writethrough (the guest must see "write
# through" and sends no flushes: each write is durable when it completes);
# raw with cache=none (O_DIRECT, aio=io_uring).
# CRASH_KILLS=N, and the drive options of each (CRASH_OPTS_qcow2,
# CRASH_OPTS_qcow2_wt, CRASH_OPTS_raw) may be changed, CRASH_ONLY=NAME
# runs one: cache=unsafe on qcow2 must make the test fail, which shows it
# can.
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/virtio.bash"
linux_kit
command -v qemu-img >/dev/null || { echo "skipped: qemu-img is not installed"; exit 77; }
KILLS=${CRASH_KILLS:-3}
[ "$KILLS" -le 60 ] || { echo "CRASH_KILLS=$KILLS: at most 60 (the records' room on the disk)"; exit 2; }
work=$(mktemp -d)
trap '[ -n "${VM_PID:-}" ] && kill -KILL "$VM_PID" 2>/dev/null; rm -rf "$work"' EXIT
status=0

virtio_initrd "$work" "$ROOT/tests/guest/crash-writer.init"

# records_present NAME RAW LOG: every "B I" of LOG is record I of boot B in RAW
records_present() {
	local name=$1 raw=$2 b i p got bad=0
	while read -r b i; do
		p=$((b * 64 + i))
		got=$(dd if="$raw" bs=4096 skip=$((p * 16 + p % 16)) count=1 2>/dev/null | head -n 1 | tr -d '\0')
		if [ "$got" != "MINIVMM-CRASH boot=$b rec=$i" ]; then
			echo "$name: record $i of boot $b was fsync'd but the image holds '${got:0:60}'"
			bad=$((bad + 1))
			[ $bad -ge 5 ] && break
		fi
	done <"$3"
	return $((bad > 0))
}

# crash NAME FORMAT DRIVE_OPTS CACHE: CACHE is what the guest must see
crash() {
	local name=$1 fmt=$2 opts=$3 cache=$4 img=$work/$1.$2 out=$work/$1.out log=$work/$1.fsynced
	[ -z "${CRASH_ONLY:-}" ] || [ "$CRASH_ONLY" = "$name" ] || return 0
	local k want raw check rc leaks=0
	: >"$log"
	if [ "$fmt" = qcow2 ]; then
		qemu-img create -q -f qcow2 -o compat=1.1 "$img" 512M || return 1
	else
		truncate -s 512M "$img" || return 1
	fi
	for ((k = 0; k < KILLS; k++)); do
		linux_start "$out" "$MINIVMM" -accel tcg -m 256M -nographic -no-reboot \
			-kernel "$KIT/bzImage" -initrd "$work/initrd" \
			-append "console=ttyS0 panic=-1 quiet no_timer_check crash.boot=$k" \
			-drive "file=$img,format=$fmt,if=virtio,$opts"
		if ! linux_wait "$out" '^CRASH-FSYNCED' 600 >"$work/wait.err"; then
			echo "$name boot $k: $(cat "$work/wait.err")"
			tail -n 20 "$out"
			linux_finish 1
			return 1
		fi
		# the kill: after 0 to 11 more records, and up to 0.9 s more
		want=$((1 + RANDOM % 12))
		linux_wait_count "$out" "^CRASH-FSYNCED" "$want" 300 >/dev/null
		sleep "0.$((RANDOM % 10))"
		kill -KILL "$VM_PID" 2>/dev/null
		wait "$VM_PID" 2>/dev/null
		exec 3>&-
		VM_PID=
		grep -q '^CRASH-WRITER write failed' "$out" && { echo "$name boot $k: a guest write failed"; return 1; }
		grep -q "^CRASH-WRITER boot=$k write_cache=$cache" "$out" ||
			{ echo "$name: the guest does not see a $cache cache: $(grep '^CRASH-WRITER boot' "$out")"; return 1; }
		tr -d '\r' <"$out" | sed -n 's/^CRASH-FSYNCED \([0-9]*\) \([0-9]*\)$/\1 \2/p' >>"$log"
		raw=$img
		if [ "$fmt" = qcow2 ]; then
			check=$(qemu-img check -f qcow2 "$img" 2>&1)
			rc=$?
			if [ $rc = 3 ]; then
				leaks=$((leaks + 1))
			elif [ $rc != 0 ]; then
				echo "$name boot $k: qemu-img check exit $rc:"
				echo "$check" | head -n 20
				return 1
			fi
			raw=$work/$name.raw
			qemu-img convert -f qcow2 -O raw "$img" "$raw" || { echo "$name: cannot read the image"; return 1; }
		fi
		records_present "$name boot $k" "$raw" "$log" || return 1
	done
	local checked="a raw file: no metadata to check"
	[ "$fmt" = qcow2 ] && checked="qemu-img check: none corrupt, $leaks with leaks only"
	echo "$name: ok ($KILLS kills, $(wc -l <"$log") fsync'd records all in the image; $checked)"
}

crash qcow2 qcow2 "${CRASH_OPTS_qcow2:-cache=writeback}" write-back || status=1
crash qcow2_wt qcow2 "${CRASH_OPTS_qcow2_wt:-cache=writethrough}" write-through || status=1
crash raw raw "${CRASH_OPTS_raw:-cache=none,aio=io_uring}" write-back || status=1
exit $status
