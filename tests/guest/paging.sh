#!/usr/bin/env bash
# paging: 32-bit paging with 4 MiB pages, then PAE: aliases, accessed and
# dirty bits written by the CPU, invlpg / CR3 reload / CR4.PGE flushes,
# global pages, self-modifying code.
# The guest is guests/src/paging.c; its expected serial output follows.
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
paging: 32-bit
32-bit paging on (4 MiB pages)
ok 1 - 4 MiB page: the alias at 3 GiB reads the variable
ok 2 - 4 KiB page in the window maps its frame
ok 3 - 4 KiB PTE: a read sets A, not D
ok 4 -   and A in the PDE
ok 5 - 4 KiB PTE: a write sets D
ok 6 -   the write reached the frame
ok 7 - 4 MiB PDE: a read sets A, not D
ok 8 - 4 MiB PDE: a write sets D
ok 9 -   the write reached the variable
ok 10 - window page 3 -> frame 0
ok 11 - after invlpg the new mapping is used
ok 12 - after a CR3 reload the new mapping is used
ok 13 - global page maps its frame
ok 14 - invlpg flushes a global page
ok 15 - clearing CR4.PGE flushes global pages
ok 16 - SMC: a store into the next instruction takes effect
ok 17 - SMC: code rewritten after it ran runs the new instruction
ok 18 - SMC: rewritten 50 times in a loop
ok 19 - SMC: a write through another mapping of the code is seen
PAE paging on (2 MiB pages)
ok 20 - PAE 2 MiB page: the alias at 3 GiB reads the variable
ok 21 - PAE 4 KiB page in the window maps its frame
ok 22 - PAE PTE: a read sets A, not D
ok 23 -   and A in the PDE
ok 24 - PAE PTE: a write sets D
ok 25 -   the write reached the frame
ok 26 - PAE 2 MiB PDE: a write sets A and D
ok 27 -   the write reached the variable
ok 28 - PAE: after invlpg the new mapping is used
ok 29 - PAE: after a CR3 reload the new mapping is used
ok 30 - paging off again
summary: 30 passed, 0 failed
EOF
guest_test paging "$WORK/expected"
