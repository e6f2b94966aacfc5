#!/usr/bin/env bash
# realmode: real mode as a BIOS and boot loaders use it: big real mode, the
# A20 gate (keyboard controller and port 0x92), the PICs at 0x08/0x70 with
# the PIT's and the RTC's interrupts through the IVT, exceptions through
# the IVT (the IP each saves), INT n and far CALL/RETF across segments,
# PUSHA, and a string copy whose SI wraps at 64 KiB.  QEMU, when installed,
# gives the same output.  The guest is guests/src/realmode.S.
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
realmode: start
ok 1 - big real mode: FS keeps its 4 GiB limit, a 32-bit offset reaches 2 MiB
ok 2 - A20 off at the keyboard controller and port 0x92: FFFF:0610 wraps; port 0x92 on: no wrap
ok 3 - PICs at 0x08/0x70: the PIT's IRQ 0 through IVT entry 8, IF clear inside
ok 4 - the RTC's periodic IRQ 8 through the cascade and IVT entry 0x70
ok 5 - #DE through the IVT saves the IP of the DIV
ok 6 - #UD through the IVT saves the IP of UD2
ok 7 - BOUND out of range: #BR saves the IP of the BOUND
ok 8 - INT3 and INTO are traps: the IP after them
ok 9 - INT n to another segment: its CS, IF clear; IRET restores CS and IF
ok 10 - far CALL to another segment, RETF 2 drops the argument
ok 11 - PUSHA pushes SP as it was before
ok 12 - REP MOVSB: SI wraps from 0xFFFF to 0 within the segment
summary: 12 passed, 0 failed
EOF
guest_test realmode "$WORK/expected"
