#!/usr/bin/env bash
# pit_rate: a guest that sets the PIT to its fastest rate (count 2, 597 kHz)
# and halts with IF=0 must cost the host about what an idle guest costs:
# periodic PIT interrupts come at most every 200 us, as with KVM's PIT.
# Measured as host CPU time of the minivmm process (/proc/PID/stat), not
# as wall-clock speed, against hello.elf (which halts after its line),
# with a generous bound: before the limit, the fast guest kept a whole
# host core busy.
. "$(dirname "$0")/common.bash"

need_guest pit-fast
need_guest hello
SECONDS_MEASURED=3
HZ=$(getconf CLK_TCK)

# cpu_ticks GUEST: clock ticks (user + system) minivmm used over the
# measured seconds, once the guest has started
cpu_ticks() {
	"$MINIVMM" -accel tcg -nographic -no-reboot -kernel "$GUESTS/$1.elf" \
		</dev/null >"$WORK/$1.out" 2>"$WORK/$1.err" &
	local pid=$! t0 t1
	sleep 0.5
	t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null)
	sleep "$SECONDS_MEASURED"
	t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null)
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ -z "$t0" ] || [ -z "$t1" ]; then
		echo "minivmm with $1 ended early:" >&2
		head -n 5 "$WORK/$1.err" >&2
		echo -1
		return
	fi
	echo $((t1 - t0))
}

idle=$(cpu_ticks hello)
fast=$(cpu_ticks pit-fast)
[ "$idle" -ge 0 ] && [ "$fast" -ge 0 ] || exit 1
# at most 30% of a core more than the idle guest
limit=$((idle + HZ * SECONDS_MEASURED * 30 / 100))
pct() { echo $(($1 * 100 / (HZ * SECONDS_MEASURED))); }
echo "host CPU over ${SECONDS_MEASURED} s: idle guest $(pct "$idle")% of a core," \
	"PIT at count 2 $(pct "$fast")% (limit $(pct "$limit")%)"
if [ "$fast" -gt "$limit" ]; then
	echo "FAIL: the fast PIT keeps the host busy"
	exit 1
fi
