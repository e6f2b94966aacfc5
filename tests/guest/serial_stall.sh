#!/usr/bin/env bash
# serial_stall: a host reader that stops reading the guest's console must
# neither lose what a well-behaved guest writes nor stall minivmm.
#   - serial-flood waits for LSR.THRE before each byte and writes some
#     170 KB while the reader stalls for 2 s, then reads on: every byte
#     arrives, in order, and the guest exits with status 33;
#   - serial-spam writes THR and port 0xe9 without looking at LSR, into a
#     pipe nobody reads: SIGTERM, SIGINT and Ctrl-A x still end minivmm
#     within seconds, also with stderr on the same stalled pipe, and with
#     the output on -debugcon instead of the serial port.
# The guests are guests/src/serial_flood.c.
. "$(dirname "$0")/common.bash"

need_guest serial-flood
need_guest serial-spam
status=0

# --- a guest that waits for THRE loses nothing ---
seq -f 'flood %06g: the quick brown fox jumps over the lazy dog' 1 3000 >"$WORK/expected"
fifo=$WORK/flood.fifo
mkfifo "$fifo"
exec 3<>"$fifo"	# a reader that does not read, for now
timeout -k 5 "$RUN_TIMEOUT" "$MINIVMM" -accel tcg -nographic -no-reboot \
	-kernel "$GUESTS/serial-flood.elf" "${DEBUG_EXIT[@]}" </dev/null >"$fifo" 2>"$WORK/flood.err" 3>&- &
pid=$!
sleep 2
if ! kill -0 "$pid" 2>/dev/null; then
	echo "FAIL: serial-flood ended while its reader stalled"
	status=1
fi
# the reader proper, opened before the stand-in goes: a pipe without a
# reader is EPIPE, and the end of the output
exec 5<"$fifo"
cat <&5 >"$WORK/flood.out" 3>&- 5>&- &
reader=$!
exec 3>&- 5<&-
wait "$pid"
rc=$?
wait "$reader"
tr -d '\r' <"$WORK/flood.out" >"$WORK/flood.txt"
check_run "minivmm serial-flood, reader stalled for 2 s" "$WORK/expected" "$WORK/flood.txt" \
	"$rc" "$STATUS_PASS" || status=1

# --- a guest that does not wait never stalls minivmm ---
# stalled NAME HOW WANT_STATUS ERR ARGS...: run serial-spam with stdout a
# pipe nobody reads (stderr too when ERR is "pipe"); after 2 s, HOW (TERM,
# INT or ctrl-a-x) must end it within 10 s with WANT_STATUS
stalled() {
	local name=$1 how=$2 want=$3 err=$4
	shift 4
	local out=$WORK/stall.fifo in=$WORK/stall.in
	rm -f "$out" "$in"
	mkfifo "$out" "$in"
	exec 3<>"$out" 4<>"$in"	# held open, never read / written on demand
	if [ "$err" = pipe ]; then
		"$MINIVMM" -accel tcg -no-reboot -kernel "$GUESTS/serial-spam.elf" "$@" \
			<"$in" >"$out" 2>&1 3>&- 4>&- &
	else
		"$MINIVMM" -accel tcg -no-reboot -kernel "$GUESTS/serial-spam.elf" "$@" \
			<"$in" >"$out" 2>"$WORK/stall.err" 3>&- 4>&- &
	fi
	local pid=$! n=0 rc
	sleep 2
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		echo "$name: FAILED: minivmm ended before it was stopped (status $?)"
		exec 3>&- 4>&-
		status=1
		return
	fi
	case $how in
	ctrl-a-x) printf '\001x' >&4 ;;
	*) kill "-$how" "$pid" ;;
	esac
	while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$name: FAILED: minivmm still runs 10 s after $how" \
			"(main thread in $(cat "/proc/$pid/wchan" 2>/dev/null))"
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		status=1
	else
		wait "$pid"
		rc=$?
		if [ "$rc" -eq "$want" ]; then
			echo "$name: ended $((n / 10)).$((n % 10)) s after $how, exit status $rc"
		else
			echo "$name: FAILED: exit status $rc after $how (want $want)"
			status=1
		fi
	fi
	exec 3>&- 4>&-
}

stalled "serial, SIGTERM" TERM 143 file -nographic
stalled "serial, SIGINT" INT 130 file -nographic
stalled "serial, Ctrl-A x" ctrl-a-x 0 file -nographic
stalled "serial and stderr on one pipe, SIGTERM" TERM 143 pipe -nographic
stalled "debugcon, SIGTERM" TERM 143 file -display none -serial none -debugcon stdio
exit $status
