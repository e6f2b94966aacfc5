#!/usr/bin/env bash
# modes: Multiboot 32-bit protected mode -> own GDT -> 16-bit real mode ->
# protected mode -> long mode (4-level paging: 2 MiB, 4 KiB and 1 GiB pages) ->
# 64-bit mode -> compatibility mode -> 64-bit mode, one line per step.
# The guest is guests/src/modes.S; its expected serial output follows.
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
modes: start
ok 1 - Multiboot: 32-bit protected mode, magic in EAX
ok 2 - own GDT loaded, segments reloaded
ok 3 - 16-bit real mode (CR0.PE clear): printing with out
ok 4 - real mode: segment * 16 + offset addressing
ok 5 - real mode: 32-bit operand prefix
ok 6 - real mode: int 0x30 through our own IVT entry
ok 7 - back in 32-bit protected mode
ok 8 - paging on with EFER.LME: long mode active, compatibility mode
ok 9 - 64-bit mode: 64-bit registers
ok 10 - 4 KiB page alias reads the marker
ok 11 - 2 MiB page alias reads the marker
ok 12 - 1 GiB page alias reads the marker
ok 13 - compatibility mode: 32-bit code segment under long mode
ok 14 - back to 64-bit mode
summary: 14 passed, 0 failed
EOF
guest_test modes "$WORK/expected"
