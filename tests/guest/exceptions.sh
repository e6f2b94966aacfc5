#!/usr/bin/env bash
# exceptions: #DE, #UD, #BP, #GP, #PF (CR2 and error codes: not present,
# read-only with CR0.WP, reserved bit, NX fetch), int n through trap and
# interrupt gates, #NP for a not-present gate and #DF, in 64-bit mode; each
# checks vector, error code and saved RIP.
# The guest is guests/src/exceptions.c; its expected serial output follows.
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
exceptions: 64-bit
ok 1 - #DE on div by zero
ok 2 - #DE on idiv INT_MIN / -1 (32-bit)
ok 3 - #DE on idiv INT64_MIN / -1
ok 4 - #DE on 8-bit div quotient overflow
ok 5 - #UD on ud2
ok 6 - #BP on int3, saved RIP after it
ok 7 - #UD on a raw 0f 0b
ok 8 - #GP(sel) loading a selector past the GDT limit
ok 9 - #GP(sel) loading a code segment into SS
ok 10 - #GP(0) on a non-canonical address
ok 11 - #PF not-present read: error 0
ok 12 -   CR2 is the faulting address
ok 13 - #PF not-present write: error W
ok 14 -   CR2 is the faulting address
ok 15 - supervisor write to a read-only page with CR0.WP=0 goes through
ok 16 - #PF write to read-only with CR0.WP=1: error P|W
ok 17 -   CR2 is the faulting address
ok 18 -   the faulting write changed nothing
ok 19 - #PF reserved bit set in a PTE: error has RSVD, CR2 and RIP right
ok 20 - #PF fetch from an NX page: error P|I, RIP = target
ok 21 -   CR2 is the faulting address
ok 22 - the same page runs once NX is cleared
ok 23 - int $0x81: handler runs, saved RIP after int
ok 24 -   through a trap gate IF stays set
ok 25 - int $0x82: handler runs, saved RIP after int
ok 26 -   through an interrupt gate IF is cleared
ok 27 - #NP on int to a not-present gate, error code has IDT bit
ok 28 - #DF(0) when the #PF gate is not present
summary: 28 passed, 0 failed
EOF
guest_test exceptions "$WORK/expected"
