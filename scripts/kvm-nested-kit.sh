#!/usr/bin/env bash
# Build the nested-KVM kit: a way to run minivmm's KVM engine on a machine
# without /dev/kvm.  QEMU (TCG, -cpu max, which offers AMD SVM) boots
# Debian's cloud kernel; that kernel loads kvm-amd and so has a /dev/kvm,
# on which a statically linked minivmm and its KVM test programs run.
#
# Two parts:
#   - cached outside the tree and built once, as it depends on Debian's
#     packages only (like scripts/linux-kit.sh): the kernel (bzImage) and
#     base.cpio.gz, which holds busybox-static, kvm-amd and vhost_net with every
#     module it needs (found through each module's own "depends=" field,
#     which is what depmod reads: the package ships no modules.dep) and
#     their load order;
#   - packed on every run, because it changes with minivmm: a static build
#     of minivmm and of the KVM test programs, the test guests, the /init
#     that runs them, and optionally the Linux kit (scripts/linux-kit.sh).
#
#   scripts/kvm-nested-kit.sh                      build the cache, print its folder
#   scripts/kvm-nested-kit.sh --initrd OUT [--linux]
#       also build the static binaries (in $BUILD/nested-static) and write
#       the whole initramfs to OUT (the cached base with the fresh part
#       appended: the kernel unpacks concatenated cpio archives in order)
#   MINIVMM_NESTED_KIT_DIR=DIR   the cache folder
#   MINIVMM_STATIC_BUILD=DIR     the static build folder ($BUILD/nested-static)
#   NESTED_GUESTS="a b"          the guests/build/*.elf to pack
#   NESTED_ARGS_<guest>="..."    more minivmm arguments for that guest
#   --linux also packs the kit's virtio modules (so a disk QEMU gives the
#   outer guest appears as /dev/vda) and /linux/virtio-initrd: the kit's
#   initramfs with tests/guest/virtio-check.init as its /init
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kit=${MINIVMM_NESTED_KIT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/minivmm/kvm-nested-kit}
# bump when the layout of the cached part changes, so old caches are rebuilt
kit_format=2
# the modules to load; their dependencies are found, not listed
want_modules="kvm_amd vhost_net"

initrd_out=
with_linux=0
while [ $# -gt 0 ]; do
	case $1 in
	--initrd) initrd_out=$(realpath -m "${2:?--initrd needs a file}"); shift 2 ;;
	--linux) with_linux=1; shift ;;
	*) echo "kvm-nested-kit: unknown argument $1" >&2; exit 2 ;;
	esac
done

die() {
	echo "kvm-nested-kit: $*" >&2
	exit 1
}

# the name the kernel knows a module file by: kvm-amd.ko.xz -> kvm_amd
module_name() {
	local n=${1##*/}
	n=${n%%.ko*}
	echo "${n//-/_}"
}

# decompress (if needed) a module file into DEST
module_unpack() {
	local src=$1 dest=$2
	case $src in
	*.ko) cp "$src" "$dest" ;;
	*.ko.xz) xz -dc "$src" >"$dest" ;;
	*.ko.zst) zstd -qdc "$src" >"$dest" ;;
	*.ko.gz) gzip -dc "$src" >"$dest" ;;
	*) return 1 ;;
	esac
}

build_cache() {
	for tool in apt-get apt-cache dpkg cpio gzip; do
		command -v "$tool" >/dev/null || die "$tool is needed"
	done
	local work=$tmp/cache
	mkdir -p "$work"
	cd "$work"

	# the same kernel as the Linux kit: the cloud flavour has kvm-amd
	image_pkg() {
		apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
	}
	local pkg
	pkg=$(image_pkg)
	if [ -z "$pkg" ]; then
		apt-get update >&2
		pkg=$(image_pkg)
	fi
	[ -n "$pkg" ] || die "cannot resolve linux-image-cloud-amd64"
	apt-get download "$pkg" busybox-static >&2
	dpkg -x linux-image-*.deb kernel
	dpkg -x busybox-static_*.deb busybox

	local moddir
	moddir=$(echo kernel/lib/modules/*/)
	[ -d "$moddir" ] || die "$pkg has no modules folder"
	declare -A path_of=()
	local f
	while IFS= read -r f; do
		path_of[$(module_name "$f")]=$f
	done < <(find "$moddir" -name '*.ko*')

	local root=$work/root
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,usr/bin,usr/sbin,lib/modules}
	# depth-first over depends=, so every module follows what it needs
	declare -A loaded=()
	local order=()
	add_module() {
		local name=$1 dep deps
		[ -n "${loaded[$name]:-}" ] && return 0
		loaded[$name]=1
		[ -n "${path_of[$name]:-}" ] || die "$pkg has no module $name"
		module_unpack "${path_of[$name]}" "$root/lib/modules/$name.ko" ||
			die "cannot unpack ${path_of[$name]}"
		# .modinfo is a run of NUL-terminated key=value strings
		deps=$(tr '\0' '\n' <"$root/lib/modules/$name.ko" | sed -n 's/^depends=//p' | head -n 1)
		for dep in ${deps//,/ }; do
			add_module "$(module_name "$dep")"
		done
		order+=("$name")
	}
	local m
	for m in $want_modules; do
		add_module "$m"
	done
	printf '%s\n' "${order[@]}" >"$root/lib/modules/load-order"

	cp busybox/bin/busybox "$root/bin/busybox"
	# busybox is static x86-64, so the host can ask it for its applet list
	local applet
	for applet in $("$root/bin/busybox" --list-full); do
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -6) >base.cpio.gz

	rm -rf "$kit.tmp"
	mkdir -p "$kit.tmp"
	cp kernel/boot/vmlinuz-* "$kit.tmp/bzImage"
	cp base.cpio.gz "$kit.tmp/base.cpio.gz"
	echo "$pkg" >"$kit.tmp/kernel-package"
	echo "${order[*]}" >"$kit.tmp/modules"
	echo "$kit_format" >"$kit.tmp/ready"
	rm -rf "$kit"
	mv "$kit.tmp" "$kit"
}

# The /init of the outer guest.  Every result is a line starting with
# "NESTED-" (or a program's own lines between them), which
# tests/guest/kvm_nested.sh reads from the serial port.
write_init() {
	cat >"$1" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "NESTED-BEGIN"
arg() {
	for a in $(cat /proc/cmdline); do
		case $a in "$1="*) echo "${a#*=}"; return ;; esac
	done
}
run_timeout=$(arg nested.timeout)
run_timeout=${run_timeout:-120}
if ! grep -qw svm /proc/cpuinfo; then
	echo "NESTED-NO-KVM the CPU offers no SVM"
fi
for m in $(cat /lib/modules/load-order); do
	insmod "/lib/modules/$m.ko" || echo "NESTED-NO-KVM insmod $m failed"
done
# kvm's rate-limited notices (unhandled MSRs) would land between the markers
echo 1 >/proc/sys/kernel/printk
if [ ! -c /dev/kvm ]; then
	echo "NESTED-NO-KVM /dev/kvm did not appear"
	echo "NESTED-END"
	poweroff -f
fi
echo "NESTED-KVM-READY modules=$(cat /lib/modules/load-order | tr '\n' ' ')"

for t in /tests/*; do
	[ -x "$t" ] || continue
	name=${t##*/}
	echo "NESTED-TEST-BEGIN $name"
	timeout "$run_timeout" "$t"
	echo "NESTED-TEST-END $name rc=$?"
done

# print FILE's lines behind PREFIX, the last one even without a newline
show() {
	while IFS= read -r line || [ -n "$line" ]; do
		echo "$2$line"
	done <"$1"
}
for g in /guests/*.elf; do
	[ -f "$g" ] || continue
	name=${g##*/}
	name=${name%.elf}
	timeout "$run_timeout" /bin/minivmm -accel kvm -nographic -no-reboot -kernel "$g" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 $(cat "/guests/$name.args" 2>/dev/null) \
		</dev/null >/tmp/out 2>/tmp/err
	rc=$?
	show /tmp/out "guest $name: "
	show /tmp/err "guest $name stderr: "
	echo "NESTED-GUEST-END $name rc=$rc bytes=$(wc -c </tmp/out)"
done

smp=$(arg nested.linux_smp)
if [ -n "$smp" ] && [ -f /linux/bzImage ]; then
	timeout "$run_timeout" /bin/minivmm -accel kvm -m 256M -smp "$smp" -nographic -no-reboot \
		-kernel /linux/bzImage -initrd /linux/initramfs.cpio.gz \
		-append "console=ttyS0 panic=-1 quiet minivmm.poweroff" </dev/null >/tmp/out 2>&1
	rc=$?
	show /tmp/out "linux: "
	echo "NESTED-LINUX-END smp=$smp rc=$rc"
fi

# virtio on KVM: the disk QEMU gives this guest (if any) as a virtio-blk
# drive of the inner one, with virtio-rng; the inner /init checks them
# (-d int: minivmm's count of interrupts sent through irqfds)
if [ -n "$smp" ] && [ -f /linux/virtio-initrd ]; then
	modprobe virtio_pci 2>/dev/null
	modprobe virtio_blk 2>/dev/null
	disk=
	[ -b /dev/vda ] && disk="-drive file=/dev/vda,format=raw,if=virtio,serial=nested-disk"
	timeout "$run_timeout" /bin/minivmm -accel kvm -m 256M -smp "$smp" -nographic -no-reboot \
		-d int -kernel /linux/bzImage -initrd /linux/virtio-initrd \
		-append "console=ttyS0 panic=-1 quiet" -device virtio-rng-pci $disk </dev/null >/tmp/out 2>&1
	rc=$?
	show /tmp/out "virtio: "
	echo "NESTED-VIRTIO-END smp=$smp disk=${disk:+yes} rc=$rc"
fi
# the same on -M microvm over virtio-mmio, on the second disk (ioeventfd
# with datamatch on QueueNotify, the edge-triggered lines of the in-kernel
# I/O APIC)
if [ -n "$smp" ] && [ -f /linux/virtio-initrd ] && [ -b /dev/vdb ]; then
	timeout "$run_timeout" /bin/minivmm -M microvm -accel kvm -m 256M -smp "$smp" -nographic \
		-no-reboot -kernel /linux/bzImage -initrd /linux/virtio-initrd \
		-append "console=ttyS0 panic=-1 quiet" -device virtio-rng-device \
		-drive file=/dev/vdb,format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0 \
		</dev/null >/tmp/out 2>&1
	rc=$?
	show /tmp/out "virtio-mmio: "
	echo "NESTED-VIRTIO-MMIO-END smp=$smp rc=$rc"
fi
# vhost-net on KVM: a tap of this guest's own (10.9.0.1; the inner guest
# is 10.9.0.2), vhost's kick eventfds KVM's ioeventfds and its call
# eventfds KVM's irqfds; with -d int minivmm says where each queue's
# interrupts go and, when it ends, how many it forwarded itself
if [ -n "$smp" ] && [ -f /linux/virtio-initrd ] && [ -c /dev/vhost-net ] &&
	[ "$(arg nested.vhost)" = 1 ]; then
	ip link set lo up
	mkdir -p /tmp/www
	seq 1 400000 >/tmp/www/seq.txt
	httpd -p 8000 -h /tmp/www
	(
		n=0
		until ip link show mvtap0 >/dev/null 2>&1; do
			n=$((n + 1))
			[ $n -lt 1200 ] || exit 1
			sleep 0.1
		done
		ip addr add 10.9.0.1/24 dev mvtap0
		ip link set mvtap0 up
	) &
	timeout "$run_timeout" /bin/minivmm -accel kvm -m 256M -smp "$smp" -nographic -no-reboot \
		-d int -kernel /linux/bzImage -initrd /linux/virtio-initrd \
		-append "console=ttyS0 panic=-1 quiet virtio_check.net=10.9.0.2,10.9.0.1" \
		-netdev tap,id=t0,ifname=mvtap0,script=no,downscript=no,vhost=on \
		-device virtio-net-pci,netdev=t0 </dev/null >/tmp/out 2>&1
	rc=$?
	show /tmp/out "vhost: "
	echo "NESTED-VHOST-END smp=$smp rc=$rc"
fi
echo "NESTED-END"
poweroff -f
INIT
	chmod +x "$1"
}

# The fresh part: static minivmm and KVM test programs, guests, /init.
build_payload() {
	local out=$1
	command -v make >/dev/null || die "make is needed"
	local sbuild=${MINIVMM_STATIC_BUILD:-${BUILD:-build}/nested-static}
	case $sbuild in /*) ;; *) sbuild=$ROOT/$sbuild ;; esac
	# the test programs that need a real /dev/kvm or /dev/vhost-net: they
	# skip without one
	local tests=() src
	for src in "$ROOT"/tests/unit/test_*.c; do
		grep -q -e 'SKIP("no /dev/kvm")' -e 'SKIP("no /dev/vhost-net")' "$src" || continue
		src=${src##*/}
		tests+=("$sbuild/tests/${src%.c}")
	done
	[ ${#tests[@]} -gt 0 ] || die "no KVM test program in tests/unit"
	local log=$tmp/make.log
	# a make above us (make test SANITIZE=1) passes its variables down in
	# MAKEFLAGS: this build is plain and static whatever the caller's is
	if ! (cd "$ROOT" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -j2 SANITIZE=0 BUILD="$sbuild" LDFLAGS="-pthread -static" \
		"$sbuild/minivmm" "${tests[@]}") >"$log" 2>&1; then
		cat "$log" >&2
		die "the static build failed"
	fi

	local root=$tmp/payload
	mkdir -p "$root"/{bin,tests,guests,linux}
	strip -o "$root/bin/minivmm" "$sbuild/minivmm" 2>/dev/null ||
		cp "$sbuild/minivmm" "$root/bin/minivmm"
	local t
	for t in "${tests[@]}"; do
		strip -o "$root/tests/${t##*/}" "$t" 2>/dev/null || cp "$t" "$root/tests/"
	done
	local g args
	for g in ${NESTED_GUESTS:-hello-exit modes exceptions exceptions32 rings paging}; do
		[ -f "$ROOT/guests/build/$g.elf" ] || die "guests/build/$g.elf is missing (make -C guests)"
		cp "$ROOT/guests/build/$g.elf" "$root/guests/"
		args=NESTED_ARGS_${g//-/_}
		[ -n "${!args:-}" ] && echo "${!args}" >"$root/guests/$g.args"
	done
	if [ "$with_linux" = 1 ]; then
		local lkit
		lkit=$("$ROOT/scripts/linux-kit.sh") || die "cannot build the Linux kit"
		cp "$lkit/bzImage" "$lkit/initramfs.cpio.gz" "$root/linux/"
		# the kit's modules (the same kernel) for the outer guest's virtio
		(cd "$root" && gzip -dc "$lkit/initramfs.cpio.gz" | cpio -id --quiet 'lib/modules/*')
		local ov=$tmp/virtio-overlay
		mkdir -p "$ov"
		cp "$ROOT/tests/guest/virtio-check.init" "$ov/init"
		chmod +x "$ov/init"
		{ cat "$lkit/initramfs.cpio.gz"; (cd "$ov" && find . | cpio -o -H newc --quiet | gzip -1); } \
			>"$root/linux/virtio-initrd"
	fi
	write_init "$root/init"
	# uncompressed: the outer kernel unpacks it under TCG, where gunzip is slow
	cp "$kit/base.cpio.gz" "$out.tmp"
	# an uncompressed archive must start 4-byte aligned; zeros between are skipped
	head -c $((-$(stat -c %s "$out.tmp") & 3)) /dev/zero >>"$out.tmp"
	(cd "$root" && find . | cpio -o -H newc --quiet) >>"$out.tmp"
	mv "$out.tmp" "$out"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$(cat "$kit/ready" 2>/dev/null)" != "$kit_format" ]; then
	(build_cache)
fi
if [ -n "$initrd_out" ]; then
	build_payload "$initrd_out"
fi
echo "$kit"
