#!/usr/bin/env bash
# tasks: hardware task switching in 32-bit protected mode: lcall through a
# task gate and iret back (NT, the back link, busy bits, CR0.TS), a task
# resumed after its iret, ljmp between tasks, a 16-bit TSS, int n and #DF
# through IDT task gates (the error code on the new task's stack, the
# faulting EIP in the old TSS), and the faults: a busy TSS (#GP), a
# not-present one (#NP), a limit below 0x67 (#TS), iret with NT to a TSS
# that is not busy (#TS).  Then, minivmm only (QEMU leaves the T bit
# out), with -append tbit: a TSS with the T bit traps (#DB, DR6.BT) before
# the new task's first instruction, at every switch to it.
# The guest is guests/src/tasks.c; its expected serial output follows.
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
tasks: 32-bit protected mode
ok 1 - lcall through a task gate runs the task
ok 2 -   the called task has NT set
ok 3 -   its back link is the caller's TSS
ok 4 -   both TSSs are busy
ok 5 - iret back: the called TSS is no longer busy
ok 6 -   the caller's stays busy
ok 7 -   the caller's NT is clear
ok 8 -   CR0.TS is set
ok 9 - lcall to the TSS resumes the task after its iret
ok 10 - ljmp to a TSS runs the task
ok 11 -   without NT
ok 12 -   and without a back link
ok 13 -   the old TSS is no longer busy, the new one is
ok 14 - ljmp back: the busy bits go with the running task
ok 15 - lcall to a 16-bit TSS runs the task
ok 16 -   its back link is the caller's TSS
ok 17 -   iret back leaves it available (type 1)
ok 18 -   and a second call resumes it after its iret
ok 19 - int $0x85 through an IDT task gate runs the task
ok 20 -   with NT and the back link
ok 21 - #DF through an IDT task gate runs the #DF task
ok 22 -   the error code 0 is on its stack
ok 23 -   the old TSS holds the faulting EIP
ok 24 -   its back link is the faulting task's TSS
ok 25 -   iret back leaves it available
ok 26 - #GP(sel) calling a busy TSS
ok 27 - #NP(sel) jumping to a not-present TSS
ok 28 - #TS(sel) jumping to a TSS whose limit is below 0x67
ok 29 - #TS(sel) on iret with NT to a TSS that is not busy
ok 30 -   the faults changed no busy bit
summary: 30 passed, 0 failed
EOF
status=0
sed '$d' "$WORK/expected" >"$WORK/expected-tbit"
cat >>"$WORK/expected-tbit" <<'EOF'
ok 31 - ljmp to a TSS with the T bit runs the task
ok 32 -   after a #DB at its first instruction
ok 33 -   with DR6.BT set
ok 34 -   a second switch to it traps again
ok 35 - int through a task gate to a TSS with the T bit runs the task
ok 36 -   after a #DB at its first instruction
ok 37 -   with DR6.BT set
ok 38 -   a second int traps again
summary: 38 passed, 0 failed
EOF
run_minivmm "$GUESTS/tasks.elf" "$WORK/tbit.out" -accel tcg -append tbit
check_run "minivmm -append tbit" "$WORK/expected-tbit" "$WORK/tbit.out" "$rc" "$STATUS_PASS" || status=1
(guest_test tasks "$WORK/expected") || status=1
exit $status
