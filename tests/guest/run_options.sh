#!/usr/bin/env bash
# Options that change how a run ends or where its messages go, on a tiny
# raw-binary guest that powers off through the ACPI PM1a control register
# (SLP_TYP=S5 | SLP_EN), and on hello-exit:
#   - a guest power-off ends minivmm with status 0
#   - -no-shutdown keeps minivmm (and its console) alive after the power-off,
#     until Ctrl-A x
#   - -d unimp -D FILE logs unassigned accesses into FILE, not on stderr
. "$(dirname "$0")/common.bash"
status=0

# 32-bit code at 1 MiB: mov dx,0x604; mov ax,0x3400; out dx,ax; 1: hlt; jmp 1b
printf '\x66\xba\x04\x06\x66\xb8\x00\x34\x66\xef\xf4\xeb\xfd' >"$WORK/poweroff.bin"

timeout 30 "$MINIVMM" -accel tcg -nographic -kernel "$WORK/poweroff.bin" </dev/null >"$WORK/p.out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	echo "power-off: exit status 0"
else
	echo "power-off: exit status $rc, want 0"; cat "$WORK/p.out"; status=1
fi

# -no-shutdown: still there a second after the power-off; Ctrl-A x ends it
mkfifo "$WORK/in"
timeout 30 "$MINIVMM" -accel tcg -nographic -no-shutdown -kernel "$WORK/poweroff.bin" \
	<"$WORK/in" >"$WORK/ns.out" 2>&1 &
pid=$!
exec 3>"$WORK/in"
for _ in $(seq 100); do
	grep -q 'powered off' "$WORK/ns.out" && break
	sleep 0.1
done
sleep 1
if grep -q 'powered off' "$WORK/ns.out" && kill -0 $pid 2>/dev/null; then
	echo "-no-shutdown: still running after the guest powered off"
else
	echo "-no-shutdown: minivmm did not stay after the power-off"; cat "$WORK/ns.out"; status=1
fi
printf '\001x' >&3
wait $pid
rc=$?
exec 3>&-
if [ $rc -eq 0 ]; then
	echo "-no-shutdown: Ctrl-A x ended it with status 0"
else
	echo "-no-shutdown: exit status $rc after Ctrl-A x, want 0"; status=1
fi

# -d unimp -D: with -nodefaults COM1 is gone, so hello-exit's serial writes
# are unassigned accesses; they are logged to the file only
need_guest hello-exit
timeout 30 "$MINIVMM" -accel tcg -nographic -nodefaults -d unimp -D "$WORK/log" \
	-kernel "$GUESTS/hello-exit.elf" "${DEBUG_EXIT[@]}" </dev/null >"$WORK/d.out" 2>"$WORK/d.err"
rc=$?
if [ $rc -eq $STATUS_PASS ] && grep -q 'pio: unassigned write' "$WORK/log" &&
	! grep -q unassigned "$WORK/d.err"; then
	echo "-d unimp -D: unassigned port writes logged to the file"
else
	echo "-d unimp -D: exit $rc; log:"; head -5 "$WORK/log"; echo "stderr:"; head -5 "$WORK/d.err"
	status=1
fi
exit $status
