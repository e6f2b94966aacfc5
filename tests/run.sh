#!/usr/bin/env bash
# Run every test program in $BUILD/tests and every guest test script in
# tests/guest, and close with one line: "N passed, N failed, N skipped".
# UNIT_TESTS=0: the guest tests only.  GUEST_TESTS="a b ...": only these
# guest tests (by name, without .sh).
# A guest test script exits 0 (pass), 77 (skipped, printing why) or other (fail).
set -u
BUILD=${BUILD:-build}
export MINIVMM=${MINIVMM:-$PWD/$BUILD/minivmm}
export BUILD
passed=0 failed=0 skipped=0
failures=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && [ "${UNIT_TESTS:-1}" = 1 ] || continue
	timeout "${UNIT_TIMEOUT:-600}" "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		read -r p f s <<<"$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/' <<<"$line")"
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			failed=$((failed + 1)); failures+=("$t (exit $rc)")
		fi
		[ "$f" -gt 0 ] && failures+=("$t")
	else
		echo "FAIL $t: exited $rc without a summary"
		failed=$((failed + 1)); failures+=("$t (exit $rc)")
	fi
done

# Under the sanitizers (make check's second pass) the guest tests that do
# not exercise minivmm's own code any differently are not run again:
# kvm_nested runs a static build of its own inside QEMU, bench_startup
# times benchmarks, linux_crash checks the image after SIGKILLs,
# fuzz_targets' builds are sanitizer builds already
SANITIZE_SKIP=" kvm_nested bench_startup linux_crash fuzz_targets "
for s in tests/guest/*.sh; do
	[ -f "$s" ] || continue
	name=$(basename "$s" .sh)
	[ -z "${GUEST_TESTS:-}" ] || [[ " $(echo $GUEST_TESTS) " == *" $name "* ]] || continue
	if [ "${SANITIZE:-0}" = 1 ] && [[ "$SANITIZE_SKIP" == *" $name "* ]]; then
		echo "not run again under the sanitizers: guest.$name (it ran in the plain pass)"
		continue
	fi
	start=$SECONDS
	timeout "${GUEST_TIMEOUT:-1500}" bash "$s" >"$log" 2>&1
	rc=$?
	sed 's/^/  /' "$log"
	case $rc in
	0) echo "ok   guest.$name ($((SECONDS - start)) s)"; passed=$((passed + 1)) ;;
	77) echo "skip guest.$name: $(grep -m1 'skipped:' "$log")"; skipped=$((skipped + 1)) ;;
	*) echo "FAIL guest.$name (exit $rc, $((SECONDS - start)) s)"; failed=$((failed + 1)); failures+=("guest.$name") ;;
	esac
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
