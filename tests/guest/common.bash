# Shared by the guest test scripts (sourced; tests/run.sh only runs *.sh).
# A scenario script states the serial output its guest must print and the
# exit status it must leave with, then calls guest_test.  The guest runs
# under $MINIVMM and, when qemu-system-x86_64 is installed, under QEMU too:
# QEMU must agree with the expected output, which keeps the expectations
# honest, and minivmm must match it byte for byte.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
MINIVMM=${MINIVMM:-$ROOT/$BUILD/minivmm}
GUESTS=${GUESTS:-$ROOT/guests/build}
RUN_TIMEOUT=${GUEST_RUN_TIMEOUT:-120}
# isa-debug-exit turns a guest write of v into exit status (v << 1) | 1:
# the guests write 0x10 when every check passed, 0x11 otherwise.
STATUS_PASS=33
STATUS_FAIL=35
DEBUG_EXIT=(-device isa-debug-exit,iobase=0xf4,iosize=4)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# need_kvm: ends the test as skipped (77) without a KVM that runs any PC
# guest: no /dev/kvm, or PVM's (src/accel/kvm/kvm.c, kvm_limitation)
need_kvm() {
	if [ ! -c /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "skipped: no /dev/kvm"
		exit 77
	fi
	if [ -e /sys/module/kvm_pvm ]; then
		echo "skipped: /dev/kvm is PVM (module kvm_pvm), which runs only guest kernels built for PVM"
		exit 77
	fi
}

need_guest() {
	if [ ! -f "$GUESTS/$1.elf" ]; then
		echo "FAIL: $GUESTS/$1.elf is missing (make -C guests)"
		exit 1
	fi
}

have_qemu() {
	command -v qemu-system-x86_64 >/dev/null 2>&1
}

# Whether to run QEMU as the reference: not in make check's sanitizer pass,
# which checks minivmm's own code again (the reference ran in the plain pass)
qemu_reference() {
	[ "${SANITIZE:-0}" != 1 ] && have_qemu
}

# run_minivmm ELF OUT [ARGS...]: serial output (stdout, -nographic) in OUT,
# stderr in OUT.err, exit status in $rc
run_minivmm() {
	local elf=$1 out=$2
	shift 2
	if [ ! -x "$MINIVMM" ]; then
		echo "minivmm is not built: $MINIVMM" >"$out.err"
		: >"$out"
		rc=127
		return
	fi
	timeout -k 5 "$RUN_TIMEOUT" "$MINIVMM" -nographic -no-reboot -kernel "$elf" "${DEBUG_EXIT[@]}" "$@" \
		</dev/null >"$out" 2>"$out.err"
	rc=$?
}

# run_qemu ELF OUT [ARGS...]: the same, under QEMU.  -nodefaults keeps the
# firmware (SeaBIOS, iPXE) off the serial port, so OUT is the guest's alone.
run_qemu() {
	local elf=$1 out=$2
	shift 2
	: >"$out"
	timeout -k 5 "$RUN_TIMEOUT" qemu-system-x86_64 -nodefaults -display none -serial "file:$out" \
		-no-reboot -kernel "$elf" "${DEBUG_EXIT[@]}" "$@" </dev/null >"$out.err" 2>&1
	rc=$?
}

# check_run WHO EXPECTED OUT RC WANT_RC: 0 when output and status match
check_run() {
	local who=$1 expected=$2 out=$3 got=$4 want=$5
	if cmp -s "$expected" "$out" && [ "$got" -eq "$want" ]; then
		echo "$who: output matches ($(wc -l <"$out") lines), exit status $got"
		return 0
	fi
	echo "$who: FAILED: exit status $got (want $want)$([ "$got" -eq 124 ] && echo ', timed out')"
	if [ ! -s "$out" ]; then
		echo "$who: no serial output at all (want $(wc -l <"$expected") lines)"
	elif ! cmp -s "$expected" "$out"; then
		echo "$who: serial output differs from the expected (--- expected, +++ got):"
		diff -u "$expected" "$out" | tail -n +3 | head -n 80
	fi
	if [ -s "$out.err" ]; then
		echo "$who: stderr:"
		head -n 20 "$out.err" | sed 's/^/  /'
	fi
	return 1
}

# guest_test NAME EXPECTED_FILE [ARGS...]: run guest NAME under QEMU (when
# installed) and minivmm with -accel tcg, expecting EXPECTED_FILE on the
# serial port and exit status $STATUS_PASS.  QEMU alone also gets the
# arguments in the array QEMU_ONLY_ARGS when the script sets it (a CPU
# model minivmm's own CPUID matches).  Exits the script.
guest_test() {
	local name=$1 expected=$2 status=0
	shift 2
	need_guest "$name"
	if qemu_reference; then
		# QEMU's TCG counts timer ticks by host time and falls short when
		# the host is busy: up to three runs before its disagreement counts
		local try
		for try in 1 2 3; do
			run_qemu "$GUESTS/$name.elf" "$WORK/qemu.out" -accel tcg \
				${QEMU_ONLY_ARGS[@]+"${QEMU_ONLY_ARGS[@]}"} "$@"
			cmp -s "$expected" "$WORK/qemu.out" && [ "$rc" -eq "$STATUS_PASS" ] && break
		done
		if ! check_run qemu "$expected" "$WORK/qemu.out" "$rc" "$STATUS_PASS"; then
			echo "qemu: QEMU disagrees with the expected output: the test itself is wrong"
			status=1
		fi
	fi
	run_minivmm "$GUESTS/$name.elf" "$WORK/minivmm.out" -accel tcg "$@"
	check_run minivmm "$expected" "$WORK/minivmm.out" "$rc" "$STATUS_PASS" || status=1
	exit $status
}
