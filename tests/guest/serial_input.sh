#!/usr/bin/env bash
# serial_input: host input on COM1.  The guest echoes each line it receives
# as "got: <line>" and stops at "quit".  serial-input takes the bytes in its
# IRQ4 handler (IER receive interrupt, FIFO with trigger level 8, OUT2, PIC
# remapped); serial-input-poll polls LSR.DR.  The input goes down a pipe
# on stdin (minivmm -nographic, QEMU -serial stdio) once the guest has
# printed its first line, all at once: some 2 KiB, a 400-byte line among
# them, so the host must wait for room in the 16-byte FIFO.
# The guest is guests/src/devices_serial.c.
. "$(dirname "$0")/common.bash"

long=$(printf '%.0s0123456789' $(seq 40))
{
	printf 'hello\n'
	printf 'second line, with punctuation: !"#$%%&()*+,-./:;<=>?@[]^_{|}~\n'
	printf '\n'
	printf 'tab\there, carriage return before the newline\r\n'
	printf '8-bit: h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac\n'
	printf '%s\n' "$long"
	for i in $(seq 1 40); do
		printf 'line %d of the burst: the quick brown fox jumps over the lazy dog\n' "$i"
	done
	printf 'quitting is not quit\n'
	printf 'quit\n'
	printf 'after quit: never read\n'
} >"$WORK/input"

# What the guest must print (the input up to "quit", CRs dropped)
expected_for() {
	local first=$1 nlines nbytes
	echo "$first"
	sed -n '/^quit$/q; s/\r$//; s/^/got: /; p' "$WORK/input"
	nlines=$(sed -n '/^quit$/q; p' "$WORK/input" | wc -l)
	nbytes=$(sed -n '/^quit$/q; p' "$WORK/input" | wc -c)
	echo "received $nlines lines, $nbytes bytes before quit"
	echo "ok 1 - no line longer than the guest's buffer"
	echo "ok 2 - the guest's ring buffer never filled"
	echo "ok 3 - no overrun (LSR.OE): the host waits for room in the FIFO"
	if [ "$2" = poll ]; then
		echo "ok 4 - IIR: no interrupt pending, FIFOs on (0xc1)"
		echo "summary: 4 passed, 0 failed"
	else
		echo "ok 4 - the bytes came through IRQ4 (vector 0x24)"
		echo "ok 5 - every IIR read named received data (0x04) or timeout (0x0c), FIFOs on"
		echo "summary: 5 passed, 0 failed"
	fi
}

# run_fed OUT FIRST_LINE CMD...: run CMD with a fifo on stdin and stdout in
# OUT; once OUT has a first line, send the input.  Status in $rc.
run_fed() {
	local out=$1 first=$2 fifo=$WORK/stdin pid i
	shift 2
	rm -f "$fifo"
	mkfifo "$fifo"
	: >"$out"
	timeout -k 5 "$RUN_TIMEOUT" "$@" <"$fifo" >"$out" 2>"$out.err" &
	pid=$!
	# read-write: never blocks, and no EOF reaches the guest early
	exec 3<>"$fifo"
	for ((i = 0; i < RUN_TIMEOUT * 10; i++)); do
		head -n 1 "$out" | grep -qxF "$first" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/input" >&3
	wait "$pid"
	rc=$?
	exec 3>&-
}

status=0
for guest in serial-input serial-input-poll; do
	need_guest "$guest"
	if [ "$guest" = serial-input ]; then
		first='serial-input: IRQ4 receive interrupts; send lines, quit ends'
		expected_for "$first" irq >"$WORK/expected.$guest"
	else
		first='serial-input: polling LSR.DR; send lines, quit ends'
		expected_for "$first" poll >"$WORK/expected.$guest"
	fi
	elf=$GUESTS/$guest.elf
	if qemu_reference; then
		run_fed "$WORK/qemu.$guest" "$first" qemu-system-x86_64 -nodefaults -display none \
			-serial stdio -no-reboot -kernel "$elf" "${DEBUG_EXIT[@]}" -accel tcg
		if ! check_run "qemu $guest" "$WORK/expected.$guest" "$WORK/qemu.$guest" "$rc" "$STATUS_PASS"; then
			echo "qemu: QEMU disagrees with the expected output: the test itself is wrong"
			status=1
		fi
	fi
	if [ -x "$MINIVMM" ]; then
		run_fed "$WORK/minivmm.$guest" "$first" "$MINIVMM" -nographic -no-reboot -kernel "$elf" \
			"${DEBUG_EXIT[@]}" -accel tcg
	else
		echo "minivmm is not built: $MINIVMM" >"$WORK/minivmm.$guest.err"
		: >"$WORK/minivmm.$guest"
		rc=127
	fi
	check_run "minivmm $guest" "$WORK/expected.$guest" "$WORK/minivmm.$guest" "$rc" "$STATUS_PASS" || status=1
done
exit $status
