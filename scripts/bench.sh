#!/usr/bin/env bash
# CPU benchmark: boot guests/build/bench.elf (hashing, CRC32, quicksort,
# mandelbrot and n-body in SSE2 doubles, a bytecode interpreter) under
# minivmm -accel tcg and, when installed, qemu-system-x86_64 -accel tcg.
# Each run must print the checksums of the same C built for the host and
# exit through isa-debug-exit (status 33), else its time means nothing.
# Prints the median wall time of BENCH_RUNS runs for each, and the ratio
# minivmm / qemu.  Not part of `make test` (bench_small.sh checks the
# results at a small size there).
#
#   scripts/bench.sh                 (or: make bench)
#   BENCH_RUNS=5 MINIVMM=build/x/minivmm scripts/bench.sh
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MINIVMM=${MINIVMM:-$BUILD/minivmm}
GUESTS=${GUESTS:-guests/build}
RUNS=${BENCH_RUNS:-3}
TIMEOUT=${BENCH_TIMEOUT:-1200}
KERNEL=$GUESTS/bench.elf
DEBUG_EXIT=(-device isa-debug-exit,iobase=0xf4,iosize=4)

if [ ! -f "$KERNEL" ] || [ ! -x "$GUESTS/bench-host" ]; then
	echo "bench: $KERNEL or $GUESTS/bench-host missing: run make -C guests" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$GUESTS/bench-host" >"$work/expected"

now() { date +%s.%N; }

# time_runs NAME CMD...: CMD writes the serial output to $work/out; prints
# one line and leaves the median in $median (empty when a run failed)
time_runs() {
	local name=$1 times=() t0 t1 rc
	shift
	median=
	for i in $(seq "$RUNS"); do
		: >"$work/out"
		t0=$(now)
		timeout "$TIMEOUT" "$@" </dev/null >"$work/stdout" 2>"$work/stderr"
		rc=$?
		t1=$(now)
		if [ -s "$work/stdout" ] && [ ! -s "$work/out" ]; then
			cp "$work/stdout" "$work/out"	# -nographic: serial on stdout
		fi
		if [ $rc -ne 33 ] || ! cmp -s "$work/expected" "$work/out"; then
			echo "$name: run $i FAILED (exit status $rc; want 33 and the host's checksums)"
			diff -u "$work/expected" "$work/out" | tail -n +3 | head -20
			head -5 "$work/stderr"
			return 1
		fi
		times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
	done
	median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	printf '%-30s median %8.3f s   (runs: %s)\n' "$name" "$median" "${times[*]}"
}

t0=$(now)
"$GUESTS/bench-host" >/dev/null
printf '%-30s        %8.3f s   (same C, one run, for scale)\n' "native host" \
	"$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')"

status=0
mv_time= qemu_time=
if [ -x "$MINIVMM" ]; then
	if time_runs "minivmm -accel tcg" "$MINIVMM" -nographic -no-reboot -kernel "$KERNEL" \
		"${DEBUG_EXIT[@]}" -accel tcg; then
		mv_time=$median
	else
		status=1
	fi
else
	echo "minivmm: not built ($MINIVMM)"
	status=1
fi
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	if time_runs "qemu-system-x86_64 -accel tcg" qemu-system-x86_64 -nodefaults -display none \
		-serial "file:$work/out" -no-reboot -kernel "$KERNEL" "${DEBUG_EXIT[@]}" -accel tcg; then
		qemu_time=$median
	fi
else
	echo "qemu-system-x86_64: not installed, no comparison"
fi
if [ -n "$mv_time" ] && [ -n "$qemu_time" ]; then
	awk -v a="$mv_time" -v b="$qemu_time" 'BEGIN { printf "ratio minivmm/qemu: %.2f\n", a / b }'
fi
exit $status
