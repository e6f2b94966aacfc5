#!/usr/bin/env bash
# bench-small: the CPU benchmark guest at its smallest size (hashing, CRC32,
# quicksort, mandelbrot and n-body in SSE2 doubles, a bytecode interpreter).
# Its checksums must equal those of the same C compiled for the host
# (guests/build/bench-small-host).  The timed run is scripts/bench.sh.
. "$(dirname "$0")/common.bash"

if [ ! -x "$GUESTS/bench-small-host" ]; then
	echo "FAIL: $GUESTS/bench-small-host is missing (make -C guests)"
	exit 1
fi
"$GUESTS/bench-small-host" >"$WORK/expected" || exit 1
guest_test bench-small "$WORK/expected"
