#!/usr/bin/env bash
# reset_images: a guest reset boots the kernel and initrd read at start-up,
# as QEMU does, whatever has happened to the files since.  The reset guest
# prints the first line of its Multiboot module (-initrd) and waits for a
# byte on COM1: 'r' resets the machine, 'q' ends the run.  Before the first
# reset both files are overwritten in place (the kernel with hello-exit,
# which would print something else and exit); before the second they are
# deleted.  Each boot must print the same line.  The guest is
# guests/src/reset.S.
. "$(dirname "$0")/common.bash"

need_guest reset
need_guest hello-exit
cp "$GUESTS/reset.elf" "$WORK/kernel.elf"
printf 'the module as it was at start-up\nsecond line\n' >"$WORK/module"
line='reset: the module says: the module as it was at start-up'
printf '%s\n%s\n%s\n' "$line" "$line" "$line" >"$WORK/expected"

in=$WORK/in
mkfifo "$in"
exec 3<>"$in"
timeout -k 5 "$RUN_TIMEOUT" "$MINIVMM" -accel tcg -nographic -kernel "$WORK/kernel.elf" \
	-initrd "$WORK/module" "${DEBUG_EXIT[@]}" <"$in" >"$WORK/out" 2>"$WORK/err" 3>&- &
pid=$!

# wait_lines N: until the guest has printed N lines (or has ended)
wait_lines() {
	local n=0
	while [ "$(grep -c '^reset:' "$WORK/out" 2>/dev/null)" -lt "$1" ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		[ $n -ge 600 ] && return 1
		sleep 0.1
		n=$((n + 1))
	done
}

wait_lines 1 && {
	cat "$GUESTS/hello-exit.elf" >"$WORK/kernel.elf"
	printf 'the module as it is now\n' >"$WORK/module"
	printf 'r' >&3
	wait_lines 2
} && {
	rm -f "$WORK/kernel.elf" "$WORK/module"
	printf 'r' >&3
	wait_lines 3
} && printf 'q' >&3
wait "$pid"
rc=$?
exec 3>&-
tr -d '\r' <"$WORK/out" >"$WORK/out.txt"
cp "$WORK/err" "$WORK/out.txt.err"
check_run "minivmm, two resets" "$WORK/expected" "$WORK/out.txt" "$rc" "$STATUS_PASS"
