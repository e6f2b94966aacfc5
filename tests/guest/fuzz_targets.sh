#!/usr/bin/env bash
# Every libFuzzer target in tests/fuzz builds and runs clean for a few
# seconds each (FUZZ_SMOKE_SECONDS, default 2), so that the targets keep
# up with the code they fuzz and with their stubs of what they leave out;
# `make fuzz` runs them for longer.  Not a guest, but a whole-program test
# like the guests.  (Not repeated under the sanitizers: they are ASan and
# UBSan builds already.)
. "$(dirname "$0")/common.bash"
cd "$ROOT" || exit 1
make -s fuzz FUZZ_SECONDS="${FUZZ_SMOKE_SECONDS:-2}"
