#!/usr/bin/env bash
# Build each libFuzzer target given on the command line with clang and run
# it for FUZZ_SECONDS.  A target names the sources it needs in a comment
# line "FUZZ_SOURCES: src/a/*.c src/b.c" (default: every src/**/*.c but
# src/main.c), and may set its input size with "FUZZ_MAX_LEN: N" (default
# 20000).  Its corpus persists in $BUILD/corpus/<name>, seeded from
# tests/fuzz/seeds/<name> when that exists and filled by tests/fuzz/NAME.seeds.sh
# (when there is one) while empty; a crash leaves its input as
# $BUILD/<name>-crash-*.  Installs nothing.
set -u
BUILD=${BUILD:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CLANG=${CLANG:-clang}

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz: '$CLANG' not found: install clang with libFuzzer (Debian: clang-14 libclang-rt-14-dev)" >&2
	exit 1
fi
if [ $# -eq 0 ]; then
	echo "usage: tests/fuzz/run.sh tests/fuzz/fuzz_NAME.c..." >&2
	exit 2
fi
mkdir -p "$BUILD"

failures=()
for src in "$@"; do
	name=$(basename "$src" .c)
	spec=$(sed -n 's/^.*FUZZ_SOURCES:[[:space:]]*\(.*\)$/\1/p' "$src" | head -n 1 | sed 's|\*/[[:space:]]*$||')
	sources=()
	if [ -n "$spec" ]; then
		for pattern in $spec; do
			for f in $pattern; do
				if [ ! -f "$f" ]; then
					echo "FAIL fuzz.$name: no source file matches '$pattern'"
					failures+=("$name (sources)")
					continue 3
				fi
				sources+=("$f")
			done
		done
	else
		while IFS= read -r f; do sources+=("$f"); done < <(find src -name '*.c' ! -path src/main.c | sort)
	fi
	echo "fuzz: building $name"
	if ! "$CLANG" -std=gnu11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Isrc -pthread \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -o "$BUILD/$name" "$src" "${sources[@]}" ${FUZZ_LDLIBS:--lm}; then
		echo "FAIL fuzz.$name: build failed"
		failures+=("$name (build)")
		continue
	fi
	corpus="$BUILD/corpus/$name"
	mkdir -p "$corpus"
	seeds=()
	[ -d "tests/fuzz/seeds/$name" ] && seeds=("tests/fuzz/seeds/$name")
	# a target may come with a script that makes seed inputs
	seed_script="${src%.c}.seeds.sh"
	if [ -x "$seed_script" ] && [ -z "$(ls -A "$corpus")" ]; then
		"$seed_script" "$corpus"
	fi
	max_len=$(sed -n 's/^.*FUZZ_MAX_LEN:[[:space:]]*\([0-9]*\).*$/\1/p' "$src" | head -n 1)
	log="$BUILD/$name.log"
	echo "fuzz: running $name for ${FUZZ_SECONDS}s (log: $log)"
	# -close_fd_mask=2: the loaders' error lines would drown the output;
	# libFuzzer and the sanitizers keep reporting on their own copy of stderr
	if "$BUILD/$name" -max_total_time="$FUZZ_SECONDS" -timeout=10 -max_len="${max_len:-20000}" \
		-close_fd_mask=2 -artifact_prefix="$BUILD/$name-" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
		echo "ok   fuzz.$name: $(grep -Eo '#[0-9]+' "$log" | tail -n 1 | tr -d '#') runs"
	else
		tail -n 60 "$log"
		echo "FAIL fuzz.$name (see $log)"
		failures+=("$name")
	fi
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "fuzz failures: ${failures[*]}"
	exit 1
fi
echo "fuzz: all $# targets ran clean"
