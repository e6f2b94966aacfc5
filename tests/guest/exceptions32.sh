#!/usr/bin/env bash
# exceptions32: the exceptions guest in 32-bit protected mode: #DE, #UD,
# #BP, #OF (into), #BR (bound), #GP and #NP with selector error codes, #PF
# under non-PAE paging (CR2, error codes), int n through trap and interrupt
# gates; each checks vector, error code and saved EIP.
# The guest is guests/src/exceptions32.c; its expected serial output follows.
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
exceptions: 32-bit
ok 1 - #DE on div by zero
ok 2 - #DE on idiv INT_MIN / -1
ok 3 - #UD on ud2
ok 4 - #BP on int3, saved EIP after it
ok 5 - #OF on into with OF set, saved EIP after it
ok 6 - #BR on bound out of range
ok 7 - no #BR when bound is in range
ok 8 - #GP(sel) loading a selector past the GDT limit
ok 9 - #GP(sel) loading a code segment into SS
ok 10 - #NP(vector * 8 + 2) on int to a not-present gate
ok 11 - #PF not-present read: error 0
ok 12 -   CR2 is the faulting address
ok 13 - #PF write to read-only with CR0.WP=1: error P|W
ok 14 -   CR2 is the faulting address
ok 15 - a read of a read-only page works
ok 16 - #PF on a read crossing into a not-present page
ok 17 -   CR2 is the first byte of the missing page
ok 18 - int $0x81 through a trap gate: IF stays set
ok 19 - int $0x82 through an interrupt gate: IF cleared
summary: 19 passed, 0 failed
EOF
guest_test exceptions32 "$WORK/expected"
