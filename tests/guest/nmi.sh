#!/usr/bin/env bash
# nmi: an NMI ends HLT whatever IF says.  The PIT's I/O APIC pin is routed
# as an NMI; the guest halts with cli; hlt (only an NMI can wake it), then
# with sti; hlt and the PICs masked.  With -smp 1 (the software CPU has
# nobody else to wake it) and -smp 2 (vCPUs in turn on one thread, the AP
# never started).  The guest is guests/src/nmi.c; its expected output:
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
nmi: the PIT's pin on the I/O APIC delivers NMIs
ok 1 - an NMI ends HLT with IF=0 (cli; hlt)
ok 2 - an NMI ends HLT with IF=1 and the PICs masked (sti; hlt)
ok 3 - twenty more, one after another
summary: 3 passed, 0 failed
EOF

need_guest nmi
status=0
for smp in 1 2; do
	if qemu_reference; then
		run_qemu "$GUESTS/nmi.elf" "$WORK/qemu.out" -accel tcg -smp "$smp"
		if ! check_run "qemu -smp $smp" "$WORK/expected" "$WORK/qemu.out" "$rc" "$STATUS_PASS"; then
			echo "qemu: QEMU disagrees with the expected output: the test itself is wrong"
			status=1
		fi
	fi
	run_minivmm "$GUESTS/nmi.elf" "$WORK/minivmm.out" -accel tcg -smp "$smp"
	check_run "minivmm -smp $smp" "$WORK/expected" "$WORK/minivmm.out" "$rc" "$STATUS_PASS" || status=1
done
exit $status
