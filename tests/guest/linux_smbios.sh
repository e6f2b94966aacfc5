#!/usr/bin/env bash
# SMBIOS as Debian's kernel sees it (/sys/class/dmi/id, its "DMI:" line):
#   - a direct boot (-M pc, the tables in the F segment) with -smbios
#     type=0/1/2/3/11 and -uuid: every string given, the UUID, the BIOS
#     release; without type=0 the BIOS table is minivmm's own;
#   - -M microvm direct: the same system table;
#   - through SeaBIOS (fw_cfg's etc/smbios files): the strings given, and
#     SeaBIOS' own BIOS table when type=0 says nothing;
#   - QEMU, when installed, with the same SeaBIOS command line: the same
#     lines for everything the command line set.
# Then what minivmm refuses: a bad UUID, an unknown type or key.
. "$(dirname "$0")/linux.bash"
. "$(dirname "$0")/common.bash"
linux_kit
BIOS=/usr/share/seabios/bios-256k.bin
work=$WORK
status=0
fields="bios_vendor bios_version bios_date bios_release sys_vendor product_name product_version
	product_serial product_uuid product_sku product_family board_vendor board_name board_serial
	chassis_vendor chassis_serial chassis_asset_tag"
uuid=01234567-89ab-cdef-0123-456789abcdef
system=(-uuid "$uuid"
	-smbios "type=1,manufacturer=Acme,,Inc,product=Widget 3000,version=V1,serial=SER-1234,sku=SKU-9,family=Gadgets"
	-smbios "type=2,manufacturer=BoardCo,product=Board-1,serial=BSER-7"
	-smbios "type=3,manufacturer=CaseCo,serial=CSER-5,asset=ASSET-42"
	-smbios "type=11,value=hello,value=world")
bios=(-smbios "type=0,vendor=Vendor0,version=9.8,date=01/02/2003,release=4.2")

# boot NAME VMM ARGS...: to the marker, the DMI fields into NAME.dmi
boot() {
	local name=$1 vmm=$2 out=$work/$1.out
	shift 2
	linux_start "$out" "$vmm" -accel tcg -m 256M -nographic -no-reboot "$@" \
		-kernel "$KIT/bzImage" -initrd "$KIT/initramfs.cpio.gz" -append "console=ttyS0 panic=-1"
	if linux_wait "$out" "^$MARKER cpus=" "$LINUX_TIMEOUT"; then
		linux_type "for f in $(echo $fields); do echo \"dmi \$f=\$(cat /sys/class/dmi/id/\$f 2>/dev/null)\"; done; dmesg | sed -n 's/.*\\] \\(DMI: .*\\)/\\1/p'; echo DMI-END"
		linux_wait "$out" '^DMI-END' 120
		linux_type 'poweroff -f'
	fi
	linux_finish 120
	grep -a -e '^dmi ' -e '^DMI: ' "$out" | tr -d '\r' >"$work/$name.dmi"
	if [ "$vmm" != "$MINIVMM" ] && ! grep -q "^$MARKER" "$out"; then
		echo "$name: QEMU did not reach user space: no reference this time"
		return 1
	fi
	if ! grep -q '^DMI-END' "$out" || [ "${VM_STATUS:-}" != 0 ]; then
		echo "$name: no DMI fields (exit status ${VM_STATUS:-?}); serial output:"
		tail -n 30 "$out"
		status=1
		return 1
	fi
}

# expect NAME LINE...: each line is in NAME.dmi
expect() {
	local name=$1 line bad=0
	shift
	for line in "$@"; do
		if ! grep -qxF -- "$line" "$work/$name.dmi"; then
			echo "$name: no line '$line'"
			bad=1
		fi
	done
	if [ $bad = 0 ]; then
		echo "$name: ok ($# fields as given)"
	else
		echo "--- $name: what the guest saw ---"
		cat "$work/$name.dmi"
		status=1
	fi
}

given=("dmi sys_vendor=Acme,Inc" "dmi product_name=Widget 3000" "dmi product_version=V1"
	"dmi product_serial=SER-1234" "dmi product_uuid=$uuid" "dmi product_sku=SKU-9"
	"dmi product_family=Gadgets" "dmi board_vendor=BoardCo" "dmi board_name=Board-1"
	"dmi board_serial=BSER-7" "dmi chassis_vendor=CaseCo" "dmi chassis_serial=CSER-5"
	"dmi chassis_asset_tag=ASSET-42")

if boot direct "$MINIVMM" "${system[@]}" "${bios[@]}"; then
	expect direct "${given[@]}" "dmi bios_vendor=Vendor0" "dmi bios_version=9.8" \
		"dmi bios_date=01/02/2003" "dmi bios_release=4.2" \
		"DMI: Acme,Inc Widget 3000/Board-1, BIOS 9.8 01/02/2003"
fi
if boot microvm "$MINIVMM" -M microvm "${system[@]}"; then
	expect microvm "dmi sys_vendor=Acme,Inc" "dmi product_serial=SER-1234" \
		"dmi product_uuid=$uuid" "dmi bios_vendor=minivmm"
fi
if [ -r "$BIOS" ]; then
	if boot seabios "$MINIVMM" -bios "$BIOS" "${system[@]}"; then
		expect seabios "${given[@]}" "dmi bios_vendor=SeaBIOS"
	fi
	if qemu_reference && boot qemu qemu-system-x86_64 -bios "$BIOS" "${system[@]}"; then
		# QEMU's own lines for what the command line set: the same
		missing=0
		for line in "${given[@]}" "dmi bios_vendor=SeaBIOS"; do
			grep -qxF -- "$line" "$work/qemu.dmi" || { echo "qemu: no '$line'"; missing=1; }
		done
		if [ $missing = 0 ]; then
			echo "qemu: the same $((${#given[@]} + 1)) fields"
		else
			echo "qemu: the reference differs (above)"
			status=1
		fi
	fi
else
	echo "seabios: skipped: no $BIOS (package seabios)"
fi

# expect_error NAME PATTERN ARGS...: one clear line, no run
expect_error() {
	linux_expect_refusal "$1" "$2" -kernel "$KIT/bzImage" "${@:3}" || status=1
}
expect_error bad-uuid "is not a UUID" -uuid 0123-zz
expect_error bad-type "type=17 is not supported" -smbios type=17,size=4
expect_error bad-key "unknown parameter 'colour'" -smbios type=1,colour=red
expect_error no-type "type=N first" -smbios file=/etc/passwd
expect_error bad-release "MAJOR.MINOR" -smbios type=0,release=300.1
exit $status
