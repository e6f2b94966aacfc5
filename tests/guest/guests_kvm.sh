#!/usr/bin/env bash
# Every test guest under -accel kvm: the same expected serial output as
# under tcg (taken from the tcg scripts' QEMU-checked expectations: the
# guests' "ok" lines) and exit status 33.  Needs /dev/kvm.
. "$(dirname "$0")/common.bash"

need_kvm
status=0
for name in modes exceptions exceptions32 rings paging; do
	need_guest "$name"
	# the expected output is the heredoc in tests/guest/$name.sh
	sed -n "/^cat >\"\$WORK\/expected\" <<'EOF'$/,/^EOF$/p" "$(dirname "$0")/$name.sh" | sed '1d;$d' >"$WORK/expected"
	run_minivmm "$GUESTS/$name.elf" "$WORK/$name.out" -accel kvm
	check_run "minivmm -accel kvm $name" "$WORK/expected" "$WORK/$name.out" "$rc" "$STATUS_PASS" || status=1
done
need_guest bench-small
"$GUESTS/bench-small-host" >"$WORK/expected" || exit 1
run_minivmm "$GUESTS/bench-small.elf" "$WORK/bench.out" -accel kvm
check_run "minivmm -accel kvm bench-small" "$WORK/expected" "$WORK/bench.out" "$rc" "$STATUS_PASS" || status=1
exit $status
