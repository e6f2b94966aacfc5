#!/usr/bin/env bash
# dbgregs: the debug registers (instruction breakpoints as faults resumed
# with RF, data write and read/write breakpoints of 2, 4 and 8 bytes and
# I/O breakpoints as traps, DR6's B0-B3 and BS, DR4/DR5, reserved bits),
# RF in the RFLAGS image of traps, the machine-check, MTRR, PAT and APIC
# base MSRs, and SYSENTER/SYSEXIT in 64-bit and compatibility mode.
# QEMU runs it as an Intel CPU, the vendor minivmm's CPUID names: its TCG
# follows the vendor for SYSENTER in long mode, which AMD's CPUs refuse.
# The guest is guests/src/dbgregs.c; its expected serial output follows.
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
dbgregs: 64-bit
ok 1 - DR6 0xffff0ff0, DR7 0x400 at reset
ok 2 -   their fixed bits stay after writing 0
ok 3 - DR0-DR3 hold 64-bit addresses
ok 4 - instruction breakpoint: #DB with RIP at the instruction, which then runs once
ok 5 -   DR6.B0 set
ok 6 -   RF clear in the image pushed
ok 7 -   RF from iretq skips it once only: it hits again on the next runs
ok 8 -   no #DB with L0 and G0 clear
ok 9 -   G2 enables DR2: DR6.B2
ok 10 - data write breakpoint: #DB after the store, RIP at the next instruction
ok 11 -   DR6.B1 set
ok 12 -   a read does not hit a write breakpoint
ok 13 -   a store past its 4 bytes does not hit
ok 14 -   a byte store to its last byte hits
ok 15 -   a store overlapping its first bytes hits
ok 16 - read/write breakpoint, 8 bytes: a read hits, DR6.B3
ok 17 -   a store to its last byte hits
ok 18 -   2 bytes: a store to the third byte does not hit
ok 19 -   a store to the second byte hits
ok 20 - single step: #DB after the instruction, DR6.BS
ok 21 - I/O breakpoint (CR4.DE): #DB after out to its port, DR6.B2
ok 22 -   another port does not hit
ok 23 -   with CR4.DE, mov from DR4: #UD
ok 24 - without CR4.DE, DR4 and DR5 are DR6 and DR7
ok 25 - DR7 with a bit of 63:32 set: #GP(0)
ok 26 - DR6 likewise
ok 27 - #BP (a trap): RF clear
ok 28 - popfq does not set RF, pushfq does not show it
ok 29 - CPUID.1:EDX reports MCE, MCA and MTRR
ok 30 - MCG_CAP: 10 banks, MCG_CTL_P, MCG_SER_P
ok 31 - MCG_STATUS 0: no machine check in progress
ok 32 -   every MCi_STATUS reads 0: no error logged
ok 33 -   MC0_CTL takes 0 and all ones
ok 34 -   writing 0 to MC1_STATUS is allowed
ok 35 -   MCG_CTL all ones
ok 36 - MTRRCAP: 8 variable ranges, fixed ranges, WC
ok 37 - MTRR_DEF_TYPE: E, FE and WB read back
ok 38 -   the 11 fixed-range MTRRs read back
ok 39 -   PHYSBASE7/PHYSMASK7 read back
ok 40 - PAT: the power-on value
ok 41 -   WC in PA2 and PA6 reads back
ok 42 - APIC base 0xfee00000, enabled, BSP
ok 43 - MCG_STATUS writable with 0
ok 44 - SYSENTER_CS/ESP/EIP read back
ok 45 - sysexitq: 64-bit ring 3, CS/SS from SYSENTER_CS + 32/40, RSP from RCX
ok 46 - sysenter from 64-bit mode: CS/SS from SYSENTER_CS, RSP from SYSENTER_ESP
ok 47 -   IF cleared
ok 48 - sysexit: compatibility mode, CS/SS from SYSENTER_CS + 16/24
ok 49 - sysenter from compatibility mode: into 64-bit ring 0
summary: 49 passed, 0 failed
EOF
QEMU_ONLY_ARGS=(-cpu qemu64,vendor=GenuineIntel)
guest_test dbgregs "$WORK/expected"
