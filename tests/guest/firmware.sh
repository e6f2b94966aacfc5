#!/usr/bin/env bash
# firmware: with no -kernel, minivmm boots Debian's SeaBIOS, which finds
# the i440FX/PIIX chipset, fw_cfg with its DMA interface, the memory map
# and minivmm's ACPI tables through the table loader, prints on the serial
# console (no VGA: its serial console) and, with no disk, ends at "No
# bootable device."  Its log on port 0x402 (-debugcon with
# -global isa-debugcon.iobase=0x402) shows what it found.  QEMU with the
# same firmware and no VGA prints the same last line.
. "$(dirname "$0")/common.bash"

BIOS=/usr/share/seabios/bios-256k.bin
if [ ! -f "$BIOS" ]; then
	echo "skipped: $BIOS is missing (package seabios)"
	exit 0
fi

# run_until WHO OUT PATTERN CMD...: start CMD (serial output to OUT), wait
# for PATTERN in OUT, then SIGTERM it
run_until() {
	local who=$1 out=$2 pattern=$3
	shift 3
	: >"$out"
	"$@" </dev/null >"$out.stdout" 2>"$out.err" &
	local pid=$! waited=0
	while ! grep -q "$pattern" "$out" 2>/dev/null && kill -0 $pid 2>/dev/null &&
		[ $waited -lt $((RUN_TIMEOUT * 10)) ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	local found=1
	grep -q "$pattern" "$out" && found=0
	kill -TERM $pid 2>/dev/null
	wait $pid 2>/dev/null
	if [ $found -ne 0 ]; then
		echo "$who: FAILED: no '$pattern' on the serial port in ${RUN_TIMEOUT}s; got:"
		tr -d '\r' <"$out" | tail -n 20 | sed 's/^/  /'
		sed 's/^/  stderr: /' "$out.err" | head -n 10
	fi
	return $found
}

status=0
if qemu_reference; then
	run_until qemu "$WORK/qemu.out" 'No bootable device' qemu-system-x86_64 -accel tcg \
		-nodefaults -vga none -nographic -serial "file:$WORK/qemu.out" -no-reboot ||
		status=1
fi
run_until minivmm "$WORK/minivmm.out" 'No bootable device' "$MINIVMM" -accel tcg -nographic \
	-serial "file:$WORK/minivmm.out" -debugcon "file:$WORK/seabios.log" \
	-global isa-debugcon.iobase=0x402 -no-reboot || status=1
# what SeaBIOS found, in its own words
for line in 'Running on QEMU (i440fx)' 'QEMU fw_cfg DMA interface supported' \
	'qemu/e820: addr 0x0000000000000000 len 0x0000000008000000 \[RAM\]' \
	'Moving pm_base to 0x600' 'PCI: init bdf=00:01.0 id=8086:7000' \
	'PCI: init bdf=00:01.3 id=8086:7113' 'Using pmtimer, ioport 0x608' \
	'Found 1 cpu(s)' 'table(50434146)=' 'ACPI: parse DSDT' 'sercon: using ioport 0x3f8' \
	'No bootable device.'; do
	if ! grep -q "$line" "$WORK/seabios.log"; then
		echo "minivmm: FAILED: SeaBIOS' log lacks '$line'"
		status=1
	fi
done
if grep -qi 'internal error\|WARNING' "$WORK/seabios.log"; then
	echo "minivmm: FAILED: SeaBIOS reports a problem:"
	grep -i 'internal error\|WARNING' "$WORK/seabios.log" | head -n 5 | sed 's/^/  /'
	status=1
fi
# the serial console shows the banner and the end, as under QEMU
if ! grep -q 'SeaBIOS (version' "$WORK/minivmm.out"; then
	echo "minivmm: FAILED: no SeaBIOS banner on the serial console"
	status=1
fi
# a firmware file that is not one is refused with one line
printf 'short' >"$WORK/bad.bin"
"$MINIVMM" -accel tcg -nographic -bios "$WORK/bad.bin" </dev/null >"$WORK/bad.out" 2>&1
rc=$?
if [ $rc -ne 1 ] || ! grep -q 'not a multiple of 64 KiB' "$WORK/bad.out"; then
	echo "minivmm: FAILED: a 5-byte -bios gave status $rc: $(cat "$WORK/bad.out")"
	status=1
fi
[ $status -eq 0 ] && echo "firmware: SeaBIOS reached 'No bootable device.'"
exit $status
