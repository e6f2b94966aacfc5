# Shared by the Linux boot tests and scripts/bench-boot.sh (sourced).
# Boots Debian's cloud kernel with the kit's busybox initramfs under minivmm
# (or QEMU) with the serial console on a pipe, so a test can wait for lines
# and type commands.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
MINIVMM=${MINIVMM:-$ROOT/$BUILD/minivmm}
LINUX_TIMEOUT=${LINUX_TIMEOUT:-900}
MARKER=MINIVMM-LINUX-UP

linux_kit() {
	KIT=$("$ROOT/scripts/linux-kit.sh") || { echo "FAIL: cannot build the Linux kit"; exit 1; }
}

# linux_start OUT CMD...: start CMD with stdin from a pipe we hold on fd 3
# and stdout+stderr into OUT; sets VM_PID
linux_start() {
	local out=$1
	shift
	local fifo
	fifo=$(mktemp -u)
	mkfifo "$fifo"
	"$@" <"$fifo" >"$out" 2>&1 &
	VM_PID=$!
	exec 3>"$fifo"
	rm -f "$fifo"
}

# linux_wait OUT PATTERN SECONDS: wait until a line of OUT matches
linux_wait() {
	local out=$1 pattern=$2 limit=$(($3 * 10)) n=0
	while ! grep -qE "$pattern" "$out" 2>/dev/null; do
		if grep -q 'Kernel panic' "$out" 2>/dev/null; then
			echo "the guest kernel panicked before printing /$pattern/"
			return 1
		fi
		if ! kill -0 "$VM_PID" 2>/dev/null; then
			echo "the VM ended before printing /$pattern/"
			return 1
		fi
		if [ $n -ge $limit ]; then
			echo "no /$pattern/ within $3 s"
			return 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
}

# linux_type TEXT: send a line to the guest's shell
linux_type() {
	printf '%s\n' "$1" >&3
}

# linux_finish SECONDS: close the input, wait for the VM; sets VM_STATUS
linux_finish() {
	local limit=$(($1 * 10)) n=0
	while kill -0 "$VM_PID" 2>/dev/null && [ $n -lt $limit ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$VM_PID" 2>/dev/null; then
		kill -KILL "$VM_PID"
		wait "$VM_PID" 2>/dev/null
		exec 3>&-
		VM_STATUS=timeout
		return 1
	fi
	wait "$VM_PID"
	VM_STATUS=$?
	exec 3>&-
	return 0
}

# linux_cpu_ticks: user+system clock ticks the VM process has used so far
linux_cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$VM_PID/stat"
}

# linux_wait_count OUT PATTERN N SECONDS: wait until N lines of OUT match;
# prints how many did
linux_wait_count() {
	local out=$1 pattern=$2 want=$3 limit=$(($4 * 10)) n=0 have=0
	while :; do
		have=$(grep -cE "$pattern" "$out" 2>/dev/null)
		[ "$have" -ge "$want" ] && break
		kill -0 "$VM_PID" 2>/dev/null || break
		[ $n -ge $limit ] && break
		sleep 0.1
		n=$((n + 1))
	done
	echo "$have"
}

# linux_expect_refusal NAME PATTERN ARGS...: minivmm with ARGS must end at
# once with an error, a line of which matches PATTERN; returns 1 otherwise
linux_expect_refusal() {
	local name=$1 pattern=$2 out rc ok=0
	shift 2
	out=$(mktemp)
	timeout -k 5 60 "$MINIVMM" -accel tcg -nographic -no-reboot "$@" </dev/null >"$out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -lt 124 ] && grep -q -- "$pattern" "$out"; then
		echo "$name: refused ($(grep -m1 -- "$pattern" "$out"))"
	else
		echo "$name: exit status $rc, want a clear error matching '$pattern':"
		head -n 5 "$out"
		ok=1
	fi
	rm -f "$out"
	return $ok
}
