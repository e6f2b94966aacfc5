#!/usr/bin/env bash
# hello: the classic kernel (guests/src/hello.S) writes exactly
# "Hello, world!\n" on COM1 with out, then halts for good (cli; hlt).
# Wait for the line, stop minivmm with SIGTERM, and check that the output
# is exactly that line and that minivmm ends promptly on the signal.
. "$(dirname "$0")/common.bash"

need_guest hello
printf 'Hello, world!\n' >"$WORK/expected"

# run_until_line WHO OUT CMD...: start CMD, wait for the line in OUT, SIGTERM it
run_until_line() {
	local who=$1 out=$2
	shift 2
	"$@" </dev/null >"$out.stdout" 2>"$out.err" &
	local pid=$! waited=0
	while ! grep -q 'Hello, world!' "$out" 2>/dev/null && kill -0 $pid 2>/dev/null &&
		[ $waited -lt $((RUN_TIMEOUT * 10)) ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	sleep 0.5	# anything printed after the line would show up now
	if ! kill -0 $pid 2>/dev/null; then
		wait $pid
		echo "$who: exited by itself with status $? before being stopped"
		return 1
	fi
	kill -TERM $pid
	for _ in $(seq 50); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $pid 2>/dev/null; then
		kill -KILL $pid
		wait $pid 2>/dev/null
		echo "$who: still running 5 s after SIGTERM"
		return 1
	fi
	wait $pid
	echo "$who: stopped by SIGTERM (exit status $?)"
	return 0
}

status=0
if qemu_reference; then
	: >"$WORK/qemu.out"
	if ! run_until_line qemu "$WORK/qemu.out" qemu-system-x86_64 -nodefaults -display none \
		-serial "file:$WORK/qemu.out" -no-reboot -kernel "$GUESTS/hello.elf" -accel tcg ||
		! check_run qemu "$WORK/expected" "$WORK/qemu.out" 0 0; then
		echo "qemu: QEMU disagrees with the expected output: the test itself is wrong"
		status=1
	fi
fi
if [ ! -x "$MINIVMM" ]; then
	echo "minivmm: FAILED: not built: $MINIVMM"
	exit 1
fi
# -nographic: the serial port is minivmm's stdout
run_until_line minivmm "$WORK/minivmm.out" sh -c 'exec "$0" -nographic -no-reboot -kernel "$1" -accel tcg >"$2"' \
	"$MINIVMM" "$GUESTS/hello.elf" "$WORK/minivmm.out" || status=1
check_run minivmm "$WORK/expected" "$WORK/minivmm.out" 0 0 || status=1
exit $status
