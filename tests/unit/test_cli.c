/* The command line: every option's success path checked through the
 * resulting vm_config, every error path checked for exactly one line on err
 * that names the option. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli_run.h"
#include "core/log.h"
#include "mem/guest_mem.h"
#include "test.h"

TEST(defaults)
{
	CHECK(parses_ok((const char *const[]){ NULL }));
	CHECK_EQ(run.cfg.ram_size, 128ull << 20);
	CHECK_EQ(run.cfg.smp, 1);
	CHECK_STR(run.cfg.kernel, "vmlinuz");
	CHECK(run.cfg.initrd == NULL);
	CHECK(run.cfg.append == NULL);
	CHECK_EQ(run.cfg.accel, ACCEL_AUTO);
	CHECK(!run.cfg.nographic && !run.cfg.no_reboot && !run.cfg.no_shutdown);
	CHECK(!run.cfg.nodefaults && !run.cfg.display_none);
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_STDIO);
	CHECK_EQ(run.cfg.debugcon.kind, CHARDEV_NONE);
	CHECK(!run.cfg.debug_exit);
	CHECK_EQ(run.cfg.debug_exit_iobase, 0x501);
	CHECK_EQ(run.cfg.debug_exit_iosize, 2);
	CHECK(!run.cfg.pc_testdev);
	CHECK_EQ(run.cfg.debug_mask, 0);
	CHECK(run.cfg.debug_logfile == NULL);
}

TEST(no_kernel_boots_firmware)
{
	char *argv[] = { (char *)"minivmm", NULL };
	CHECK_EQ(parse_argv((const char *const[]){ NULL }), CLI_RUN);
	CHECK(run.cfg.kernel == NULL && run.cfg.bios == NULL);
	CHECK_EQ(parse_argv(ARGS("-m", "64", "-smp", "2", "-bios", "fw.bin")), CLI_RUN);
	CHECK_STR(run.cfg.bios, "fw.bin");
	/* argc 1: only the program name */
	FILE *sink = fopen("/dev/null", "w");
	struct vm_config cfg;
	CHECK_EQ(cli_parse(1, argv, &cfg, sink, sink), CLI_RUN);
	fclose(sink);
	FAILS("-bios", "empty file name", "-bios", "");
	/* a kernel handed to the firmware: SeaBIOS on pc, qboot on microvm,
	 * which boots nothing else */
	CHECK_EQ(parse_argv(ARGS("-kernel", "k", "-bios", "fw.bin")), CLI_RUN);
	CHECK_EQ(parse_argv(ARGS("-M", "microvm", "-kernel", "k", "-bios", "fw.bin")), CLI_RUN);
	CHECK_EQ(parse_argv(ARGS("-M", "microvm", "-bios", "fw.bin")), CLI_ERROR);
	CHECK_EQ(count_lines(run.err), 1);
	CHECK(strstr(run.err, "needs -kernel") != NULL);
	CHECK_EQ(parse_argv(ARGS("-M", "microvm")), CLI_ERROR);
}

TEST(boot_order_and_global)
{
	CHECK_EQ(parse_argv(ARGS("-boot", "d")), CLI_RUN);
	CHECK_STR(run.cfg.boot_order, "d");
	CHECK_EQ(parse_argv(ARGS("-boot", "order=dc,menu=on")), CLI_RUN);
	CHECK_STR(run.cfg.boot_order, "dc");
	CHECK(run.cfg.boot_menu);
	CHECK_EQ(parse_argv(ARGS("-boot", "menu=off")), CLI_RUN);
	CHECK_STR(run.cfg.boot_order, "");
	CHECK(!run.cfg.boot_menu);
	FAILS("-boot", "boot drive 'a' is not supported", "-boot", "order=a");
	FAILS("-boot", "given twice", "-boot", "cc");
	FAILS("-boot", "too many drives", "-boot", "cdcdcdcdcd");
	FAILS("-boot", "menu=maybe", "-boot", "menu=maybe");
	FAILS("-boot", "unknown parameter 'x'", "-boot", "x=1");
	CHECK_EQ(parse_argv(ARGS("-global", "isa-debugcon.iobase=0x402")), CLI_RUN);
	CHECK_EQ(run.cfg.debugcon_port, 0x402);
	FAILS("-global", "not supported", "-global", "e1000.mac=1");
	FAILS("-global", "not a port number", "-global", "isa-debugcon.iobase=0x10000");
}

TEST(smbios_and_uuid)
{
	CHECK_EQ(parse_argv(ARGS("-smbios", "type=1,serial=a,,b,product=P Q",
				 "-smbios", "type=0,vendor=V,release=2.13,uefi=on",
				 "-smbios", "type=11,value=x,value=y", "-smbios", "type=11,value=z",
				 "-uuid", "00112233-4455-6677-8899-AABBCCDDEEFF")), CLI_RUN);
	const struct smbios_config *sm = &run.cfg.smbios;
	CHECK_STR(sm->field[SMBIOS_SYS_SERIAL], "a,b");
	CHECK_STR(sm->field[SMBIOS_SYS_PRODUCT], "P Q");
	CHECK_STR(sm->field[SMBIOS_BIOS_VENDOR], "V");
	CHECK(sm->field[SMBIOS_SYS_MANUFACTURER] == NULL);
	CHECK(sm->bios_release_given && sm->bios_release[0] == 2 && sm->bios_release[1] == 13);
	CHECK(sm->uefi);
	CHECK_EQ(sm->nr_oem_strings, 3);
	CHECK_STR(sm->oem_strings[2], "z");
	CHECK_EQ(sm->uuid[0], 0x00);
	CHECK_EQ(sm->uuid[15], 0xff);
	CHECK_EQ(parse_argv(ARGS("-smbios", "type=1,uuid=ffffffff-0000-0000-0000-000000000001")),
		 CLI_RUN);
	CHECK_EQ(run.cfg.smbios.uuid[0], 0xff);
	CHECK_EQ(run.cfg.smbios.uuid[15], 0x01);
	FAILS("-uuid", "is not a UUID", "-uuid", "00112233-4455-6677-8899-AABBCCDDEEF");
	FAILS("-uuid", "is not a UUID", "-uuid", "00112233_4455-6677-8899-AABBCCDDEEFF");
	FAILS("-uuid", "is not a UUID", "-uuid", "0011223g-4455-6677-8899-AABBCCDDEEFF");
	FAILS("-smbios", "type=N first", "-smbios", "serial=1");
	FAILS("-smbios", "type=5 is not supported", "-smbios", "type=5");
	FAILS("-smbios", "invalid number", "-smbios", "type=x");
	FAILS("-smbios", "unknown parameter 'serial'", "-smbios", "type=0,serial=1");
	FAILS("-smbios", "MAJOR.MINOR", "-smbios", "type=0,release=1");
	FAILS("-smbios", "at most 16 OEM strings", "-smbios",
	      "type=11,value=1,value=2,value=3,value=4,value=5,value=6,value=7,value=8,value=9,"
	      "value=10,value=11,value=12,value=13,value=14,value=15,value=16,value=17");
}

TEST(kernel_initrd_append)
{
	CHECK_EQ(parse_argv(ARGS("-kernel", "bz", "-initrd", "rd.img", "-append",
				 "console=ttyS0 quiet")),
		 CLI_RUN);
	CHECK_STR(run.cfg.kernel, "bz");
	CHECK_STR(run.cfg.initrd, "rd.img");
	CHECK_STR(run.cfg.append, "console=ttyS0 quiet");
	CHECK_EQ(parse_argv(ARGS("--kernel", "k2", "--initrd", "r2", "--append", "")), CLI_RUN);
	CHECK_STR(run.cfg.kernel, "k2");
	CHECK_STR(run.cfg.initrd, "r2");
	CHECK_STR(run.cfg.append, "");
	/* the last one wins, as in QEMU */
	CHECK_EQ(parse_argv(ARGS("-kernel", "a", "-kernel", "b")), CLI_RUN);
	CHECK_STR(run.cfg.kernel, "b");
	FAILS("-kernel", "empty file name", "-kernel", "", "-m", "1");
	CHECK_EQ(parse_argv(ARGS("-kernel", "")), CLI_ERROR);
	CHECK_EQ(count_lines(run.err), 1);
	CHECK(strstr(run.err, "-kernel: empty file name") != NULL);
	FAILS("-initrd", "empty file name", "-initrd", "");
	/* -initrd without -kernel still needs a kernel */
	CHECK_EQ(parse_argv(ARGS("-initrd", "rd")), CLI_ERROR);
	CHECK(strstr(run.err, "need -kernel") != NULL);
}

TEST(memory_sizes)
{
	static const struct {
		const char *arg;
		uint64_t bytes;
	} cases[] = {
		{ "512", 512ull << 20 },	{ "512M", 512ull << 20 },
		{ "512m", 512ull << 20 },	{ "2G", 2ull << 30 },
		{ "2g", 2ull << 30 },		{ "1024k", 1ull << 20 },
		{ "1024K", 1ull << 20 },	{ "size=512M", 512ull << 20 },
		{ "size=64", 64ull << 20 },	{ "0x20", 32ull << 20 },
		{ "0x10M", 16ull << 20 },	{ "0X10m", 16ull << 20 },
		{ "1.5G", 3ull << 29 },		{ "1T", 1ull << 40 },
		{ "4096B", 8192 },		{ "8192b", 8192 },
		{ "1", 1ull << 20 },		{ "1000k", 1024000 },
		{ "1k", 8192 },			{ "12289b", 16384 },
		{ "5G", 5ull << 30 },		{ "65536G", GUEST_MEM_MAX_SIZE },
		{ "0.5k", 8192 },		{ "3072M", PC_LOWMEM_LIMIT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		OK("-m", cases[i].arg);
		if (run.cfg.ram_size != cases[i].bytes)
			printf("  -m %s\n", cases[i].arg);
		CHECK_EQ(run.cfg.ram_size, cases[i].bytes);
	}
	OK("--m", "256M");
	CHECK_EQ(run.cfg.ram_size, 256ull << 20);
	/* the last -m wins */
	OK("-m", "1G", "-m", "64");
	CHECK_EQ(run.cfg.ram_size, 64ull << 20);
	/* every size is a whole number of pages */
	OK("-m", "123457b");
	CHECK_EQ(run.cfg.ram_size % 4096, 0);
	CHECK(run.cfg.ram_size >= 123457);
}

TEST(memory_errors)
{
	FAILS("-m", "invalid size 'abc'", "-m", "abc");
	CHECK(strstr(run.err, "minivmm: -m: invalid size 'abc'\n") == run.err);
	FAILS("--m", "invalid size 'abc'", "--m", "abc");
	FAILS("-m", "missing size", "-m", "");
	FAILS("-m", "must not be zero", "-m", "0");
	FAILS("-m", "must not be zero", "-m", "0M");
	FAILS("-m", "must not be zero", "-m", "0x0");
	FAILS("-m", "invalid size '512MiB'", "-m", "512MiB");
	FAILS("-m", "invalid size '-1'", "-m", "-1");
	FAILS("-m", "invalid size ' 512'", "-m", " 512");
	FAILS("-m", "invalid size '1.G'", "-m", "1.G");
	FAILS("-m", "invalid size '.5G'", "-m", ".5G");
	FAILS("-m", "invalid size '0x'", "-m", "0x");
	FAILS("-m", "invalid size '0xG'", "-m", "0xG");
	FAILS("-m", "invalid size '1Q'", "-m", "1Q");
	FAILS("-m", "invalid size '0x1.5G'", "-m", "0x1.5G");
	FAILS("-m", "above the limit", "-m", "65537G");
	FAILS("-m", "above the limit", "-m", "1P");
	FAILS("-m", "too large", "-m", "16E");
	FAILS("-m", "too large", "-m", "99999999999999999999");
	FAILS("-m", "too large", "-m", "0x10000000000000000");
	FAILS("-m", "memory hotplug", "-m", "512M,slots=2,maxmem=1G");
	FAILS("-m", "memory hotplug", "-m", "512M,maxmem=1G");
	FAILS("-m", "unknown parameter 'foo'", "-m", "512M,foo=1");
	FAILS("-m", "unexpected '1024'", "-m", "512,1024");
	FAILS("-m", "invalid size ''", "-m", "size=");
}

TEST(smp)
{
	static const struct {
		const char *arg;
		unsigned cpus;
	} cases[] = {
		{ "4", 4 },
		{ "cpus=4", 4 },
		{ "1", 1 },
		{ "64", 64 },
		{ "0x8", 8 },
		{ "4,sockets=2", 4 },
		{ "4,sockets=2,cores=2,threads=1", 4 },
		{ "8,sockets=2,dies=1,clusters=1,cores=2,threads=2", 8 },
		{ "sockets=2,cores=2", 4 },
		{ "sockets=2,cores=4,threads=2", 16 },
		{ "maxcpus=4", 4 },
		{ "2,maxcpus=4", 2 },
		{ "4,cores=2", 4 },
		{ "cpus=6,threads=2", 6 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		OK("-smp", cases[i].arg);
		if (run.cfg.smp != cases[i].cpus)
			printf("  -smp %s\n", cases[i].arg);
		CHECK_EQ(run.cfg.smp, cases[i].cpus);
	}
	OK("--smp", "3");
	CHECK_EQ(run.cfg.smp, 3);
}

TEST(smp_errors)
{
	FAILS("-smp", "cpus=0 is outside 1..64", "-smp", "0");
	FAILS("-smp", "cpus=65 is outside 1..64", "-smp", "65");
	FAILS("-smp", "invalid number 'abc' for cpus", "-smp", "abc");
	FAILS("-smp", "invalid number '-1' for cpus", "-smp", "-1");
	FAILS("-smp", "unknown parameter 'foo'", "-smp", "4,foo=1");
	FAILS("-smp", "unknown parameter 'books'", "-smp", "4,books=1");
	FAILS("-smp", "unexpected '2'", "-smp", "4,2");
	FAILS("-smp", "is not maxcpus", "-smp", "4,sockets=3");
	FAILS("-smp", "is not maxcpus", "-smp", "4,sockets=2,cores=2,threads=2");
	FAILS("-smp", "cpus (8) is above maxcpus (4)", "-smp", "cpus=8,maxcpus=4");
	FAILS("-smp", "above the limit of 64", "-smp", "sockets=64,cores=2");
	FAILS("-smp", "sockets=0 is outside", "-smp", "4,sockets=0");
	FAILS("-smp", "missing CPU count", "-smp", "");
	FAILS("--smp", "invalid number", "--smp", "4x");
}

TEST(accel)
{
	static const struct {
		const char *arg;
		enum accel_choice accel;
	} cases[] = {
		{ "kvm", ACCEL_KVM },
		{ "tcg", ACCEL_TCG },
		{ "accel=tcg", ACCEL_TCG },
		{ "tcg,thread=single", ACCEL_TCG },
		{ "tcg,thread=multi", ACCEL_TCG },
		{ "tcg,tb-size=256", ACCEL_TCG },
		{ "tcg,thread=single,tb-size=0x100", ACCEL_TCG },
		{ "tcg,jit=off", ACCEL_TCG },
		{ "tcg,jit=on,tb-size=64", ACCEL_TCG },
		{ "kvm,kernel-irqchip=on", ACCEL_KVM },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		OK("-accel", cases[i].arg);
		CHECK_EQ(run.cfg.accel, cases[i].accel);
	}
	OK("--accel", "tcg");
	CHECK_EQ(run.cfg.accel, ACCEL_TCG);
	OK("-enable-kvm");
	CHECK_EQ(run.cfg.accel, ACCEL_KVM);
	OK("--enable-kvm");
	CHECK_EQ(run.cfg.accel, ACCEL_KVM);
	/* repeated accelerators are tried in order */
	OK("-accel", "kvm", "-accel", "tcg");
	CHECK_EQ(run.cfg.accel, ACCEL_AUTO);
	OK("-accel", "tcg", "-accel", "kvm");
	CHECK_EQ(run.cfg.accel, ACCEL_TCG);
	OK("-enable-kvm", "-accel", "tcg");
	CHECK_EQ(run.cfg.accel, ACCEL_AUTO);
	OK("-machine", "accel=kvm:tcg");
	CHECK_EQ(run.cfg.accel, ACCEL_AUTO);
	OK("-machine", "pc,accel=tcg");
	CHECK_EQ(run.cfg.accel, ACCEL_TCG);
	OK("-M", "accel=kvm");
	CHECK_EQ(run.cfg.accel, ACCEL_KVM);

	CHECK_EQ(parse_argv(ARGS("-accel", "help")), CLI_DONE);
	CHECK(strstr(run.out, "kvm") && strstr(run.out, "tcg"));
	CHECK_STR(run.err, "");
}

TEST(accel_errors)
{
	FAILS("-accel", "unsupported accelerator 'hvf'", "-accel", "hvf");
	FAILS("-accel", "unsupported accelerator 'xen'", "-accel", "accel=xen");
	FAILS("-accel", "missing accelerator name", "-accel", "");
	FAILS("-accel", "missing accelerator name", "-accel", "thread=single");
	FAILS("-accel", "thread= applies to tcg only", "-accel", "kvm,thread=single");
	FAILS("-accel", "tb-size= applies to tcg only", "-accel", "kvm,tb-size=64");
	FAILS("-accel", "jit= applies to tcg only", "-accel", "kvm,jit=off");
	FAILS("-accel", "tb-size=1: expected 4 to 65536", "-accel", "tcg,tb-size=1");
	FAILS("-accel", "jit=maybe: expected on or off", "-accel", "tcg,jit=maybe");
	FAILS("-accel", "kernel-irqchip= applies to kvm only", "-accel", "tcg,kernel-irqchip=on");
	FAILS("-accel", "thread=many", "-accel", "tcg,thread=many");
	FAILS("-accel", "kernel-irqchip=split is not supported", "-accel",
	      "kvm,kernel-irqchip=split");
	FAILS("-accel", "unknown parameter 'foo'", "-accel", "tcg,foo=bar");
	FAILS("-accel", "unexpected 'kvm'", "-accel", "tcg,kvm");
	FAILS("-accel", "invalid number 'x' for tb-size", "-accel", "tcg,tb-size=x");
	FAILS("-machine", "unsupported accelerator 'xen'", "-machine", "accel=kvm:xen");
	FAILS("-machine", "unsupported accelerator ''", "-machine", "accel=kvm:");
}

TEST(machine)
{
	OK("-machine", "pc");
	OK("-M", "pc");
	OK("--machine", "type=pc");
	OK("-machine", "");
	CHECK_EQ(parse_argv(ARGS("-M", "help")), CLI_DONE);
	CHECK(strstr(run.out, "pc") != NULL);
	CHECK_STR(run.err, "");
	CHECK(strstr(run.out, "microvm") != NULL);
	CHECK_EQ(run.cfg.machine, MACHINE_PC);
	FAILS("-machine", "machine type 'q35' is not supported (pc, microvm)", "-machine", "q35");
	FAILS("-M", "machine type 'pc-q35-7.2' is not supported", "-M", "pc-q35-7.2");
	FAILS("-machine", "unknown parameter 'usb'", "-machine", "pc,usb=off");
	FAILS("-machine", "unexpected 'q35'", "-machine", "pc,q35");
}

TEST(machine_microvm)
{
	OK("-M", "microvm");
	CHECK_EQ(run.cfg.machine, MACHINE_MICROVM);
	CHECK(run.cfg.microvm.pic && run.cfg.microvm.pit && run.cfg.microvm.rtc);
	CHECK(run.cfg.microvm.acpi && run.cfg.microvm.isa_serial);
	CHECK(run.cfg.microvm.auto_kernel_cmdline);
	OK("-machine", "microvm,pic=off,pit=off,rtc=off,acpi=off,isa-serial=off,auto-kernel-cmdline=off");
	CHECK(!run.cfg.microvm.pic && !run.cfg.microvm.pit && !run.cfg.microvm.rtc);
	CHECK(!run.cfg.microvm.acpi && !run.cfg.microvm.isa_serial);
	CHECK(!run.cfg.microvm.auto_kernel_cmdline);
	/* QEMU's OnOffAuto: auto is on; the type may come after the options */
	OK("-machine", "pic=auto,pit=off,type=microvm");
	CHECK(run.cfg.microvm.pic && !run.cfg.microvm.pit);
	FAILS("-machine", "pic= is a microvm option", "-machine", "pc,pic=off");
	FAILS("-machine", "pit= is a microvm option", "-machine", "pit=off");
	FAILS("-M", "rtc=maybe: expected on or off", "-M", "microvm,rtc=maybe");
	FAILS("-M", "unknown parameter 'pcie'", "-M", "microvm,pcie=on");
	/* its devices, and the PC's refused there */
	OK("-M", "microvm", "-device", "virtio-rng-device", "-drive",
	   "file=a.img,format=raw,if=none,id=d0", "-device", "virtio-blk-device,drive=d0,num-queues=2");
	CHECK_EQ(run.cfg.nr_virtio, 2);
	CHECK_EQ(run.cfg.virtio[0].transport, VIRTIO_TRANSPORT_MMIO);
	CHECK_EQ(run.cfg.virtio[1].transport, VIRTIO_TRANSPORT_MMIO);
	CHECK_EQ(run.cfg.virtio[1].blk.num_queues, 2);
	/* if=virtio there is a virtio-blk-device */
	OK("-M", "microvm", "-drive", "file=a.img,format=raw,if=virtio");
	CHECK_EQ(run.cfg.nr_virtio, 1);
	CHECK_EQ(run.cfg.virtio[0].transport, VIRTIO_TRANSPORT_MMIO);
	OK("-drive", "file=a.img,format=raw,if=virtio");
	CHECK_EQ(run.cfg.virtio[0].transport, VIRTIO_TRANSPORT_PCI);
	FAILS("-device", "virtio-rng-pci: -M microvm has no PCI bus", "-M", "microvm", "-device",
	      "virtio-rng-pci");
	FAILS("-device", "virtio-blk-device: the pc machine has no virtio-mmio bus", "-drive",
	      "file=a,format=raw,if=none,id=d0", "-device", "virtio-blk-device,drive=d0");
	FAILS("-device", "virtio-rng-device has no parameter 'vectors'", "-M", "microvm", "-device",
	      "virtio-rng-device,vectors=2");
	FAILS("-device", "virtio-blk-device needs drive=ID", "-M", "microvm", "-device",
	      "virtio-blk-device");
	FAILS("-device", "9 virtio-mmio devices: -M microvm has 8 transports", "-M", "microvm",
	      "-device", "virtio-rng-device", "-device", "virtio-rng-device", "-device",
	      "virtio-rng-device", "-device", "virtio-rng-device", "-device", "virtio-rng-device",
	      "-device", "virtio-rng-device", "-device", "virtio-rng-device", "-device",
	      "virtio-rng-device", "-device", "virtio-rng-device");
}

/* -object memory-backend-memfd with -machine memory-backend=: guest RAM
 * in a memfd, its size from the object, -m agreeing with it */
TEST(memory_backend)
{
	OK("-object", "memory-backend-memfd,id=mem,size=256M", "-machine", "memory-backend=mem");
	CHECK(run.cfg.ram_memfd && run.cfg.ram_shared);
	CHECK_EQ(run.cfg.ram_size, 256ull << 20);
	OK("-m", "512M", "-object", "memory-backend-memfd,id=m,size=512M,share=on", "-M",
	   "pc,memory-backend=m");
	CHECK(run.cfg.ram_memfd && run.cfg.ram_shared);
	CHECK_EQ(run.cfg.ram_size, 512ull << 20);
	OK("-object", "memory-backend-memfd,id=m,size=64M,share=off", "-M", "memory-backend=m");
	CHECK(run.cfg.ram_memfd && !run.cfg.ram_shared);
	/* an object no machine uses changes nothing */
	OK("-object", "memory-backend-memfd,id=m,size=64M");
	CHECK(!run.cfg.ram_memfd);
	CHECK_EQ(run.cfg.ram_size, 128ull << 20);
	FAILS("-machine", "-m (128 MiB) and the size of memory-backend 'm' (64 MiB) differ", "-m",
	      "128M", "-object", "memory-backend-memfd,id=m,size=64M", "-M", "memory-backend=m");
	FAILS("-machine", "memory-backend 'x': no -object with that id", "-object",
	      "memory-backend-memfd,id=m,size=64M", "-M", "memory-backend=x");
	FAILS("-object", "missing id=", "-object", "memory-backend-memfd,size=64M");
	FAILS("-object", "missing size=", "-object", "memory-backend-memfd,id=m");
	FAILS("-object", "size '0'", "-object", "memory-backend-memfd,id=m,size=0");
	FAILS("-object", "duplicate object id 'm'", "-object", "memory-backend-memfd,id=m,size=1M",
	      "-object", "memory-backend-memfd,id=m,size=1M");
	FAILS("-object", "'hugetlb' is not supported", "-object",
	      "memory-backend-memfd,id=m,size=1M,hugetlb=on");
	FAILS("-object", "unknown parameter 'colour'", "-object",
	      "memory-backend-memfd,id=m,size=1M,colour=red");
	FAILS("-object", "'memory-backend-file' is not supported", "-object",
	      "memory-backend-file,id=m,size=1M,mem-path=/dev/shm");
	FAILS("-object", "unknown object type 'iothread'", "-object", "iothread,id=io");
	FAILS("-object", "share=maybe: expected on or off", "-object",
	      "memory-backend-memfd,id=m,size=1M,share=maybe");
}

TEST(vhost_user_blk)
{
#define MEMFD "-object", "memory-backend-memfd,id=mem,size=128M", "-M", "memory-backend=mem"
	OK(MEMFD, "-chardev", "socket,id=vu,path=/run/vu.sock", "-device",
	   "vhost-user-blk-pci,chardev=vu,num-queues=2,queue-size=128");
	CHECK_EQ(run.cfg.nr_virtio, 1);
	CHECK_EQ(run.cfg.virtio[0].type, VIRTIO_DEVICE_VHOST_USER_BLK);
	CHECK_STR(run.cfg.virtio[0].vhost_user_blk.path, "/run/vu.sock");
	CHECK_EQ(run.cfg.virtio[0].vhost_user_blk.num_queues, 2);
	CHECK_EQ(run.cfg.virtio[0].vhost_user_blk.queue_size, 128);
	FAILS("-device", "needs chardev=ID", MEMFD, "-device", "vhost-user-blk-pci");
	FAILS("-device", "vu", MEMFD, "-device", "vhost-user-blk-pci,chardev=vu");
	FAILS("-device", "must be a unix socket client", MEMFD, "-chardev",
	      "socket,id=vu,path=/run/vu.sock,server=on,wait=off", "-device",
	      "vhost-user-blk-pci,chardev=vu");
	FAILS("-device", "must be a unix socket client", MEMFD, "-chardev",
	      "socket,id=vu,host=127.0.0.1,port=4000", "-device", "vhost-user-blk-pci,chardev=vu");
	FAILS("-device", "the back-end must map guest RAM", "-chardev",
	      "socket,id=vu,path=/run/vu.sock", "-device", "vhost-user-blk-pci,chardev=vu");
	FAILS("-device", "num-queues=0 is outside", MEMFD, "-chardev",
	      "socket,id=vu,path=/run/vu.sock", "-device", "vhost-user-blk-pci,chardev=vu,num-queues=0");
	FAILS("-device", "vhost-user-blk-pci has no parameter 'drive'", MEMFD, "-chardev",
	      "socket,id=vu,path=/run/vu.sock", "-device", "vhost-user-blk-pci,chardev=vu,drive=d");
#undef MEMFD
}

TEST(cpu)
{
	OK("-cpu", "host");
	OK("-cpu", "max");
	OK("-cpu", "qemu64");
	OK("--cpu", "max", "-accel", "tcg");
	OK("-cpu", "host", "-accel", "kvm");
	OK("-cpu", "host", "-enable-kvm");
	/* a later -cpu replaces host */
	OK("-cpu", "host", "-cpu", "max", "-accel", "tcg");
	CHECK_EQ(parse_argv(ARGS("-cpu", "help")), CLI_DONE);
	CHECK(strstr(run.out, "host") && strstr(run.out, "max") && strstr(run.out, "qemu64"));
	FAILS("-cpu", "unsupported CPU model 'Skylake-Client'", "-cpu", "Skylake-Client");
	FAILS("-cpu", "CPU features ('+avx') are not supported", "-cpu", "max,+avx,-x2apic");
	FAILS("-cpu", "CPU features ('pmu=off') are not supported", "-cpu", "host,pmu=off");
	FAILS("-cpu", "missing CPU model", "-cpu", "");
	FAILS("-cpu", "CPU model 'host' needs KVM", "-cpu", "host", "-accel", "tcg");
	FAILS("-cpu", "CPU model 'host' needs KVM", "-accel", "tcg", "-cpu", "host");
}

TEST(flags)
{
	OK("-nographic");
	CHECK(run.cfg.nographic);
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_STDIO);
	OK("-no-reboot");
	CHECK(run.cfg.no_reboot);
	OK("--no-shutdown");
	CHECK(run.cfg.no_shutdown);
	OK("-display", "none");
	CHECK(run.cfg.display_none);
	OK("-nographic", "-serial", "none");
	CHECK(run.cfg.nographic);
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_NONE);
	FAILS("-display", "display 'gtk' is not supported", "-display", "gtk");
	FAILS("-display", "display 'none,gl=on' is not supported", "-display", "none,gl=on");
	/* devices this PC never has: "none" is accepted, anything else is not */
	static const char *const none_only[] = { "-vga", "-vnc", "-monitor", "-parallel", "-net" };
	for (size_t i = 0; i < sizeof(none_only) / sizeof(none_only[0]); i++) {
		OK(none_only[i], "none");
		FAILS(none_only[i], "'stdio' is not supported (only none)", none_only[i], "stdio");
	}
}

TEST(serial)
{
	OK("-serial", "stdio");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_STDIO);
	OK("-serial", "mon:stdio");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_STDIO);
	OK("-serial", "none");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_NONE);
	OK("-serial", "file:/tmp/com1.log");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_FILE);
	CHECK_STR(run.cfg.serial.path, "/tmp/com1.log");
	OK("--serial", "null");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_FILE);
	CHECK_STR(run.cfg.serial.path, "/dev/null");
	OK("-serial", "pty");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_PTY);
	FAILS("-serial", "unsupported backend 'vc'", "-serial", "vc");
	FAILS("-serial", "unsupported backend 'tcp::4444,server'", "-serial", "tcp::4444,server");
	FAILS("-serial", "file: needs a path", "-serial", "file:");
	FAILS("-serial", "unsupported backend ''", "-serial", "");
	FAILS("-serial", "only one serial port", "-serial", "stdio", "-serial", "file:x");
}

TEST(debugcon)
{
	OK("-debugcon", "stdio");
	CHECK_EQ(run.cfg.debugcon.kind, CHARDEV_STDIO);
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_STDIO);
	OK("-debugcon", "file:dbg.txt");
	CHECK_EQ(run.cfg.debugcon.kind, CHARDEV_FILE);
	CHECK_STR(run.cfg.debugcon.path, "dbg.txt");
	OK("--debugcon", "none");
	CHECK_EQ(run.cfg.debugcon.kind, CHARDEV_NONE);
	OK("-debugcon", "mon:stdio");
	CHECK_EQ(run.cfg.debugcon.kind, CHARDEV_STDIO);
	FAILS("-debugcon", "unsupported backend 'vc'", "-debugcon", "vc");
	FAILS("-debugcon", "file: needs a path", "-debugcon", "file:");
	FAILS("-debugcon", "only one debug console", "-debugcon", "stdio", "-debugcon", "none");
}

TEST(nodefaults)
{
	OK("-nodefaults");
	CHECK(run.cfg.nodefaults);
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_NONE);
	CHECK_EQ(run.cfg.debugcon.kind, CHARDEV_NONE);
	OK("-nodefaults", "-serial", "stdio");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_STDIO);
	OK("-serial", "file:out", "-nodefaults");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_FILE);
	CHECK_STR(run.cfg.serial.path, "out");
	OK("-nodefaults", "-debugcon", "stdio");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_NONE);
	CHECK_EQ(run.cfg.debugcon.kind, CHARDEV_STDIO);
}

TEST(devices)
{
	OK("-device", "isa-debug-exit");
	CHECK(run.cfg.debug_exit);
	CHECK_EQ(run.cfg.debug_exit_iobase, 0x501);
	CHECK_EQ(run.cfg.debug_exit_iosize, 2);
	CHECK(!run.cfg.pc_testdev);
	OK("-device", "isa-debug-exit,iobase=0xf4,iosize=0x04");
	CHECK_EQ(run.cfg.debug_exit_iobase, 0xf4);
	CHECK_EQ(run.cfg.debug_exit_iosize, 4);
	OK("--device", "isa-debug-exit,iobase=244,iosize=1,id=exit0");
	CHECK_EQ(run.cfg.debug_exit_iobase, 244);
	CHECK_EQ(run.cfg.debug_exit_iosize, 1);
	OK("-device", "driver=isa-debug-exit,iosize=8");
	CHECK_EQ(run.cfg.debug_exit_iobase, 0x501);
	CHECK_EQ(run.cfg.debug_exit_iosize, 8);
	OK("-device", "isa-debug-exit,iobase=0xfffe,iosize=2");
	CHECK_EQ(run.cfg.debug_exit_iobase, 0xfffe);
	OK("-device", "pc-testdev");
	CHECK(run.cfg.pc_testdev);
	CHECK(!run.cfg.debug_exit);
	/* kvm-unit-tests' command line */
	OK("-nodefaults", "-device", "pc-testdev", "-device",
	   "isa-debug-exit,iobase=0xf4,iosize=0x4", "-vnc", "none", "-serial", "stdio", "-machine", "accel=kvm", "-smp", "2", "-m", "256");
	CHECK(run.cfg.pc_testdev && run.cfg.debug_exit);
	CHECK_EQ(run.cfg.debug_exit_iobase, 0xf4);
	CHECK_EQ(run.cfg.debug_exit_iosize, 4);
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_STDIO);
	CHECK_EQ(run.cfg.accel, ACCEL_KVM);
	CHECK_EQ(run.cfg.smp, 2);
	CHECK_EQ(run.cfg.ram_size, 256ull << 20);

	CHECK_EQ(parse_argv(ARGS("-device", "help")), CLI_DONE);
	CHECK(strstr(run.out, "isa-debug-exit") && strstr(run.out, "pc-testdev"));
	CHECK(strstr(run.out, "virtio-rng-pci[,max-bytes=N][,period=MS]"));
	CHECK(strstr(run.out, "virtio-blk-pci,drive=ID[,bootindex=N][,num-queues=N][,queue-size=N][,serial=S]"));
	CHECK(strstr(run.out, "iobase") && strstr(run.out, "packed=on|off"));
	CHECK_STR(run.err, "");
}

TEST(virtio_devices)
{
	OK("-device", "virtio-rng-pci");
	CHECK_EQ(run.cfg.nr_virtio, 1);
	CHECK_EQ(run.cfg.virtio[0].type, VIRTIO_DEVICE_RNG);
	CHECK_EQ(run.cfg.virtio[0].rng.max_bytes, UINT64_MAX);
	CHECK_EQ(run.cfg.virtio[0].rng.period_ms, 65536);
	CHECK(run.cfg.virtio[0].common.packed && run.cfg.virtio[0].common.event_idx &&
	      run.cfg.virtio[0].common.indirect_desc);
	CHECK_EQ(run.cfg.virtio[0].common.vectors, -1);
	OK("-device", "virtio-rng-pci,max-bytes=1024,period=500,id=rng0,packed=off,event_idx=no,"
		      "indirect_desc=false,vectors=0",
	   "-device", "virtio-rng-pci");
	CHECK_EQ(run.cfg.nr_virtio, 2);
	CHECK_EQ(run.cfg.virtio[0].rng.max_bytes, 1024);
	CHECK_EQ(run.cfg.virtio[0].rng.period_ms, 500);
	CHECK_STR(run.cfg.virtio[0].id, "rng0");
	CHECK(!run.cfg.virtio[0].common.packed && !run.cfg.virtio[0].common.event_idx &&
	      !run.cfg.virtio[0].common.indirect_desc);
	CHECK_EQ(run.cfg.virtio[0].common.vectors, 0);
	CHECK(run.cfg.virtio[1].common.packed);

	/* disks: -device ... drive=ID, and -drive if=virtio, after the others */
	OK("-smp", "3", "-drive", "file=a.img,format=raw,if=virtio", "-device",
	   "virtio-blk-pci,drive=d1,num-queues=2,serial=disk1,queue-size=128,discard=off", "-drive",
	   "file=b.img,format=raw,if=none,id=d1", "-device", "virtio-rng-pci");
	CHECK_EQ(run.cfg.nr_virtio, 3);
	CHECK_EQ(run.cfg.virtio[0].type, VIRTIO_DEVICE_BLK);
	CHECK_EQ(run.cfg.virtio[0].blk.drive, 1);
	CHECK_EQ(run.cfg.virtio[0].blk.num_queues, 2);
	CHECK_EQ(run.cfg.virtio[0].blk.queue_size, 128);
	CHECK_STR(run.cfg.virtio[0].blk.serial, "disk1");
	CHECK(!run.cfg.virtio[0].blk.discard && run.cfg.virtio[0].blk.write_zeroes);
	CHECK_EQ(run.cfg.virtio[1].type, VIRTIO_DEVICE_RNG);
	CHECK_EQ(run.cfg.virtio[2].type, VIRTIO_DEVICE_BLK);
	CHECK_EQ(run.cfg.virtio[2].blk.drive, 0);
	CHECK_EQ(run.cfg.virtio[2].blk.num_queues, 3);	/* one per vCPU */
	CHECK_EQ(run.cfg.virtio[2].blk.queue_size, 256);
	CHECK(run.cfg.virtio[2].blk.serial == NULL);
	/* a read-only drive takes a device with the defaults */
	OK("-drive", "file=a.img,format=raw,if=none,id=ro,readonly=on", "-device",
	   "virtio-blk-pci,drive=ro");
	CHECK_EQ(run.cfg.nr_virtio, 1);
}

TEST(virtio_device_errors)
{
	FAILS("-device", "virtio-rng-pci has no parameter 'rng'", "-device", "virtio-rng-pci,rng=r0");
	FAILS("-device", "period=0", "-device", "virtio-rng-pci,period=0");
	FAILS("-device", "invalid number 'x' for max-bytes", "-device", "virtio-rng-pci,max-bytes=x");
	FAILS("-device", "packed=maybe: expected on or off", "-device", "virtio-rng-pci,packed=maybe");
	FAILS("-device", "vectors=129 is above 128", "-device", "virtio-rng-pci,vectors=129");
	FAILS("-device", "needs drive=ID", "-device", "virtio-blk-pci");
	FAILS("-device", "drive=d0 names no -drive", "-device", "virtio-blk-pci,drive=d0");
	FAILS("-device", "num-queues=0 is outside 1..64", "-device", "virtio-blk-pci,drive=d,num-queues=0");
	FAILS("-device", "num-queues=65 is outside 1..64", "-device",
	      "virtio-blk-pci,drive=d,num-queues=65");
	FAILS("-device", "queue-size=100: expected a power of two", "-device",
	      "virtio-blk-pci,drive=d,queue-size=100");
	FAILS("-device", "queue-size=2048", "-device", "virtio-blk-pci,drive=d,queue-size=2048");
	FAILS("-device", "longer than 20 characters", "-device",
	      "virtio-blk-pci,drive=d,serial=123456789012345678901");
	FAILS("-device", "driver given twice", "-device", "virtio-rng-pci,driver=virtio-rng-pci");
	FAILS("-device", "unsupported device 'virtio-blk-ccw'", "-device", "virtio-blk-ccw");
	FAILS("-device", "drive 'd0' is used by two devices", "-drive", "file=a,format=raw,if=none,id=d0",
	      "-device", "virtio-blk-pci,drive=d0", "-device", "virtio-blk-pci,drive=d0");
	FAILS("-device", "already has a device of its own (if=virtio)", "-drive",
	      "file=a,format=raw,if=virtio,id=d0", "-device", "virtio-blk-pci,drive=d0");
	FAILS("-device", "read-only, so it cannot take discard=on", "-drive",
	      "file=a,format=raw,if=none,id=d0,readonly=on", "-device", "virtio-blk-pci,drive=d0,discard=on");
	FAILS("-device", "cannot take write-zeroes=on", "-drive",
	      "file=a,format=raw,if=none,id=d0,readonly=on", "-device",
	      "virtio-blk-pci,drive=d0,write-zeroes=on");
	FAILS("-device", "drive=D0 names no -drive", "-drive", "file=a,format=raw,if=none,id=d0",
	      "-device", "virtio-blk-pci,drive=D0");
}

TEST(device_errors)
{
	FAILS("-device", "unsupported device 'e1000'", "-device", "e1000");
	FAILS("-device", "unsupported device 'pci-testdev'", "-device", "pci-testdev");
	FAILS("-device", "iobase=0x10000 is above port 0xffff", "-device",
	      "isa-debug-exit,iobase=0x10000");
	FAILS("-device", "iosize=0 is outside", "-device", "isa-debug-exit,iosize=0");
	FAILS("-device", "iosize=0x10000 is outside", "-device", "isa-debug-exit,iosize=0x10000");
	FAILS("-device", "run past 0xffff", "-device", "isa-debug-exit,iobase=0xffff,iosize=2");
	FAILS("-device", "invalid number 'zz' for iobase", "-device", "isa-debug-exit,iobase=zz");
	FAILS("-device", "invalid number '' for iosize", "-device", "isa-debug-exit,iosize=");
	FAILS("-device", "isa-debug-exit has no parameter 'foo'", "-device",
	      "isa-debug-exit,foo=1");
	FAILS("-device", "pc-testdev has no parameter 'iobase'", "-device", "pc-testdev,iobase=1");
	FAILS("-device", "unexpected 'x'", "-device", "pc-testdev,x");
	FAILS("-device", "missing device name", "-device", "");
	FAILS("-device", "missing device name", "-device", "iobase=1,driver=isa-debug-exit");
	FAILS("-device", "only one isa-debug-exit", "-device", "isa-debug-exit", "-device",
	      "isa-debug-exit,iobase=0xf4");
	FAILS("-device", "only one pc-testdev", "-device", "pc-testdev", "-device", "pc-testdev");
}

/* -d help prints through log.c to stdout: catch it in a file */
static char *capture_stdout_of_d_help(enum cli_result *result)
{
	static char buf[4096];
	FILE *tmp = tmpfile();
	if (!tmp)
		return NULL;
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	dup2(fileno(tmp), STDOUT_FILENO);
	*result = parse_argv(ARGS("-d", "help", "-kernel", "k"));
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = 0;
	fclose(tmp);
	return buf;
}

TEST(debug_log)
{
	OK("-d", "unimp");
	CHECK_EQ(run.cfg.debug_mask, DEBUG_UNIMP);
	OK("-d", "unimp,int,guest_errors");
	CHECK_EQ(run.cfg.debug_mask, DEBUG_UNIMP | DEBUG_INT | DEBUG_GUEST_ERRORS);
	OK("-d", "cpu", "-d", "exec");
	CHECK_EQ(run.cfg.debug_mask, DEBUG_EXEC);
	OK("--d", "in_asm,exit");
	CHECK_EQ(run.cfg.debug_mask, DEBUG_IN_ASM | DEBUG_EXIT);
	OK("-D", "/tmp/minivmm.log");
	CHECK_STR(run.cfg.debug_logfile, "/tmp/minivmm.log");
	FAILS("-d", "unknown log item 'bogus'", "-d", "unimp,bogus,int");
	FAILS("-D", "empty file name", "-D", "");

	enum cli_result result = CLI_ERROR;
	const char *help = capture_stdout_of_d_help(&result);
	CHECK(help != NULL);
	CHECK_EQ(result, CLI_DONE);
	if (help)
		CHECK(strstr(help, "unimp") && strstr(help, "guest_errors") &&
		      strstr(help, "in_asm"));
	CHECK_STR(run.err, "");
}

TEST(help)
{
	static const char *const spellings[] = { "-h", "-help", "--help" };
	static const char *const options[] = {
		"-kernel", "-initrd", "-append", "-m ", "-smp", "-accel", "-enable-kvm",
		"-machine", "-M", "-cpu", "-nographic", "-display", "-serial", "-debugcon",
		"-device", "-nodefaults", "-no-reboot", "-no-shutdown", "-vga", "-vnc",
		"-monitor", "-parallel", "-net", "-d ", "-D ", "-help", "-h", "-version",
		"isa-debug-exit", "pc-testdev", "virtio-rng-pci", "virtio-blk-pci", "mon:stdio",
		"file:PATH", "-drive", "if=ide|virtio|none", "cache=", "-hda", "-cdrom", "-bios", "-boot",
	};
	for (size_t s = 0; s < sizeof(spellings) / sizeof(spellings[0]); s++) {
		/* help ends the parse: nothing after it is looked at */
		CHECK_EQ(parse_argv(ARGS(spellings[s], "-bogus")), CLI_DONE);
		CHECK_STR(run.err, "");
		CHECK(!strncmp(run.out, "usage: minivmm", 14));
		for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
			if (!strstr(run.out, options[i]))
				printf("  help lacks '%s'\n", options[i]);
			CHECK(strstr(run.out, options[i]) != NULL);
		}
	}
	/* an error before it still counts */
	FAILS("-bogus", "unknown option", "-bogus", "-h");
}

TEST(version)
{
	static const char *const spellings[] = { "-version", "--version" };
	for (size_t s = 0; s < sizeof(spellings) / sizeof(spellings[0]); s++) {
		CHECK_EQ(parse_argv(ARGS(spellings[s])), CLI_DONE);
		CHECK_STR(run.err, "");
		CHECK(!strncmp(run.out, "minivmm version ", 16));
		size_t len = strlen(run.out);
		const char *tail = " (qemu-compatible command line)\n";
		CHECK(len > strlen(tail) && !strcmp(run.out + len - strlen(tail), tail));
		CHECK_EQ(count_lines(run.out), 1);
	}
}

TEST(unknown_options_and_arguments)
{
	FAILS("-foo", "unknown option '-foo'", "-foo");
	CHECK(!strncmp(run.err, "minivmm: unknown option '-foo'", 30));
	FAILS("--foo", "unknown option '--foo'", "--foo");
	FAILS("---m", "unknown option '---m'", "---m", "1");
	FAILS("--", "unknown option '--'", "--");
	FAILS("disk.img", "unexpected argument 'disk.img'", "disk.img");
	FAILS("'-'", "unexpected argument '-'", "-");
	/* options are case sensitive, as in QEMU: -d and -D differ */
	FAILS("-KERNEL", "unknown option", "-KERNEL", "x");
	/* flags take no argument: what follows is the next option */
	FAILS("stdio", "unexpected argument 'stdio'", "-nographic", "stdio");
}

TEST(missing_arguments)
{
	static const char *const with_arg[] = {
		"-kernel", "-initrd", "-append", "-m", "-smp", "-accel", "-machine", "-M",
		"-cpu", "-display", "-serial", "-debugcon", "-device", "-d", "-D", "-vga",
		"-vnc", "-monitor", "-parallel", "-net", "--m", "--serial", "-drive",
	};
	for (size_t i = 0; i < sizeof(with_arg) / sizeof(with_arg[0]); i++) {
		char *argv[] = { (char *)"minivmm", (char *)"-kernel", (char *)"k",
				 (char *)with_arg[i], NULL };
		char *err_buf = NULL;
		size_t err_len = 0;
		FILE *err = open_memstream(&err_buf, &err_len);
		FILE *out = fopen("/dev/null", "w");
		struct vm_config cfg;
		enum cli_result r = cli_parse(4, argv, &cfg, out, err);
		fclose(err);
		fclose(out);
		char expect[64];
		snprintf(expect, sizeof(expect), "minivmm: %s: missing argument", with_arg[i]);
		CHECK_EQ(r, CLI_ERROR);
		if (strncmp(err_buf, expect, strlen(expect)))
			printf("  %s: got '%s'\n", with_arg[i], err_buf);
		CHECK(!strncmp(err_buf, expect, strlen(expect)));
		CHECK_EQ(count_lines(err_buf), 1);
		free(err_buf);
	}
}

TEST(drives)
{
	OK("-drive", "file=disk.img,if=virtio");
	CHECK_EQ(run.cfg.nr_drives, 1);
	const struct drive_config *d = &run.cfg.drives[0];
	CHECK_STR(d->file, "disk.img");
	CHECK_STR(d->id, "virtio0");
	CHECK_EQ(d->format, DRIVE_FORMAT_PROBE);
	CHECK_EQ(d->interface, DRIVE_IF_VIRTIO);
	CHECK(!d->readonly && !d->direct && !d->no_flush && !d->writethrough);
	CHECK_EQ(d->cache, DRIVE_CACHE_WRITEBACK);
	CHECK_EQ(d->aio, DRIVE_AIO_THREADS);
	CHECK_EQ(d->discard, DRIVE_DISCARD_IGNORE);
	CHECK_EQ(d->detect_zeroes, DRIVE_DETECT_ZEROES_OFF);
	CHECK(d->serial == NULL);

	OK("-drive",
	   "file=/a/b.qcow2,format=qcow2,if=none,id=disk-1.x_y,readonly=on,cache=none,"
	   "aio=io_uring,discard=unmap,detect-zeroes=unmap,serial=SN123",
	   "--drive", "disk2.img,if=virtio,format=raw", "-drive", "file=d3,if=virtio");
	CHECK_EQ(run.cfg.nr_drives, 3);
	d = &run.cfg.drives[0];
	CHECK_STR(d->file, "/a/b.qcow2");
	CHECK_STR(d->id, "disk-1.x_y");
	CHECK_EQ(d->format, DRIVE_FORMAT_QCOW2);
	CHECK_EQ(d->interface, DRIVE_IF_NONE);
	CHECK(d->readonly && d->direct && !d->no_flush && !d->writethrough);
	CHECK_EQ(d->cache, DRIVE_CACHE_NONE);
	CHECK_EQ(d->aio, DRIVE_AIO_IO_URING);
	CHECK_EQ(d->discard, DRIVE_DISCARD_UNMAP);
	CHECK_EQ(d->detect_zeroes, DRIVE_DETECT_ZEROES_UNMAP);
	CHECK_STR(d->serial, "SN123");
	/* if=virtio drives without id= are virtio0, virtio1, ... in order */
	CHECK_STR(run.cfg.drives[1].file, "disk2.img");
	CHECK_STR(run.cfg.drives[1].id, "virtio0");
	CHECK_EQ(run.cfg.drives[1].format, DRIVE_FORMAT_RAW);
	CHECK_STR(run.cfg.drives[2].id, "virtio1");

	/* cache= as QEMU defines it, and the cache.* keys over it */
	static const struct {
		const char *arg;
		bool direct, no_flush, writethrough;
	} caches[] = {
		{ "cache=writeback", false, false, false },
		{ "cache=none", true, false, false },
		{ "cache=writethrough", false, false, true },
		{ "cache=directsync", true, false, true },
		{ "cache=unsafe", false, true, false },
		{ "cache.direct=on", true, false, false },
		{ "cache=none,cache.direct=off", false, false, false },
		{ "cache.no-flush=on", false, true, false },
		{ "cache=unsafe,cache.no-flush=off", false, false, false },
		{ "cache=directsync,cache.direct=off", false, false, true },
	};
	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
		char arg[128];
		snprintf(arg, sizeof(arg), "file=x,if=virtio,%s", caches[i].arg);
		OK("-drive", arg);
		d = &run.cfg.drives[0];
		if (d->direct != caches[i].direct || d->no_flush != caches[i].no_flush ||
		    d->writethrough != caches[i].writethrough)
			printf("  %s\n", caches[i].arg);
		CHECK(d->direct == caches[i].direct && d->no_flush == caches[i].no_flush &&
		      d->writethrough == caches[i].writethrough);
	}
	OK("-drive", "file=x,if=virtio,readonly=off,discard=on,detect-zeroes=on,media=disk");
	CHECK(!run.cfg.drives[0].readonly);
	CHECK_EQ(run.cfg.drives[0].discard, DRIVE_DISCARD_UNMAP);
	CHECK_EQ(run.cfg.drives[0].detect_zeroes, DRIVE_DETECT_ZEROES_ON);
	OK("-drive", "file=x,if=virtio,discard=off,readonly=yes");
	CHECK(run.cfg.drives[0].readonly);
	CHECK_EQ(run.cfg.drives[0].discard, DRIVE_DISCARD_IGNORE);
	/* ",," is a comma in a value, as in QEMU */
	OK("-drive", "file=a,,b,,,,c.img,if=virtio,serial=x,,y", "-drive", "d,,e,if=virtio");
	CHECK_STR(run.cfg.drives[0].file, "a,b,,c.img");
	CHECK_STR(run.cfg.drives[0].serial, "x,y");
	CHECK_STR(run.cfg.drives[1].file, "d,e");
	/* NBD exports */
	OK("-drive", "file=nbd://127.0.0.1:10809/exp,if=virtio", "-drive",
	   "file=nbd+unix:///exp?socket=/tmp/s,if=none,id=n,format=raw");
	CHECK_STR(run.cfg.drives[0].file, "nbd://127.0.0.1:10809/exp");
	CHECK_STR(run.cfg.drives[1].file, "nbd+unix:///exp?socket=/tmp/s");
	/* 16 drives fit */
	const char *many[40];
	int n = 0;
	for (int i = 0; i < VM_MAX_DRIVES; i++) {
		many[n++] = "-drive";
		many[n++] = "file=x,if=virtio";
	}
	many[n] = NULL;
	CHECK(parses_ok(many));
	CHECK_EQ(run.cfg.nr_drives, VM_MAX_DRIVES);
	CHECK_STR(run.cfg.drives[15].id, "virtio15");
}

TEST(ide_drives)
{
	/* without if=, as in QEMU, an IDE disk; -hda..-hdd and -cdrom place
	 * theirs, the rest take the free indexes in order */
	CHECK_EQ(parse_argv(ARGS("-drive", "file=a.img", "-cdrom", "cd.iso", "-hdb", "b.img",
				 "-drive", "file=c.img,if=ide,format=qcow2")),
		 CLI_RUN);
	CHECK_EQ(run.cfg.nr_drives, 4);
	CHECK_EQ(run.cfg.drives[0].interface, DRIVE_IF_IDE);
	CHECK_EQ(run.cfg.drives[0].index, 0);
	CHECK(!run.cfg.drives[0].cdrom);
	CHECK_STR(run.cfg.drives[1].file, "cd.iso");
	CHECK_EQ(run.cfg.drives[1].index, 2);
	CHECK(run.cfg.drives[1].cdrom && run.cfg.drives[1].readonly);
	CHECK_EQ(run.cfg.drives[2].index, 1);
	CHECK_EQ(run.cfg.drives[3].index, 3);
	CHECK_EQ(run.cfg.drives[3].format, DRIVE_FORMAT_QCOW2);
	CHECK_EQ(parse_argv(ARGS("-drive", "file=x.iso,media=cdrom,index=3", "-hda", "d.img")),
		 CLI_RUN);
	CHECK(run.cfg.drives[0].cdrom && run.cfg.drives[0].readonly);
	CHECK_EQ(run.cfg.drives[0].index, 3);
	CHECK_EQ(run.cfg.drives[1].index, 0);
	CHECK_EQ(parse_argv(ARGS("-drive", "file=a,if=none,id=a", "-device",
				 "virtio-blk-pci,drive=a,bootindex=2", "-drive", "file=b,if=virtio")),
		 CLI_RUN);
	CHECK_EQ(run.cfg.virtio[0].blk.bootindex, 2);
	CHECK_EQ(run.cfg.virtio[1].blk.bootindex, -1);
}

TEST(drive_errors)
{
	FAILS("-drive", "missing file=", "-drive", "if=virtio");
	FAILS("-drive", "file= is empty", "-drive", "file=,if=virtio");
	FAILS("-drive", "if=scsi is not supported (none, virtio, ide)", "-drive",
	      "file=d,if=scsi");
	FAILS("-drive", "unknown parameter 'bogus'", "-drive", "file=d,if=virtio,bogus=1");
	FAILS("-drive", "unexpected 'extra'", "-drive", "file=d,if=virtio,extra");
	FAILS("-drive", "format=vmdk is not supported (raw, qcow2)", "-drive",
	      "file=d,if=virtio,format=vmdk");
	FAILS("-drive", "cache=bogus is not supported", "-drive", "file=d,if=virtio,cache=bogus");
	FAILS("-drive", "aio=native", "-drive", "file=d,if=virtio,aio=native");
	FAILS("-drive", "aio=posix is not supported", "-drive", "file=d,if=virtio,aio=posix");
	FAILS("-drive", "discard=maybe is not supported", "-drive",
	      "file=d,if=virtio,discard=maybe");
	FAILS("-drive", "detect-zeroes=all is not supported", "-drive",
	      "file=d,if=virtio,detect-zeroes=all");
	FAILS("-drive", "readonly=maybe: expected on or off", "-drive",
	      "file=d,if=virtio,readonly=maybe");
	FAILS("-drive", "cache.direct=2", "-drive", "file=d,if=virtio,cache.direct=2");
	FAILS("-drive", "detect-zeroes=unmap needs discard=unmap", "-drive",
	      "file=d,if=virtio,detect-zeroes=unmap");
	FAILS("-drive", "detect-zeroes=unmap needs discard=unmap", "-drive",
	      "file=d,if=virtio,detect-zeroes=unmap,discard=ignore");
	FAILS("-drive", "if=none needs id=", "-drive", "file=d,if=none");
	FAILS("-drive", "file= is given twice", "-drive", "file=d,if=virtio,file=e");
	FAILS("-drive", "cache= is given twice", "-drive", "d,if=virtio,cache=none,cache=none");
	FAILS("-drive", "unexpected 'e'", "-drive", "file=d,,,e,if=virtio");
	FAILS("-drive", "duplicate id 'a'", "-drive", "file=d,if=none,id=a", "-drive",
	      "file=e,if=virtio,id=a");
	/* a made-up id may collide with a user's */
	FAILS("-drive", "duplicate id 'virtio0'", "-drive", "file=d,if=none,id=virtio0",
	      "-drive", "file=e,if=virtio");
	FAILS("-drive", "id=1abc: an id starts with a letter", "-drive",
	      "file=d,if=none,id=1abc");
	FAILS("-drive", "id=a/b", "-drive", "file=d,if=none,id=a/b");
	FAILS("-drive", "serial=", "-drive", "file=d,if=virtio,serial=123456789012345678901");
	FAILS("-drive", "media=cdrom needs if=ide", "-drive", "file=d,if=virtio,media=cdrom");
	FAILS("-drive", "media=tape: disk or cdrom", "-drive", "file=d,media=tape");
	FAILS("-drive", "index=4: 0 to 3", "-drive", "file=d,index=4");
	FAILS("-drive", "index= applies to if=ide", "-drive", "file=d,if=virtio,index=1");
	FAILS("-drive", "two IDE drives at index 1", "-drive", "file=d,index=1", "-drive",
	      "file=e,if=ide,index=1");
	FAILS("-drive", "more than 4 IDE drives", "-drive", "file=a", "-drive", "file=b", "-drive",
	      "file=c", "-drive", "file=d", "-drive", "file=e");
	FAILS("-hdb", "IDE index 1 is given twice", "-hdb", "a", "-hdb", "b");
	FAILS("-cdrom", "IDE index 2 is given twice", "-hdc", "a", "-cdrom", "b");
	FAILS("-hda", "empty file name", "-hda", "");
	FAILS("-device", "bootindex=70000: 0 to 65535", "-drive", "file=a,if=none,id=a", "-device",
	      "virtio-blk-pci,drive=a,bootindex=70000");
	FAILS("-device", "bootindex=1 is used twice", "-drive", "file=a,if=none,id=a", "-drive",
	      "file=b,if=none,id=b", "-device", "virtio-blk-pci,drive=a,bootindex=1", "-device",
	      "virtio-blk-pci,drive=b,bootindex=1");
	FAILS("-drive", "does not apply to NBD", "-drive",
	      "file=nbd://localhost/x,if=virtio,cache=none");
	const char *many[40];
	int n = 0;
	for (int i = 0; i <= VM_MAX_DRIVES; i++) {
		many[n++] = "-drive";
		many[n++] = "file=x,if=virtio";
	}
	many[n] = NULL;
	CHECK(fails_with("-drive", "too many drives", many));
}

RUN_TESTS(T(defaults), T(no_kernel_boots_firmware), T(boot_order_and_global), T(smbios_and_uuid), T(kernel_initrd_append), T(memory_sizes),
	  T(memory_errors), T(smp), T(smp_errors), T(accel), T(accel_errors), T(machine), T(machine_microvm),
	  T(memory_backend), T(vhost_user_blk),
	  T(cpu),
	  T(flags), T(serial), T(debugcon), T(nodefaults), T(devices), T(device_errors),
	  T(virtio_devices), T(virtio_device_errors),
	  T(debug_log), T(help), T(version), T(unknown_options_and_arguments),
	  T(missing_arguments), T(drives), T(ide_drives), T(drive_errors))
