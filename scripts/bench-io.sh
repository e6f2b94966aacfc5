#!/usr/bin/env bash
# Disk benchmark (not a test): Debian's kernel under minivmm -accel tcg and
# qemu-system-x86_64 -accel tcg (when installed), the same kernel, initrd
# (scripts/bench-io.init with the static scripts/iobench.c), image format
# and -drive options (cache=none,aio=io_uring,detect-zeroes=off: O_DIRECT
# on the host, so the host's page cache does not serve the reads), one
# vCPU, 512 MiB, a fresh 1 GiB image per run; in the guest, timed there:
#   seq write  dd if=/dev/zero of=/dev/vda bs=1M count=256 oflag=direct
#              (on qcow2 this allocates the clusters)
#   seq read   dd if=/dev/vda of=/dev/null bs=1M count=256 iflag=direct
#   rand read  BENCH_IO_READS (default 2000) 4 KiB O_DIRECT reads, one at
#              a time (queue depth 1), at random offsets in what was written
# on raw and on qcow2; MB/s (MiB/s), IOPS and minivmm/QEMU ratios (above 1:
# minivmm is faster).  BENCH_IO_RUNS=N (default 5) boots each N times, the
# two engines taking turns, and shows the medians.
. "$(dirname "$0")/../tests/guest/linux.bash"
. "$(dirname "$0")/../tests/guest/virtio.bash"
linux_kit
READS=${BENCH_IO_READS:-2000}
RUNS=${BENCH_IO_RUNS:-5}
TIMEOUT=${BENCH_IO_TIMEOUT:-900}
OPTS="cache=none,aio=io_uring,detect-zeroes=off"
# O_DIRECT needs a real file system (/tmp may be tmpfs)
mkdir -p "$ROOT/$BUILD/bench-io"
work=$(mktemp -d -p "$ROOT/$BUILD/bench-io")
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/overlay/bin"
cc -static -O2 -Wall -o "$work/overlay/bin/iobench" "$ROOT/scripts/iobench.c" ||
	{ echo "bench-io: cannot build scripts/iobench.c statically (libc6-dev)" >&2; exit 1; }
virtio_initrd "$work" "$ROOT/scripts/bench-io.init"

# one ENGINE FORMAT: one boot on a fresh image; prints "MBps_write MBps_read IOPS"
one() {
	local engine=$1 fmt=$2 img=$work/disk.$2 out=$work/$1.$2.out
	rm -f "$img"
	qemu-img create -q -f "$fmt" "$img" 1G || return 1
	local cmd=("$MINIVMM" -accel tcg)
	[ "$engine" = qemu ] && cmd=(qemu-system-x86_64 -accel tcg -M pc)
	timeout -k 5 "$TIMEOUT" "${cmd[@]}" -m 512M -smp 1 -nographic -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$work/initrd" \
		-append "console=ttyS0 panic=-1 quiet no_timer_check bench.reads=$READS" \
		-drive "file=$img,format=$fmt,if=virtio,$OPTS" </dev/null 2>&1 | tr -d '\r' >"$out"
	if ! grep -q '^BENCH END' "$out" || [ "$(grep -c '^BENCH .* ns=' "$out")" != 3 ]; then
		echo "bench-io: $engine on $fmt failed; its last lines:" >&2
		tail -n 5 "$out" >&2
		return 1
	fi
	awk -v reads="$READS" '
		/^BENCH seqwrite/ { split($3, a, "="); w = 256 / (a[2] / 1e9) }
		/^BENCH seqread/ { split($3, a, "="); r = 256 / (a[2] / 1e9) }
		/^BENCH randread/ { split($3, a, "="); i = reads / (a[2] / 1e9) }
		END { printf "%.1f %.1f %.0f\n", w, r, i }' "$out"
}

# median: the median of the numbers on standard input
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# medians FORMAT ENGINE...: the median of RUNS boots for each figure and
# engine, one line each.  The engines take turns, so that the host disk's
# drift over the minutes of a run (cloud disks vary a lot) falls on each
# alike; medians, because a boot's figures also depend on where the
# guest's allocator happens to put dd's buffer (KASLR), which scatters
# some boots' reads over 256 separate pages.
medians() {
	local fmt=$1 i e line
	shift
	declare -A all
	for ((i = 0; i < RUNS; i++)); do
		for e in "$@"; do
			line=$(one "$e" "$fmt") || return 1
			all[$e]+="$line"$'\n'
		done
	done
	for e in "$@"; do
		echo "$(awk 'NF { print $1 }' <<<"${all[$e]}" | median)" \
			"$(awk 'NF { print $2 }' <<<"${all[$e]}" | median)" \
			"$(awk 'NF { print $3 }' <<<"${all[$e]}" | median)"
	done
}

have_qemu=0
command -v qemu-system-x86_64 >/dev/null && have_qemu=1
printf '%-6s %-9s %15s %15s %15s\n' format engine "seq write MB/s" "seq read MB/s" "rand read IOPS"
status=0
for fmt in raw qcow2; do
	engines=(minivmm)
	[ $have_qemu = 1 ] && engines+=(qemu)
	lines=$(medians "$fmt" "${engines[@]}") || { status=1; continue; }
	m=$(sed -n 1p <<<"$lines")
	printf '%-6s %-9s %15s %15s %15s\n' "$fmt" minivmm $m
	[ $have_qemu = 1 ] || continue
	q=$(sed -n 2p <<<"$lines")
	printf '%-6s %-9s %15s %15s %15s\n' "$fmt" qemu-tcg $q
	read -r mw mr mi <<<"$m"
	read -r qw qr qi <<<"$q"
	awk -v f="$fmt" -v mw="$mw" -v mr="$mr" -v mi="$mi" -v qw="$qw" -v qr="$qr" -v qi="$qi" \
		'BEGIN { printf "%-6s %-9s %15.2f %15.2f %15.2f\n", f, "ratio", mw / qw, mr / qr, mi / qi }'
done
[ $have_qemu = 1 ] || echo "(qemu-system-x86_64 is not installed: no comparison)"
exit $status
