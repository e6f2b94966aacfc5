#!/usr/bin/env bash
# hello under KVM: the hello-exit kernel with -accel kvm must print exactly
# "Hello, world!\n" and leave through isa-debug-exit.  Needs /dev/kvm.
. "$(dirname "$0")/common.bash"

need_kvm
need_guest hello-exit
printf 'Hello, world!\n' >"$WORK/expected"
run_minivmm "$GUESTS/hello-exit.elf" "$WORK/minivmm.out" -accel kvm
check_run "minivmm -accel kvm" "$WORK/expected" "$WORK/minivmm.out" "$rc" "$STATUS_PASS"
