#!/usr/bin/env bash
# Boot-time benchmark (not a test): seconds from start to the kit's marker
# line and to power-off, for minivmm -accel tcg and, when installed, for
# qemu-system-x86_64 -accel tcg, each with -M microvm and -M pc, on the
# same kernel and initrd; then the ratios of each machine against QEMU's.
#
# Start-up before the kernel is not what is compared: QEMU runs firmware
# first (SeaBIOS, iPXE's and the Linux loader's option ROMs with -M pc,
# qboot with -M microvm: 0.2 to 0.5 s), minivmm enters the kernel at once.
# So each engine also runs guests/build/hello-exit.elf, which prints one
# line and exits, with the same options (BOOT_STARTUP_RUNS times, median),
# and that start-up time is taken off its marker and power-off times before
# the ratios.  The raw times are printed beside.
#
# Then the same kit from a disk image (scripts/boot-disk.sh: MBR, FAT,
# SYSLINUX) with no -kernel, through SeaBIOS, from virtio-blk and from IDE,
# under minivmm and QEMU -M pc with the same image: there the firmware is
# part of what is measured, and the ratio is of the whole times.
# Each boot runs BENCH_BOOT_RUNS times (default 5); the medians are shown.
#   BENCH_BOOT_TIMEOUT=S   how long one boot may take (default 300; QEMU's
#                          microvm, which on TCG can stall calibrating its
#                          clock, gets at most 60)
. "$(dirname "$0")/../tests/guest/linux.bash"
linux_kit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
append="console=ttyS0 panic=-1 minivmm.poweroff"
STARTUP_GUEST=$ROOT/guests/build/hello-exit.elf
STARTUP_RUNS=${BOOT_STARTUP_RUNS:-3}
TIMEOUT=${BENCH_BOOT_TIMEOUT:-300}
RUNS=${BENCH_BOOT_RUNS:-5}
[ -f "$STARTUP_GUEST" ] || { echo "bench-boot: $STARTUP_GUEST missing: run make -C guests" >&2; exit 1; }

# median: the median of the numbers on standard input
median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# startup CMD...: median seconds for CMD to run hello-exit and exit with
# status 33 (prints "fail" when it does not)
startup() {
	local times=() t0 t1 rc
	for i in $(seq "$STARTUP_RUNS"); do
		t0=$(date +%s.%N)
		timeout 120 "$@" -kernel "$STARTUP_GUEST" -device isa-debug-exit,iobase=0xf4,iosize=4 \
			</dev/null >"$work/startup.out" 2>&1
		rc=$?
		t1=$(date +%s.%N)
		if [ $rc -ne 33 ] || ! grep -q 'Hello, world!' "$work/startup.out"; then
			echo fail
			return
		fi
		times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
	done
	printf '%s\n' "${times[@]}" | median
}

# boot_once NAME CMD...: seconds from start to the marker and to power-off
# ("marker_s poweroff_s"); fails when the boot does
boot_once() {
	local name=$1 out=$work/$1.out limit=$TIMEOUT
	shift
	local t0 t1 t2
	[ "$name" = qemu-microvm ] && [ "$limit" -gt 60 ] && limit=60
	t0=$(date +%s.%N)
	linux_start "$out" "$@"
	if ! linux_wait "$out" "^$MARKER" "$limit" >&2; then
		linux_finish 1
		echo "$name failed; its last lines:" >&2
		tail -n 3 "$out" >&2
		return 1
	fi
	t1=$(date +%s.%N)
	linux_finish "$limit"
	t2=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.2f %.2f\n", b - a, c - a }'
}

# boot_time NAME CMD...: boot_once $RUNS times; the median marker and
# power-off times ("marker_s poweroff_s"); fails when a boot does
boot_time() {
	local runs=() i r
	for i in $(seq "$RUNS"); do
		r=$(boot_once "$@") || return 1
		runs+=("$r")
	done
	printf '%s %s\n' "$(printf '%s\n' "${runs[@]}" | awk '{ print $1 }' | median)" \
		"$(printf '%s\n' "${runs[@]}" | awk '{ print $2 }' | median)"
}

# bench NAME CMD...: prints "NAME startup_s marker_s poweroff_s"
bench() {
	local name=$1 s r
	shift
	s=$(startup "$@")
	if [ "$s" = fail ]; then
		echo "$name failed to run hello-exit" >&2
		return
	fi
	r=$(boot_time "$name" "$@" -kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" \
		-append "$append") || return
	echo "$name $s $r"
}

# bench_disk NAME CMD...: prints "NAME marker_s poweroff_s" for CMD booting
# the disk image by itself
bench_disk() {
	local name=$1 r
	shift
	r=$(boot_time "$name" "$@") || return
	echo "$name $r"
}

{
	for m in microvm pc; do
		bench "minivmm-$m" "$MINIVMM" -M "$m" -accel tcg -m 512M -nographic -no-reboot
	done
	if command -v qemu-system-x86_64 >/dev/null; then
		for m in microvm pc; do
			bench "qemu-$m" qemu-system-x86_64 -M "$m" -accel tcg -m 512M -nographic -no-reboot
		done
	fi
} >"$work/results"

printf '%-14s %10s %10s %10s   %s\n' engine start-up_s marker_s poweroff_s "(marker, power-off without start-up)"
awk '{ printf "%-14s %10.3f %10s %10s   (%.2f, %.2f)\n", $1, $2, $3, $4, $3 - $2, $4 - $2 }' "$work/results"
# each machine against QEMU's of the same name
awk '$1 ~ /^minivmm-/ { m = substr($1, 9); m1[m] = $3 - $2; m2[m] = $4 - $2; r1[m] = $3; r2[m] = $4 }
     $1 ~ /^qemu-/ { m = substr($1, 6); if (m in m1 && $3 - $2 > 0)
	printf "minivmm-%s / %s without start-up: marker %.2fx, power-off %.2fx (raw: %.2fx, %.2fx)\n",
		m, $1, m1[m] / ($3 - $2), m2[m] / ($4 - $2), r1[m] / $3, r2[m] / $4 }' "$work/results"

# the disk boots through SeaBIOS
if [ -f /usr/share/seabios/bios-256k.bin ] && "$ROOT/scripts/boot-disk.sh" "$work/disk.img"; then
	{
		for i in virtio ide; do
			bench_disk "minivmm-$i" "$MINIVMM" -accel tcg -m 512M -nographic -no-reboot \
				-drive "file=$work/disk.img,format=raw,if=$i"
			if command -v qemu-system-x86_64 >/dev/null; then
				bench_disk "qemu-pc-$i" qemu-system-x86_64 -M pc -accel tcg -m 512M -nodefaults \
					-vga none -nographic -serial stdio -no-reboot \
					-drive "file=$work/disk.img,format=raw,if=$i"
			fi
		done
	} >"$work/disk"
	echo
	echo "disk image through SeaBIOS (no -kernel): seconds to the marker and to power-off"
	awk '{ printf "%-18s %10s %10s\n", $1, $2, $3 }' "$work/disk"
	awk '{ t[$1] = $2; p[$1] = $3 }
	     END { for (i in t) if (i ~ /^minivmm-/) { q = "qemu-pc-" substr(i, 9)
		   if (t[q] > 0) printf "minivmm / qemu -M pc, %s disk: marker %.2fx, power-off %.2fx\n",
			substr(i, 9), t[i] / t[q], p[i] / p[q] } }' "$work/disk"
fi
