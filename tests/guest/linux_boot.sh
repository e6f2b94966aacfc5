#!/usr/bin/env bash
# Boot Debian's cloud kernel to a busybox shell on the serial console with
# -accel tcg, run a few commands, power off, and check the exit status.
# With more than one vCPU the machine is also reset once (`reboot -f`
# without -no-reboot) and must come back up with all its CPUs.
#   LINUX_SMP=N tests/guest/linux_boot.sh     (N vCPUs, default 1)
. "$(dirname "$0")/linux.bash"
smp=${LINUX_SMP:-1}
linux_kit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/serial

reboot_test=false
no_reboot=-no-reboot
if [ "$smp" -gt 1 ]; then
	reboot_test=true
	no_reboot=
fi
linux_start "$out" "$MINIVMM" -accel tcg -m 512M -smp "$smp" -nographic $no_reboot \
	-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "console=ttyS0 panic=-1"
status=0
if linux_wait "$out" "^$MARKER cpus=" "$LINUX_TIMEOUT"; then
	grep -q "^$MARKER cpus=$smp\b" "$out" || { echo "the guest does not see $smp CPUs"; status=1; }
	linux_type 'uname -r; echo "md5=$(md5sum /etc/testfile)"; grep -c ^processor /proc/cpuinfo | sed s/^/ncpu=/'
	linux_wait "$out" '^ncpu=[0-9]' 120 || status=1
	# Ctrl-C reaches the guest's foreground job, not minivmm
	linux_type 'sleep 600'
	sleep 2
	printf '\003' >&3
	linux_type 'echo "after-ctrl-c=$?"'
	linux_wait "$out" '^after-ctrl-c=' 60 || { echo "Ctrl-C did not stop the guest's sleep"; status=1; }
	# an idle shell costs close to nothing: the vCPU sleeps in HLT
	sleep 3
	hz=$(getconf CLK_TCK)
	t0=$(linux_cpu_ticks)
	sleep 5
	t1=$(linux_cpu_ticks)
	idle_pct=$(((t1 - t0) * 100 / (5 * hz)))
	echo "idle shell: ${idle_pct}% of a host core"
	[ "$idle_pct" -le 10 ] || { echo "an idle guest should cost close to 0% of a core"; status=1; }
	if $reboot_test; then
		linux_type 'reboot -f'
		if linux_wait "$out" "restarting system|reboot: Restarting" 120 &&
			[ "$(linux_wait_count "$out" "^$MARKER cpus=$smp\b" 2 "$LINUX_TIMEOUT")" = 2 ]; then
			echo "the machine reset and came back with $smp CPUs"
		else
			echo "after reboot -f the guest did not come back with $smp CPUs"
			status=1
		fi
	fi
	linux_type 'poweroff -f'
else
	status=1
fi
linux_finish 120 || { echo "minivmm did not end after poweroff"; status=1; }

release=$(sed 's/^linux-image-//' "$KIT/kernel-package")
want_md5=$(printf 'minivmm test file\n' | md5sum | cut -d' ' -f1)
grep -q "^$release\b" "$out" || { echo "uname -r did not print $release"; status=1; }
grep -q "^md5=$want_md5 " "$out" || { echo "md5sum of /etc/testfile is wrong"; status=1; }
grep -q "^ncpu=$smp\b" "$out" || { echo "/proc/cpuinfo does not list $smp CPUs"; status=1; }
[ "${VM_STATUS:-}" = 0 ] || { echo "exit status ${VM_STATUS:-?}, want 0"; status=1; }
# the MTRRs on, all write-back, on every CPU alike, as a BIOS leaves them:
# Linux then sets up PAT
grep -q "x86/PAT: Configuration" "$out" || { echo "Linux left PAT off: $(grep -m1 'x86/PAT' "$out")"; status=1; }
if grep -qi "mtrr.*inconsistent" "$out"; then
	echo "Linux found the CPUs' MTRRs inconsistent"
	status=1
fi
if [ $status -ne 0 ]; then
	echo "--- serial output (last 60 lines) ---"
	tail -n 60 "$out"
fi
exit $status
