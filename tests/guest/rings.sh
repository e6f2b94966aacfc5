#!/usr/bin/env bash
# rings: ring 3 and back through iretq, SYSCALL/SYSRET (STAR/LSTAR/SFMASK),
# int 0x80 through a DPL-3 gate with the TSS.RSP0 stack switch, an IST stack;
# privileged instructions and supervisor pages fault in ring 3.
# The guest is guests/src/rings.c; its expected serial output follows.
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
rings: 64-bit
ok 1 - ring 0 int $0x83: frame on the IST1 stack
ok 2 - back in ring 0 through int $0x80 exit
ok 3 -   CPL 0 again
ok 4 - iretq to ring 3: CS 0x2b, SS 0x23
ok 5 - syscall: kernel CS from STAR[47:32]
ok 6 -   SFMASK cleared IF
ok 7 -   handler on the kernel stack
ok 8 -   result in RAX
ok 9 - sysret: CS 0x2b, SS 0x23 from STAR[63:48]
ok 10 -   RFLAGS restored from R11 (IF set)
ok 11 - int $0x80 from ring 3: handler in ring 0
ok 12 -   saved CS/SS are the ring-3 ones
ok 13 -   frame on the TSS.RSP0 stack
ok 14 -   saved RSP is the user stack pointer
ok 15 - iretq back to ring 3 with the result
ok 16 - ring 3 int $0x83: frame on the IST1 stack
ok 17 - int $0x81 (DPL 0 gate) in ring 3: #GP, IDT bit set
ok 18 - hlt in ring 3: #GP(0)
ok 19 - cli in ring 3 with IOPL 0: #GP(0)
ok 20 - mov from CR3 in ring 3: #GP(0)
ok 21 - out in ring 3 without I/O permission: #GP(0)
ok 22 - ring 3 read of a supervisor page: #PF error P|U
ok 23 - ring 3 write to a supervisor page: #PF error P|W|U
summary: 23 passed, 0 failed
EOF
guest_test rings "$WORK/expected"
