#!/usr/bin/env bash
# A Multiboot -kernel with -bios, as QEMU boots one: SeaBIOS runs, then
# QEMU's multiboot_dma.bin option ROM copies the kernel, its modules and
# the Multiboot information from fw_cfg and enters the kernel.
#   - test guests (32-bit, 64-bit, mode switches, task switches) print
#     exactly their direct-boot output after SeaBIOS' "Booting from ROM..";
#   - mbinfo, with -append and two modules, prints the information it was
#     given: the same as under QEMU (flags, command line, where the module
#     list and each module lie, their lengths, checksums and strings), the
#     memory map from SeaBIOS' e820 with RAM from 0 and from 1 MiB.  (QEMU's
#     ACPI tables are padded to 128 KiB, so SeaBIOS reserves more at the top
#     of RAM there: the map's last RAM entry and mem_upper differ.)
. "$(dirname "$0")/common.bash"

BIOS=/usr/share/seabios/bios-256k.bin
ROM=/usr/share/qemu/multiboot_dma.bin
for f in "$BIOS" "$ROM"; do
	if [ ! -f "$f" ]; then
		echo "skipped: $f is missing (packages seabios, qemu-system-data)"
		exit 77
	fi
done

# fw_run NAME OUT ARGS...: minivmm through SeaBIOS; OUT gets what the
# guest printed (SeaBIOS' own lines up to "Booting from ROM.." dropped).
# SeaBIOS' serial console flushes lazily: the rest of that line (".\r\n")
# comes out only if SeaBIOS runs again (a timer tick) before the option ROM
# leaves real mode, so it may or may not precede the guest's first line.
fw_run() {
	local name=$1 out=$2
	shift 2
	need_guest "$name"
	run_minivmm "$GUESTS/$name.elf" "$out.raw" -accel tcg -bios "$BIOS" "$@"
	tr -d '\r' <"$out.raw" | sed -n '/Booting from ROM\.\./,$p' | sed -e '1s/.*Booting from ROM\.\.\.\{0,1\}//' -e '1{/^$/d}' >"$out"
}

status=0
for name in hello-exit exceptions32 rings modes tasks; do
	if [ "$name" = hello-exit ]; then
		printf 'Hello, world!\n' >"$WORK/expected"
	else
		sed -n "/^cat >\"\$WORK\/expected\" <<'EOF'$/,/^EOF$/p" "$(dirname "$0")/$name.sh" |
			sed '1d;$d' >"$WORK/expected"
	fi
	fw_run "$name" "$WORK/$name.out"
	check_run "minivmm -bios ... -kernel $name" "$WORK/expected" "$WORK/$name.out" "$rc" \
		"$STATUS_PASS" || status=1
done

printf 'module one\n' >"$WORK/m1"
head -c 5000 /dev/urandom >"$WORK/m2"
mbargs=(-m 128M -append "a b=c" -initrd "$WORK/m1 arg1,$WORK/m2")
fw_run mbinfo "$WORK/mbinfo.out" "${mbargs[@]}"
if [ "$rc" != "$STATUS_PASS" ]; then
	echo "minivmm mbinfo: FAILED: exit status $rc"
	status=1
fi
out=$WORK/mbinfo.out
sum() { od -An -v -tu1 "$1" | tr -s ' \n' '\n' | awk 'NF { s = (s * 31 + $1) % 4294967296 } END { printf "0x%08x", s }'; }
for want in "cmdline '$GUESTS/mbinfo.elf a b=c'" "modules 2 at " \
	"(11 bytes, sum $(sum "$WORK/m1")) '$WORK/m1 arg1'" "(5000 bytes, sum $(sum "$WORK/m2")) '$WORK/m2'" \
	'  0x0000000000000000 +0x000000000009fc00 type 1' '  0x0000000000100000 +'; do
	if ! grep -qF -- "$want" "$out"; then
		echo "minivmm mbinfo: FAILED: no line with \"$want\""
		status=1
	fi
done
if qemu_reference; then
	run_qemu "$GUESTS/mbinfo.elf" "$WORK/qemu.out" -accel tcg "${mbargs[@]}"
	keep() { grep -v -e '^mem_lower' -e '^mmap' -e '^  0x' "$1"; }
	if [ "$rc" = "$STATUS_PASS" ] && cmp -s <(keep "$out") <(keep "$WORK/qemu.out"); then
		echo "mbinfo: the Multiboot information matches QEMU's ($(keep "$out" | wc -l) lines; the memory map is SeaBIOS')"
	else
		echo "mbinfo: FAILED: differs from QEMU's (exit status $rc; --- QEMU, +++ minivmm):"
		diff -u <(keep "$WORK/qemu.out") <(keep "$out") | tail -n +3
		status=1
	fi
fi
[ $status = 0 ] && echo "$(sed -n 's/^module \(.*\)/\1/p' "$out" | wc -l) modules, $(grep -c '^  0x' "$out") memory map entries"
exit $status
