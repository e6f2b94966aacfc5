#!/usr/bin/env bash
# The guest tests once more on the interpreter alone: every `-accel tcg`
# a test gives minivmm becomes `-accel tcg,jit=off` (through a wrapper
# put in $MINIVMM), so that the test guests and Linux check both the
# translator (make test's first pass) and the reference interpreter.
set -u
BUILD=${BUILD:-build}
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
UNIT_TESTS=0 MINIVMM=$dir/minivmm BUILD=$BUILD tests/run.sh
