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
# Start-up is not the guest's work, and the two engines differ there:
# QEMU runs its firmware (SeaBIOS, then the option ROM that loads the
# kernel: some 0.3 s) before the guest, minivmm enters the kernel at once.
# So each engine also runs hello-exit.elf, which prints one line and exits,
# with the same options; the median of that start-up time is taken off
# the engine's median before the corrected ratio is worked out (the raw
# ratio is printed too).
#
#   scripts/bench.sh                 (or: make bench)
#   BENCH_RUNS=5 MINIVMM=build/x/minivmm scripts/bench.sh
#   BENCH_GUEST=bench-small scripts/bench.sh    (the size make test uses)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MINIVMM=${MINIVMM:-$BUILD/minivmm}
GUESTS=${GUESTS:-guests/build}
RUNS=${BENCH_RUNS:-3}
TIMEOUT=${BENCH_TIMEOUT:-1200}
BENCH_GUEST=${BENCH_GUEST:-bench}
KERNEL=$GUESTS/$BENCH_GUEST.elf
HOST=$GUESTS/$BENCH_GUEST-host
STARTUP=$GUESTS/hello-exit.elf
DEBUG_EXIT=(-device isa-debug-exit,iobase=0xf4,iosize=4)

if [ ! -f "$KERNEL" ] || [ ! -f "$STARTUP" ] || [ ! -x "$HOST" ]; then
	echo "bench: $KERNEL, $STARTUP or $HOST missing: run make -C guests" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$HOST" >"$work/bench.expected"
printf 'Hello, world!\n' >"$work/hello-exit.expected"

now() { date +%s.%N; }

# time_runs NAME GUEST CMD...: CMD (which runs GUEST) writes the serial
# output to $work/out; prints one line and leaves the median in $median
# (empty when a run failed)
time_runs() {
	local name=$1 guest=$2 times=() t0 t1 rc
	shift 2
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
		if [ $rc -ne 33 ] || ! cmp -s "$work/$guest.expected" "$work/out"; then
			echo "$name: run $i FAILED (exit status $rc; want 33 and the expected output)"
			diff -u "$work/$guest.expected" "$work/out" | tail -n +3 | head -20
			head -5 "$work/stderr"
			return 1
		fi
		times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
	done
	median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	printf '%-52s median %8.3f s   (runs: %s)\n' "$name" "$median" "${times[*]}"
}

# engine NAME CMD...: the benchmark and the start-up guest under CMD (the
# kernel goes last); sets $time (benchmark) and $startup, or returns 1
engine() {
	local name=$1
	shift
	time_runs "$name, start-up (hello-exit)" hello-exit "$@" -kernel "$STARTUP" || return 1
	startup=$median
	time_runs "$name" bench "$@" -kernel "$KERNEL" || return 1
	time=$median
}

t0=$(now)
"$HOST" >/dev/null
printf '%-52s        %8.3f s   (same C, one run, for scale)\n' "native host" \
	"$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')"

status=0
mv_time= qemu_time=
if [ -x "$MINIVMM" ]; then
	if engine "minivmm -accel tcg" "$MINIVMM" -nographic -no-reboot "${DEBUG_EXIT[@]}" -accel tcg; then
		mv_time=$time mv_startup=$startup
	else
		status=1
	fi
else
	echo "minivmm: not built ($MINIVMM)"
	status=1
fi
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	if engine "qemu-system-x86_64 -accel tcg" qemu-system-x86_64 -nodefaults -display none \
		-serial "file:$work/out" -no-reboot "${DEBUG_EXIT[@]}" -accel tcg; then
		qemu_time=$time qemu_startup=$startup
	fi
else
	echo "qemu-system-x86_64: not installed, no comparison"
fi
if [ -n "$mv_time" ] && [ -n "$qemu_time" ]; then
	awk -v a="$mv_time" -v b="$qemu_time" -v sa="$mv_startup" -v sb="$qemu_startup" 'BEGIN {
		if (a - sa > 0 && b - sb > 0)
			printf "ratio minivmm/qemu: %.2f with start-up taken off (%.3f s / %.3f s); raw %.2f\n",
				(a - sa) / (b - sb), a - sa, b - sb, a / b
		else
			printf "ratio minivmm/qemu: raw %.2f; with start-up taken off: none, a run was no longer than its start-up\n",
				a / b }'
fi
exit $status
