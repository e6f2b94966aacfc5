#!/usr/bin/env bash
# In-guest compute benchmark (not a test): boots the Linux kit under
# minivmm -accel tcg and, when installed, qemu-system-x86_64 -accel tcg,
# then times inside the guest (from /proc/uptime, so neither firmware nor
# boot is in the figure) a workload of user-space compute and system
# calls: md5sum of 64 MiB read through a pipe, and an awk loop.
# Each engine runs the workload BENCH_RUNS times in one boot; the script
# prints the first (cold) time, the median, and the ratio of the medians.
#
#   scripts/bench-linux.sh            (or: make bench-linux)
#   BENCH_RUNS=5 MINIVMM_ARGS="-accel tcg,jit=off" scripts/bench-linux.sh
. "$(dirname "$0")/../tests/guest/linux.bash"
RUNS=${BENCH_RUNS:-5}
linux_kit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
append="console=ttyS0 panic=-1"
# one line per run: "BENCH-LINUX seconds"; the md5 must be that of 64 MiB of zeros
workload='t0=$(cut -d" " -f1 /proc/uptime); m=$(head -c 67108864 /dev/zero | md5sum); a=$(awk "BEGIN { for (i = 0; i < 200000; i++) s += i % 7; print s }"); t1=$(cut -d" " -f1 /proc/uptime); echo "BENCH-LINUX $(awk -v a=$t0 -v b=$t1 "BEGIN { print b - a }") ${m%% *} $a"'
want_md5=7f614da9329cd3aebf59b91aadc30bf0
want_awk=599994

# bench NAME CMD...: boots, runs the workload $RUNS times; prints
# "NAME first median" or "NAME failed"
bench() {
	local name=$1 out=$work/$1.out
	shift
	linux_start "$out" "$@"
	if ! linux_wait "$out" "^$MARKER" "$LINUX_TIMEOUT"; then
		linux_finish 1
		echo "$name failed: no shell"
		return
	fi
	for i in $(seq "$RUNS"); do
		linux_type "$workload"
		if [ "$(linux_wait_count "$out" '^BENCH-LINUX ' "$i" "$LINUX_TIMEOUT")" -lt "$i" ]; then
			break
		fi
	done
	linux_type 'poweroff -f'
	linux_finish 60 || true
	local lines
	lines=$(grep '^BENCH-LINUX ' "$out" | tr -d '\r')
	if [ "$(wc -l <<<"$lines")" -ne "$RUNS" ] ||
		awk -v m=$want_md5 -v a=$want_awk '$3 != m || $4 != a { bad = 1 } END { exit !bad }' <<<"$lines"; then
		echo "$name failed: wrong or missing results"
		tail -n 20 "$out" >&2
		return
	fi
	local first median
	first=$(awk 'NR == 1 { print $2 }' <<<"$lines")
	median=$(awk '{ print $2 }' <<<"$lines" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	echo "$name $first $median"
}

{
	# shellcheck disable=SC2086
	bench minivmm "$MINIVMM" -accel tcg ${MINIVMM_ARGS:-} -m 512M -nographic -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "$append"
	if command -v qemu-system-x86_64 >/dev/null; then
		bench qemu qemu-system-x86_64 -M pc -accel tcg -m 512M -nographic -no-reboot \
			-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "$append"
	fi
} >"$work/results"

printf '%-10s %10s %10s   (seconds inside the guest, %s runs in one boot)\n' engine first_s median_s "$RUNS"
awk '{ printf "%-10s %10s %10s\n", $1, $2, $3 }' "$work/results"
awk '$1 == "minivmm" && NF >= 3 { m = $3 } $1 == "qemu" && NF >= 3 && m { printf "minivmm / qemu (median): %.2fx\n", m / $3 }' \
	"$work/results"
grep -q '^minivmm [0-9]' "$work/results"
