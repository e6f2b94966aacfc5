#!/usr/bin/env bash
# Boot-time benchmark (not a test): seconds from start to the kit's marker
# line and to power-off, for minivmm -accel tcg and, when installed, for
# qemu-system-x86_64 -accel tcg with -M microvm and -M pc, on the same
# kernel and initrd; then the ratios against minivmm.
. "$(dirname "$0")/../tests/guest/linux.bash"
linux_kit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
append="console=ttyS0 panic=-1 minivmm.poweroff"

# bench NAME CMD...: prints "NAME marker_s poweroff_s"
bench() {
	local name=$1 out=$work/$1.out
	shift
	local t0 t1 t2
	t0=$(date +%s.%N)
	linux_start "$out" "$@"
	if ! linux_wait "$out" "^$MARKER" "$LINUX_TIMEOUT"; then
		linux_finish 1
		echo "$name failed"
		return
	fi
	t1=$(date +%s.%N)
	linux_finish "$LINUX_TIMEOUT"
	t2=$(date +%s.%N)
	awk -v n="$name" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%s %.2f %.2f\n", n, b - a, c - a }'
}

{
	bench minivmm "$MINIVMM" -accel tcg -m 512M -nographic -no-reboot \
		-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "$append"
	if command -v qemu-system-x86_64 >/dev/null; then
		for m in microvm pc; do
			bench "qemu-$m" qemu-system-x86_64 -M "$m" -accel tcg -m 512M -nographic \
				-no-reboot -kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "$append"
		done
	fi
} >"$work/results"

printf '%-14s %10s %10s\n' engine marker_s poweroff_s
awk '{ printf "%-14s %10s %10s\n", $1, $2, $3 }' "$work/results"
awk '$1 == "minivmm" { m1 = $2; m2 = $3 }
     $1 ~ /^qemu/ && m1 && $2 > 0 { printf "minivmm / %s: marker %.2fx, power-off %.2fx\n", $1, m1 / $2, m2 / $3 }' "$work/results"
