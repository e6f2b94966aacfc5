/* -kernel with a Linux bzImage (and a vmlinux ELF): the setup header
 * parser field by field and each refusal, where kernel, initrd, command
 * line and zero page land, the e820 table for small and large RAM, and
 * Debian's own kernel when the Linux test kit has been built. */
#include <sys/stat.h>

#include "boot/acpi.h"
#include "boot_test.h"

#define MiB (1ull << 20)
#define PAYLOAD_SIZE 0x3000

static struct boot_test t;
static uint8_t img[64 * 1024];

struct bz_opts {
	uint8_t setup_sects;
	uint16_t version;
	uint8_t loadflags;
	uint8_t relocatable;
	uint16_t xloadflags;
	uint32_t kernel_alignment, initrd_addr_max, cmdline_size, init_size;
	uint64_t pref_address;
	uint16_t boot_flag;
	size_t payload;
};

static struct bz_opts bz_defaults(void)
{
	return (struct bz_opts){
		.setup_sects = 4, .version = 0x20f, .loadflags = 0x01, .relocatable = 1,
		.xloadflags = 0x1, .kernel_alignment = 0x200000, .initrd_addr_max = 0x7fffffff,
		.cmdline_size = 0x7ff, .init_size = 0x400000, .pref_address = 0x1000000,
		.boot_flag = 0xaa55, .payload = PAYLOAD_SIZE,
	};
}

/* A bzImage as the kernel's build lays it out: boot sector with the setup
 * header, setup sectors, then the protected-mode kernel (a byte pattern) */
static size_t bz_build(const struct bz_opts *o)
{
	memset(img, 0, sizeof(img));
	unsigned sects = o->setup_sects ? o->setup_sects : 4;
	size_t setup = (sects + 1) * 512;
	img[0x1f1] = o->setup_sects;
	boot_put_le16(img + 0x1fe, o->boot_flag);
	img[0x200] = 0xeb;
	img[0x201] = 0x66;	/* header ends at 0x268 */
	memcpy(img + 0x202, "HdrS", 4);
	boot_put_le16(img + 0x206, o->version);
	img[0x211] = o->loadflags;
	boot_put_le32(img + 0x214, 0x100000);
	boot_put_le32(img + 0x22c, o->initrd_addr_max);
	boot_put_le32(img + 0x230, o->kernel_alignment);
	img[0x234] = o->relocatable;
	img[0x235] = 21;
	boot_put_le16(img + 0x236, o->xloadflags);
	boot_put_le32(img + 0x238, o->cmdline_size);
	boot_put_le64(img + 0x258, o->pref_address);
	boot_put_le32(img + 0x260, o->init_size);
	for (size_t i = 0; i < o->payload && setup + i < sizeof(img); i++)
		img[setup + i] = (uint8_t)(i * 7 + 1);
	return setup + o->payload < sizeof(img) ? setup + o->payload : sizeof(img);
}

static int bz_load(const struct bz_opts *o)
{
	return boot_test_load(&t, img, bz_build(o));
}

TEST(header_fields_parse)
{
	struct bz_opts o = bz_defaults();
	o.setup_sects = 7;
	o.kernel_alignment = 0x1000000;
	o.init_size = 0x123000;
	o.pref_address = 0x2000000;
	o.initrd_addr_max = 0x37ffffff;
	o.cmdline_size = 0x1000;
	o.xloadflags = 0x7f;
	size_t len = bz_build(&o);
	struct boot_image bi = { .path = "synthetic", .data = img, .size = len };
	struct bzimage_header h;
	CHECK_EQ(bzimage_parse_header(&bi, &h), 0);
	CHECK_EQ(h.version, 0x20f);
	CHECK_EQ(h.setup_sects, 7);
	CHECK_EQ(h.setup_size, 8 * 512);
	CHECK_EQ(h.hdr_end, 0x268);
	CHECK_EQ(h.loadflags, 1);
	CHECK(h.relocatable);
	CHECK_EQ(h.xloadflags, 0x7f);
	CHECK_EQ(h.kernel_alignment, 0x1000000);
	CHECK_EQ(h.initrd_addr_max, 0x37ffffff);
	CHECK_EQ(h.cmdline_size, 0x1000);
	CHECK_EQ(h.init_size, 0x123000);
	CHECK_EQ(h.pref_address, 0x2000000);

	/* 0 setup sectors means 4; an init_size below the kernel's size is raised */
	o = bz_defaults();
	o.setup_sects = 0;
	o.init_size = 0x10;
	bi.size = bz_build(&o);
	CHECK_EQ(bzimage_parse_header(&bi, &h), 0);
	CHECK_EQ(h.setup_sects, 4);
	CHECK_EQ(h.setup_size, 5 * 512);
	CHECK_EQ(h.init_size, PAYLOAD_SIZE);

	/* before 2.10 there is no init_size or pref_address; before 2.12 no xloadflags */
	o = bz_defaults();
	o.version = 0x206;
	bi.size = bz_build(&o);
	CHECK_EQ(bzimage_parse_header(&bi, &h), 0);
	CHECK_EQ(h.pref_address, 0x100000);
	CHECK_EQ(h.init_size, PAYLOAD_SIZE);
	CHECK_EQ(h.xloadflags, 0);
}

static int bz_refusal(struct bz_opts o, size_t truncate_to)
{
	CHECK_EQ(boot_test_init(&t, 128 * MiB), 0);
	size_t len = bz_build(&o);
	int ret = boot_test_load(&t, img, truncate_to ? truncate_to : len);
	boot_test_destroy(&t);
	return ret;
}

TEST(refuses_broken_headers)
{
	struct bz_opts o = bz_defaults();
	o.boot_flag = 0x1234;
	CHECK_EQ(bz_refusal(o, 0), -ENOEXEC);
	o = bz_defaults();
	o.version = 0x205;
	CHECK_EQ(bz_refusal(o, 0), -ENOEXEC);
	o = bz_defaults();
	o.version = 0x100;
	CHECK_EQ(bz_refusal(o, 0), -ENOEXEC);
	o = bz_defaults();
	o.setup_sects = 65;
	CHECK_EQ(bz_refusal(o, 0), -ENOEXEC);
	o = bz_defaults();
	o.setup_sects = 255;
	CHECK_EQ(bz_refusal(o, 0), -ENOEXEC);
	/* a zImage */
	o = bz_defaults();
	o.loadflags = 0;
	CHECK_EQ(bz_refusal(o, 0), -ENOEXEC);
	/* no protected-mode kernel after the setup sectors; a file cut in the header */
	o = bz_defaults();
	CHECK_EQ(bz_refusal(o, 5 * 512), -ENOEXEC);
	CHECK_EQ(bz_refusal(o, 0x207), -ENOEXEC);
	CHECK_EQ(bz_refusal(o, 0x206), -ENOEXEC);
}

TEST(refuses_kernel_larger_than_ram)
{
	struct bz_opts o = bz_defaults();
	o.init_size = 200 * MiB;
	CHECK_EQ(bz_refusal(o, 0), -ENOMEM);
	/* not relocatable: still unpacks at pref_address */
	o.relocatable = 0;
	CHECK_EQ(bz_refusal(o, 0), -ENOMEM);
	/* just fits: 16 MiB + 112 MiB = 128 MiB */
	o = bz_defaults();
	o.init_size = 112 * MiB;
	CHECK_EQ(bz_refusal(o, 0), 0);
	o.init_size = 112 * MiB + 0x1000;
	CHECK_EQ(bz_refusal(o, 0), -ENOMEM);
}

TEST(command_line_length_is_checked)
{
	struct bz_opts o = bz_defaults();
	o.cmdline_size = 16;
	CHECK_EQ(boot_test_init(&t, 128 * MiB), 0);
	t.vm.cfg.append = "0123456789abcdef";	/* 16: fits */
	CHECK_EQ(bz_load(&o), 0);
	CHECK_STR(gpa_str(&t, gpa_le32(&t, BOOT_ZEROPAGE_ADDR + 0x228)), "0123456789abcdef");
	t.vm.cfg.append = "0123456789abcdefg";
	CHECK_EQ(bz_load(&o), -E2BIG);
	/* a huge cmdline_size is capped by the room minivmm has */
	o.cmdline_size = 0xffffffff;
	static char longline[0x6000];
	memset(longline, 'x', sizeof(longline) - 1);
	t.vm.cfg.append = longline;
	CHECK_EQ(bz_load(&o), -E2BIG);
	boot_test_destroy(&t);
}

TEST(initrd_missing_or_too_big)
{
	struct bz_opts o = bz_defaults();
	CHECK_EQ(boot_test_init(&t, 32 * MiB), 0);
	t.vm.cfg.initrd = "/nonexistent/minivmm-initrd";
	CHECK_EQ(bz_load(&o), -ENOENT);
	/* the kernel needs 16-20 MiB: 12 MiB is left above it */
	static uint8_t big[13 * MiB];
	t.vm.cfg.initrd = boot_test_file(&t, big, sizeof(big));
	CHECK_EQ(bz_load(&o), -EFBIG);
	t.vm.cfg.initrd = boot_test_file(&t, big, 12 * MiB);
	CHECK_EQ(bz_load(&o), 0);
	CHECK_EQ(gpa_le32(&t, BOOT_ZEROPAGE_ADDR + 0x218), 20 * MiB);
	/* initrd_addr_max below the kernel: nowhere to go */
	o.initrd_addr_max = 0xffffff;
	CHECK_EQ(bz_load(&o), -ENOMEM);
	boot_test_destroy(&t);
}

TEST(places_kernel_initrd_cmdline_and_zero_page)
{
	static const char initrd_data[] = "070701 pretend cpio";
	struct bz_opts o = bz_defaults();
	size_t len = bz_build(&o);
	CHECK_EQ(boot_test_init(&t, 128 * MiB), 0);
	t.vm.cfg.append = "console=ttyS0 panic=-1";
	t.vm.cfg.initrd = boot_test_file(&t, initrd_data, sizeof(initrd_data));
	CHECK_EQ(boot_test_load(&t, img, len), 0);

	/* the protected-mode kernel at pref_address, entered at +0x200 in long mode */
	CHECK(!memcmp(gpa_ptr(&t, 0x1000000, PAYLOAD_SIZE), img + 5 * 512, PAYLOAD_SIZE));
	CHECK_EQ(t.entry.mode, BOOT_MODE_LONG64);
	CHECK_EQ(t.entry.rip, 0x1000200);
	CHECK_EQ(t.entry.gpr[X86_RSI], BOOT_ZEROPAGE_ADDR);

	/* zero page: the header copied, then what a loader fills in */
	uint64_t zp = BOOT_ZEROPAGE_ADDR;
	CHECK_EQ(*gpa_ptr(&t, zp + 0x1f1, 1), 4);
	CHECK_EQ(gpa_le32(&t, zp + 0x1fe) & 0xffff, 0xaa55);
	CHECK(!memcmp(gpa_ptr(&t, zp + 0x202, 4), "HdrS", 4));
	CHECK_EQ(gpa_le32(&t, zp + 0x206) & 0xffff, 0x20f);
	CHECK_EQ(*gpa_ptr(&t, zp + 0x210, 1), 0xff);	/* type_of_loader */
	CHECK_EQ(*gpa_ptr(&t, zp + 0x211, 1), 0x81);	/* LOADED_HIGH | CAN_USE_HEAP */
	CHECK_EQ(gpa_le32(&t, zp + 0x214), 0x1000000);	/* code32_start: where it is */
	CHECK_EQ(gpa_le32(&t, zp + 0x230), 0x200000);
	CHECK_EQ(gpa_le32(&t, zp + 0x260), 0x400000);
	/* nothing of the file past its header end (0x268) */
	CHECK_EQ(gpa_le32(&t, zp + 0x268), 0);
	CHECK_EQ(gpa_le32(&t, zp + 0x228), BOOT_CMDLINE_ADDR);
	CHECK_STR(gpa_str(&t, BOOT_CMDLINE_ADDR), "console=ttyS0 panic=-1");
	CHECK_EQ(gpa_le32(&t, zp + 0xc8), 0);
	/* the initrd at the top of RAM, page aligned */
	uint32_t rd = gpa_le32(&t, zp + 0x218);
	CHECK_EQ(rd, 128 * MiB - 0x1000);
	CHECK_EQ(gpa_le32(&t, zp + 0x21c), sizeof(initrd_data));
	CHECK(!memcmp(gpa_ptr(&t, rd, sizeof(initrd_data)), initrd_data, sizeof(initrd_data)));
	CHECK_EQ(gpa_le32(&t, zp + 0xc0), 0);
	CHECK_EQ(gpa_le32(&t, zp + 0xc4), 0);
	/* ACPI: the RSDP where the legacy scan finds it too */
	CHECK_EQ(gpa_le64(&t, zp + 0x70), ACPI_RSDP_ADDR);
	CHECK(!memcmp(gpa_ptr(&t, ACPI_RSDP_ADDR, 8), "RSD PTR ", 8));

	/* boot_setup_cpu accepts the entry: long mode, RSI, stack */
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &t.entry), 0);
	CHECK_EQ(t.cpu.regs.rip, 0x1000200);
	CHECK_EQ(t.cpu.regs.gpr[X86_RSI], BOOT_ZEROPAGE_ADDR);
	CHECK(t.cpu.sregs.efer & X86_EFER_LMA);
	CHECK_EQ(t.cpu.sregs.cr3, BOOT_PML4_ADDR);
	boot_test_destroy(&t);
}

TEST(non_relocatable_and_32bit_kernels)
{
	struct bz_opts o = bz_defaults();
	o.relocatable = 0;
	o.pref_address = 0x100000;
	CHECK_EQ(boot_test_init(&t, 128 * MiB), 0);
	CHECK_EQ(bz_load(&o), 0);
	CHECK(!memcmp(gpa_ptr(&t, 0x100000, PAYLOAD_SIZE), img + 5 * 512, PAYLOAD_SIZE));
	CHECK_EQ(t.entry.rip, 0x100200);
	/* relocatable, but pref_address misaligned: the classic 1 MiB */
	o = bz_defaults();
	o.pref_address = 0x1001000;
	CHECK_EQ(bz_load(&o), 0);
	CHECK_EQ(t.entry.rip, 0x100200);
	/* no 64-bit entry: the 32-bit one, at the load address, ESI = zero page */
	o = bz_defaults();
	o.xloadflags = 0;
	CHECK_EQ(bz_load(&o), 0);
	CHECK_EQ(t.entry.mode, BOOT_MODE_PROT32);
	CHECK_EQ(t.entry.rip, 0x1000000);
	CHECK_EQ(t.entry.gpr[X86_RSI], BOOT_ZEROPAGE_ADDR);
	/* protocol 2.11 has no xloadflags: 32-bit entry too */
	o = bz_defaults();
	o.version = 0x20b;
	CHECK_EQ(bz_load(&o), 0);
	CHECK_EQ(t.entry.mode, BOOT_MODE_PROT32);
	boot_test_destroy(&t);
}

static void check_e820(uint64_t zp, int i, uint64_t addr, uint64_t size, uint32_t type)
{
	uint64_t e = zp + 0x2d0 + 20 * (uint64_t)i;
	CHECK_EQ(gpa_le64(&t, e), addr);
	CHECK_EQ(gpa_le64(&t, e + 8), size);
	CHECK_EQ(gpa_le32(&t, e + 16), type);
}

TEST(e820_table_128m)
{
	struct bz_opts o = bz_defaults();
	CHECK_EQ(boot_test_init(&t, 128 * MiB), 0);
	CHECK_EQ(bz_load(&o), 0);
	uint64_t zp = BOOT_ZEROPAGE_ADDR;
	CHECK_EQ(*gpa_ptr(&t, zp + 0x1e8, 1), 5);
	check_e820(zp, 0, 0, 0x9fc00, E820_RAM);
	check_e820(zp, 1, 0x9fc00, 0x400, E820_RESERVED);
	check_e820(zp, 2, 0xe0000, 0x10000, E820_ACPI);
	check_e820(zp, 3, 0xf0000, 0x10000, E820_RESERVED);
	check_e820(zp, 4, 0x100000, 127 * MiB, E820_RAM);
	boot_test_destroy(&t);
}

TEST(e820_table_4g)
{
	struct bz_opts o = bz_defaults();
	static const char initrd_data[] = "initrd";
	CHECK_EQ(boot_test_init(&t, 4096 * MiB), 0);
	t.vm.cfg.initrd = boot_test_file(&t, initrd_data, sizeof(initrd_data));
	CHECK_EQ(bz_load(&o), 0);
	uint64_t zp = BOOT_ZEROPAGE_ADDR;
	CHECK_EQ(*gpa_ptr(&t, zp + 0x1e8, 1), 6);
	check_e820(zp, 0, 0, 0x9fc00, E820_RAM);
	check_e820(zp, 1, 0x9fc00, 0x400, E820_RESERVED);
	check_e820(zp, 2, 0xe0000, 0x10000, E820_ACPI);
	check_e820(zp, 3, 0xf0000, 0x10000, E820_RESERVED);
	check_e820(zp, 4, 0x100000, PC_LOWMEM_LIMIT - 0x100000, E820_RAM);
	check_e820(zp, 5, PC_HIGHMEM_BASE, 4096 * MiB - PC_LOWMEM_LIMIT, E820_RAM);
	/* initrd_addr_max (2 GiB) caps the initrd below the 3 GiB of low RAM */
	CHECK_EQ(gpa_le32(&t, zp + 0x218), 0x80000000u - 0x1000);
	boot_test_destroy(&t);
}

TEST(tables_are_rebuilt_on_every_load)
{
	struct bz_opts o = bz_defaults();
	size_t len = bz_build(&o);
	CHECK_EQ(boot_test_init(&t, 128 * MiB), 0);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	uint8_t before[256];
	memcpy(before, gpa_ptr(&t, ACPI_AREA_ADDR, sizeof(before)), sizeof(before));
	/* the guest scribbles over its tables, then resets (vm_boot loads again) */
	memset(gpa_ptr(&t, ACPI_AREA_ADDR, 0x10000), 0x5a, 0x10000);
	memset(gpa_ptr(&t, BOOT_ZEROPAGE_ADDR, 0x1000), 0x5a, 0x1000);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK(!memcmp(gpa_ptr(&t, ACPI_AREA_ADDR, sizeof(before)), before, sizeof(before)));
	CHECK_EQ(gpa_le64(&t, BOOT_ZEROPAGE_ADDR + 0x70), ACPI_RSDP_ADDR);
	boot_test_destroy(&t);
}

/* A vmlinux-like ELF64 with a "Linux" note (and no PVH note) */
static size_t vmlinux_build(bool linux_note)
{
	static const uint8_t code[] = { 0xf4, 0xeb, 0xfd };
	uint8_t note[32] = { 0 };
	boot_put_le32(note, 6);
	boot_put_le32(note + 4, 4);
	boot_put_le32(note + 8, 0x100);	/* LINUX_ELFNOTE_BUILD_SALT */
	memcpy(note + 12, linux_note ? "Linux" : "Other", 6);
	struct elf_seg segs[] = {
		{ .type = 1, .vaddr = 0xffffffff81000000ull, .paddr = 0x1000000, .memsz = 0x200000,
		  .data = code, .filesz = sizeof(code) },
		{ .type = 4, .data = note, .filesz = 24, .align = 4 },
	};
	return elf_build(img, sizeof(img), true, 0x1000000, segs, 2);
}

TEST(vmlinux_elf_gets_a_zero_page)
{
	static const char initrd_data[] = "initrd for vmlinux";
	CHECK_EQ(boot_test_init(&t, 128 * MiB), 0);
	t.vm.cfg.append = "console=ttyS0";
	t.vm.cfg.initrd = boot_test_file(&t, initrd_data, sizeof(initrd_data));
	CHECK_EQ(boot_test_load(&t, img, vmlinux_build(true)), 0);
	CHECK_EQ(t.entry.mode, BOOT_MODE_LONG64);
	CHECK_EQ(t.entry.rip, 0x1000000);
	CHECK_EQ(t.entry.gpr[X86_RSI], BOOT_ZEROPAGE_ADDR);
	uint64_t zp = BOOT_ZEROPAGE_ADDR;
	CHECK_EQ(gpa_le32(&t, zp + 0x1fe) & 0xffff, 0xaa55);
	CHECK(!memcmp(gpa_ptr(&t, zp + 0x202, 4), "HdrS", 4));
	CHECK_EQ(gpa_le32(&t, zp + 0x206) & 0xffff, 0x20f);
	CHECK_EQ(*gpa_ptr(&t, zp + 0x210, 1), 0xff);
	CHECK_STR(gpa_str(&t, gpa_le32(&t, zp + 0x228)), "console=ttyS0");
	uint32_t rd = gpa_le32(&t, zp + 0x218);
	CHECK_EQ(rd, 128 * MiB - 0x1000);
	CHECK(!memcmp(gpa_ptr(&t, rd, sizeof(initrd_data)), initrd_data, sizeof(initrd_data)));
	CHECK_EQ(gpa_le64(&t, zp + 0x70), ACPI_RSDP_ADDR);
	CHECK_EQ(*gpa_ptr(&t, zp + 0x1e8, 1), 5);
	/* any other ELF64 still has no way to take an initrd */
	CHECK_EQ(boot_test_load(&t, img, vmlinux_build(false)), -EINVAL);
	boot_test_destroy(&t);
}

TEST(pvh_vmlinux_gets_acpi_tables)
{
	static const uint8_t code[] = { 0xf4, 0xeb, 0xfd };
	uint8_t note[64] = { 0 };
	size_t n = pvh_note_build(note, 0x1000000, 4);
	boot_put_le32(note + n, 6);
	boot_put_le32(note + n + 4, 4);
	boot_put_le32(note + n + 8, 0x100);
	memcpy(note + n + 12, "Linux", 6);
	struct elf_seg segs[] = {
		{ .type = 1, .vaddr = 0xffffffff81000000ull, .paddr = 0x1000000, .memsz = 0x1000,
		  .data = code, .filesz = sizeof(code) },
		{ .type = 4, .data = note, .filesz = n + 24, .align = 4 },
	};
	size_t len = elf_build(img, sizeof(img), true, 0x1000000, segs, 2);
	CHECK_EQ(boot_test_init(&t, 128 * MiB), 0);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(t.entry.mode, BOOT_MODE_PROT32);
	CHECK_EQ(t.entry.gpr[X86_RBX], BOOT_INFO_ADDR);
	CHECK_EQ(gpa_le64(&t, BOOT_INFO_ADDR + 32), ACPI_RSDP_ADDR);
	CHECK(!memcmp(gpa_ptr(&t, ACPI_RSDP_ADDR, 8), "RSD PTR ", 8));
	/* a PVH kernel that is not Linux gets no tables, as before */
	memcpy(img + ELF_DATA_OFFSET + 16 + n + 12, "Other", 6);
	memset(gpa_ptr(&t, ACPI_AREA_ADDR, 16), 0, 16);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(gpa_le64(&t, BOOT_INFO_ADDR + 32), 0);
	CHECK(memcmp(gpa_ptr(&t, ACPI_RSDP_ADDR, 8), "RSD PTR ", 8));
	boot_test_destroy(&t);
}

/* Debian's cloud kernel from scripts/linux-kit.sh, when it has been built */
static const char *kit_file(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("MINIVMM_KIT_DIR");
	const char *home = getenv("HOME");
	struct stat st;
	if (dir)
		snprintf(buf, len, "%s/%s", dir, name);
	else if (home)
		snprintf(buf, len, "%s/.cache/minivmm/linux-kit/%s", home, name);
	else
		return NULL;
	return stat(buf, &st) == 0 ? buf : NULL;
}

TEST(debian_bzimage_loads)
{
	char kpath[512], ipath[512];
	const char *kernel = kit_file("bzImage", kpath, sizeof(kpath));
	const char *initrd = kit_file("initramfs.cpio.gz", ipath, sizeof(ipath));
	if (!kernel || !initrd)
		SKIP("no Linux test kit (scripts/linux-kit.sh)");
	CHECK_EQ(boot_test_init(&t, 512 * MiB), 0);
	t.vm.cfg.kernel = kernel;
	t.vm.cfg.initrd = initrd;
	t.vm.cfg.append = "console=ttyS0 panic=-1";
	t.vm.nr_vcpus = 2;
	CHECK_EQ(boot_load(&t.vm, &t.entry), 0);
	uint64_t zp = BOOT_ZEROPAGE_ADDR;
	uint64_t pref = gpa_le64(&t, zp + 0x258);
	CHECK_EQ(t.entry.mode, BOOT_MODE_LONG64);
	CHECK_EQ(t.entry.rip, pref + 0x200);
	CHECK_EQ(t.entry.gpr[X86_RSI], zp);
	CHECK(!memcmp(gpa_ptr(&t, zp + 0x202, 4), "HdrS", 4));
	CHECK((gpa_le32(&t, zp + 0x206) & 0xffff) >= 0x20c);
	CHECK(gpa_le32(&t, zp + 0x236) & 1);	/* XLF_KERNEL_64 */
	CHECK_EQ(*gpa_ptr(&t, zp + 0x210, 1), 0xff);
	CHECK_STR(gpa_str(&t, gpa_le32(&t, zp + 0x228)), "console=ttyS0 panic=-1");
	/* the initrd is gzip data, page aligned, above the unpacked kernel */
	uint32_t rd = gpa_le32(&t, zp + 0x218);
	CHECK_EQ(rd & 0xfff, 0);
	CHECK(rd >= pref + gpa_le32(&t, zp + 0x260));
	CHECK(rd + gpa_le32(&t, zp + 0x21c) <= 512 * MiB);
	CHECK_EQ(*gpa_ptr(&t, rd, 1), 0x1f);
	CHECK_EQ(*gpa_ptr(&t, rd + 1, 1), 0x8b);
	CHECK_EQ(gpa_le64(&t, zp + 0x70), ACPI_RSDP_ADDR);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &t.entry), 0);
	boot_test_destroy(&t);
}

TEST(debian_bzimage_refused_with_too_little_ram)
{
	char kpath[512];
	const char *kernel = kit_file("bzImage", kpath, sizeof(kpath));
	if (!kernel)
		SKIP("no Linux test kit (scripts/linux-kit.sh)");
	/* 6.1 unpacks at 16 MiB and needs ~50 MiB more */
	CHECK_EQ(boot_test_init(&t, 32 * MiB), 0);
	t.vm.cfg.kernel = kernel;
	CHECK_EQ(boot_load(&t.vm, &t.entry), -ENOMEM);
	boot_test_destroy(&t);
}

RUN_TESTS(T(header_fields_parse), T(refuses_broken_headers), T(refuses_kernel_larger_than_ram),
	  T(command_line_length_is_checked), T(initrd_missing_or_too_big),
	  T(places_kernel_initrd_cmdline_and_zero_page), T(non_relocatable_and_32bit_kernels),
	  T(e820_table_128m), T(e820_table_4g), T(tables_are_rebuilt_on_every_load),
	  T(vmlinux_elf_gets_a_zero_page), T(pvh_vmlinux_gets_acpi_tables), T(debian_bzimage_loads),
	  T(debian_bzimage_refused_with_too_little_ram))
