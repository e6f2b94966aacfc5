#!/usr/bin/env bash
# Seed images for fuzz_qcow2, made by qemu-img and qemu-io (test peers only)
# into the corpus directory $1: small clusters so that whole images fit
# the fuzzer's input size.  Does nothing without qemu-img.
set -u
dir=$1
command -v qemu-img >/dev/null 2>&1 || exit 0
command -v qemu-io >/dev/null 2>&1 || exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
seed() {	# seed OPTIONS QEMU-IO-COMMANDS...
	local opts=$1
	shift
	local img=$tmp/s.qcow2
	qemu-img create -q -f qcow2 -o "$opts" "$img" 64K || return
	for c in "$@"; do qemu-io -c "$c" "$img" >/dev/null 2>&1; done
	cp "$img" "$dir/seed-$n.qcow2"
	n=$((n + 1))
}
seed cluster_size=512
seed cluster_size=512 'write -P 1 0 4k' 'write -z 8k 2k' 'discard 1k 512'
seed cluster_size=512,compat=0.10 'write -P 2 1k 3k'
seed cluster_size=512,refcount_bits=1 'write -P 3 0 2k'
seed cluster_size=512,refcount_bits=64 'write -P 4 0 6k'
seed cluster_size=512,lazy_refcounts=on 'write -P 5 0 1k'
seed cluster_size=1024,refcount_bits=4 'write -P 6 2k 2k'
seed cluster_size=4096 'write -P 7 0 8k'
seed cluster_size=512,extended_l2=off,preallocation=metadata
# a snapshot, and an image left dirty
img=$tmp/s.qcow2
qemu-img create -q -f qcow2 -o cluster_size=512 "$img" 64K &&
	qemu-io -c 'write -P 8 0 2k' "$img" >/dev/null && qemu-img snapshot -c one "$img" &&
	qemu-io -c 'write -P 9 512 1k' "$img" >/dev/null && cp "$img" "$dir/seed-snap.qcow2"
qemu-img create -q -f qcow2 -o cluster_size=512,lazy_refcounts=on "$img" 64K &&
	qemu-io -c 'write -P 10 0 1k' "$img" >/dev/null && cp "$img" "$dir/seed-dirty.qcow2" &&
	printf '\001' | dd of="$dir/seed-dirty.qcow2" bs=1 seek=79 conv=notrunc status=none
# compressed, with zlib and zstd
head -c 8192 /dev/urandom > "$tmp/r.raw"
head -c 8192 /dev/zero >> "$tmp/r.raw"
yes minivmm | head -c 16384 >> "$tmp/r.raw"
for t in zlib zstd; do
	qemu-img convert -c -f raw -O qcow2 -o cluster_size=1024,compression_type=$t \
		"$tmp/r.raw" "$dir/seed-$t.qcow2"
done
exit 0
