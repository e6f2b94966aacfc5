#!/usr/bin/env bash
# The CPU's guest tests once more on the interpreter alone: every
# `-accel tcg` a test gives minivmm becomes `-accel tcg,jit=off` (through
# a wrapper put in $MINIVMM), so that the test guests, the firmware and
# Linux check both the translator (tests/run.sh) and the reference
# interpreter.  The device and disk tests, whose guests only drive devices
# the two engines share, are not repeated, nor is the sanitizer pass (its
# unit tests run the interpreter): CI's time stays in bounds.
set -u
BUILD=${BUILD:-build}
if [ "${SANITIZE:-0}" = 1 ]; then
	echo "guest tests with -accel tcg,jit=off: in the plain pass only"
	exit 0
fi
real=${MINIVMM:-$PWD/$BUILD/minivmm}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/minivmm" <<EOF
#!/usr/bin/env bash
args=()
prev=
for a in "\$@"; do
	if [ "\$prev" = -accel ] && [[ \$a == tcg* ]] && [[ \$a != *jit=* ]]; then
		a=\$a,jit=off
	fi
	args+=("\$a")
	prev=\$a
done
exec "$real" "\${args[@]}"
EOF
chmod +x "$dir/minivmm"
echo "guest tests with -accel tcg,jit=off"
GUEST_TESTS="bench_small dbgregs devices exceptions exceptions32 firmware firmware_disk hello hello_exit realmode tasks
	modes nmi paging rings run_options serial_input linux_boot linux_smp" \
	UNIT_TESTS=0 MINIVMM=$dir/minivmm BUILD=$BUILD tests/run.sh
