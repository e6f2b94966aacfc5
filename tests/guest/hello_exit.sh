#!/usr/bin/env bash
# hello-exit: the classic kernel (guests/src/hello.S) writes exactly
# "Hello, world!\n" on COM1 with out, then leaves through isa-debug-exit.
. "$(dirname "$0")/common.bash"

printf 'Hello, world!\n' >"$WORK/expected"
guest_test hello-exit "$WORK/expected"
