#!/usr/bin/env bash
# bench_startup: scripts/bench.sh (at the small size, three runs each) must
# not count QEMU's firmware start-up as guest time: it times hello-exit, a
# guest that exits at once, under each engine, and the ratio it prints is
# (minivmm - its start-up) / (qemu - its start-up) of the medians it
# printed.  The raw ratio is printed beside.  (scripts/bench-boot.sh does
# the same for the Linux boot; it is not run here, it takes minutes.)
. "$(dirname "$0")/common.bash"

out=$WORK/bench.out
BENCH_GUEST=bench-small BENCH_RUNS=3 MINIVMM=$MINIVMM GUESTS=$GUESTS \
	timeout 600 "$ROOT/scripts/bench.sh" >"$out" 2>&1
rc=$?
cat "$out"
[ $rc -eq 0 ] || { echo "FAIL: scripts/bench.sh exited with $rc"; exit 1; }

# median NAME: the median the script printed for NAME
median() {
	sed -n "s/^$1 *median *\([0-9.]*\) s .*/\1/p" "$out"
}
mv=$(median 'minivmm -accel tcg')
mv_start=$(median 'minivmm -accel tcg, start-up (hello-exit)')
if [ -z "$mv" ] || [ -z "$mv_start" ]; then
	echo "FAIL: no benchmark and start-up times for minivmm"
	exit 1
fi
if ! have_qemu; then
	echo "(no QEMU: no ratio to check)"
	exit 0
fi
q=$(median 'qemu-system-x86_64 -accel tcg')
q_start=$(median 'qemu-system-x86_64 -accel tcg, start-up (hello-exit)')
if [ -z "$q" ] || [ -z "$q_start" ]; then
	echo "FAIL: no benchmark and start-up times for QEMU"
	exit 1
fi
# the small guest runs about as long as QEMU's firmware: on a busy host a
# run may take no longer than its start-up, and then there is no ratio
if grep -q '^ratio minivmm/qemu: raw [0-9.]*; with start-up taken off: none' "$out"; then
	if awk -v a="$mv" -v sa="$mv_start" -v b="$q" -v sb="$q_start" 'BEGIN { exit !(a > sa && b > sb) }'; then
		echo "FAIL: no corrected ratio although both runs outlasted their start-up"
		exit 1
	fi
	echo "no corrected ratio: a run was no longer than its start-up (busy host)"
	exit 0
fi
ratio=$(sed -n 's/^ratio minivmm\/qemu: \([0-9.]*\) with start-up taken off.*raw \([0-9.]*\)$/\1 \2/p' "$out")
if [ -z "$ratio" ]; then
	echo "FAIL: no ratio with the start-up taken off"
	exit 1
fi
if ! awk -v a="$mv" -v sa="$mv_start" -v b="$q" -v sb="$q_start" -v r="${ratio% *}" -v raw="${ratio#* }" 'BEGIN {
	want = (a - sa) / (b - sb); wraw = a / b
	exit !(r > 0 && (r - want) ^ 2 < (0.01 + want / 200) ^ 2 && (raw - wraw) ^ 2 < (0.01 + wraw / 200) ^ 2) }'; then
	echo "FAIL: the ratio ${ratio% *} is not ($mv - $mv_start) / ($q - $q_start)"
	exit 1
fi
echo "ratio ${ratio% *} = ($mv - $mv_start) / ($q - $q_start); raw ${ratio#* }"
