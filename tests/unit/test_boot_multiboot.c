/* Multiboot v1 kernels: the a.out kludge and ELF forms, the information
 * structure, memory map, command line and modules, and refusal of broken
 * headers. */
#include "boot_test.h"

#define RAM (64ull << 20)
#define MB_MAGIC 0x1badb002u
#define AOUT 0x10000u

static struct boot_test t;
static uint8_t img[16 * 1024];

/* A header at off with the given flags and a correct checksum */
static void mb_header(uint8_t *p, uint32_t flags)
{
	boot_put_le32(p, MB_MAGIC);
	boot_put_le32(p + 4, flags);
	boot_put_le32(p + 8, -(MB_MAGIC + flags));
}

/* An a.out-kludge kernel: the file is loaded at 0x100000, header at file
 * offset 0x40, 0x2000 bytes of bss after the file, entry at +0x80 */
static size_t aout_kernel(size_t len)
{
	memset(img, 0, sizeof(img));
	for (size_t i = 0x100; i < len; i++)
		img[i] = (uint8_t)(i ^ 0x5a);
	mb_header(img + 0x40, AOUT | 3);
	boot_put_le32(img + 0x40 + 12, 0x100040);		/* header_addr */
	boot_put_le32(img + 0x40 + 16, 0x100000);		/* load_addr */
	boot_put_le32(img + 0x40 + 20, 0x100000 + (uint32_t)len);	/* load_end_addr */
	boot_put_le32(img + 0x40 + 24, 0x100000 + (uint32_t)len + 0x2000);	/* bss_end */
	boot_put_le32(img + 0x40 + 28, 0x100080);		/* entry_addr */
	return len;
}

TEST(aout_kludge_loads_and_enters_with_magic)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	size_t len = aout_kernel(0x1000);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK(!memcmp(gpa_ptr(&t, 0x100000, len), img, len));
	uint8_t *bss = gpa_ptr(&t, 0x100000 + len, 0x2000);
	int nonzero = 0;
	for (int i = 0; i < 0x2000; i++)
		nonzero += bss[i] != 0;
	CHECK_EQ(nonzero, 0);
	CHECK_EQ(*gpa_ptr(&t, 0x100000 + len + 0x2000, 1), 0xcc);
	CHECK_EQ(t.entry.mode, BOOT_MODE_PROT32);
	CHECK_EQ(t.entry.rip, 0x100080);
	CHECK_EQ(t.entry.gpr[X86_RAX], 0x2badb002);
	CHECK_EQ(t.entry.gpr[X86_RBX], BOOT_INFO_ADDR);

	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &t.entry), 0);
	CHECK_EQ(t.cpu.regs.gpr[X86_RAX], 0x2badb002);
	CHECK_EQ(t.cpu.regs.gpr[X86_RBX], BOOT_INFO_ADDR);
	CHECK_EQ(t.cpu.regs.rip, 0x100080);
	CHECK_EQ(t.cpu.regs.rflags & (X86_RFLAGS_IF | X86_RFLAGS_VM), 0);
	CHECK_EQ(t.cpu.sregs.cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE);
	for (int s = X86_ES; s <= X86_GS; s++) {
		CHECK_EQ(t.cpu.sregs.seg[s].base, 0);
		CHECK_EQ(t.cpu.sregs.seg[s].limit, 0xffffffff);
		CHECK_EQ(t.cpu.sregs.seg[s].present, 1);
		CHECK_EQ(t.cpu.sregs.seg[s].db, 1);
	}
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].type & 8, 8);	/* code */
	CHECK_EQ(t.cpu.sregs.seg[X86_DS].type & 8, 0);	/* data */
	boot_test_destroy(&t);
}

TEST(info_structure_memory_map_and_cmdline)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	t.vm.cfg.append = "console=ttyS0 debug";
	size_t len = aout_kernel(0x800);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	uint64_t mbi = t.entry.gpr[X86_RBX];
	uint32_t flags = gpa_le32(&t, mbi);
	CHECK_EQ(flags, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	CHECK_EQ(gpa_le32(&t, mbi + 4), 639);
	CHECK_EQ(gpa_le32(&t, mbi + 8), (RAM - 0x100000) >> 10);
	char want[256];
	snprintf(want, sizeof(want), "%s console=ttyS0 debug", t.kernel_file);
	CHECK_STR(gpa_str(&t, gpa_le32(&t, mbi + 16)), want);
	CHECK_EQ(gpa_le32(&t, mbi + 20), 0);	/* mods_count */
	CHECK_STR(gpa_str(&t, gpa_le32(&t, mbi + 64)), "minivmm");
	uint32_t mmap_len = gpa_le32(&t, mbi + 44), mmap = gpa_le32(&t, mbi + 48);
	CHECK_EQ(mmap_len, 4 * 24);
	static const struct { uint64_t base, len; uint32_t type; } want_map[] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x400, 2 },
		{ 0xf0000, 0x10000, 2 },
		{ 0x100000, RAM - 0x100000, 1 },
	};
	for (int i = 0; i < 4; i++) {
		uint64_t e = mmap + 24 * i;
		CHECK_EQ(gpa_le32(&t, e), 20);
		CHECK_EQ(gpa_le64(&t, e + 4), want_map[i].base);
		CHECK_EQ(gpa_le64(&t, e + 12), want_map[i].len);
		CHECK_EQ(gpa_le32(&t, e + 20), want_map[i].type);
	}
	boot_test_destroy(&t);
}

TEST(cmdline_without_append_is_the_kernel_name)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	size_t len = aout_kernel(0x800);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_STR(gpa_str(&t, gpa_le32(&t, BOOT_INFO_ADDR + 16)), t.kernel_file);
	boot_test_destroy(&t);
}

TEST(modules_are_page_aligned_after_the_kernel_with_their_strings)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	static const char m1[] = "first module";
	static uint8_t m2[5000];
	for (size_t i = 0; i < sizeof(m2); i++)
		m2[i] = (uint8_t)i;
	const char *f1 = boot_test_file(&t, m1, sizeof(m1));
	const char *f2 = boot_test_file(&t, m2, sizeof(m2));
	char spec[256], s1[128], s2[128];
	snprintf(spec, sizeof(spec), "%s arg1 arg2,%s a=1,,b=2", f1, f2);
	snprintf(s1, sizeof(s1), "%s arg1 arg2", f1);
	snprintf(s2, sizeof(s2), "%s a=1,b=2", f2);
	t.vm.cfg.initrd = spec;
	size_t len = aout_kernel(0x1000);	/* kernel ends at 0x103000 with bss */
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	uint64_t mbi = t.entry.gpr[X86_RBX];
	CHECK_EQ(gpa_le32(&t, mbi + 20), 2);
	uint32_t mods = gpa_le32(&t, mbi + 24);
	uint32_t start1 = gpa_le32(&t, mods), end1 = gpa_le32(&t, mods + 4);
	uint32_t start2 = gpa_le32(&t, mods + 16), end2 = gpa_le32(&t, mods + 20);
	CHECK_EQ(start1, 0x103000);
	CHECK_EQ(end1, 0x103000 + sizeof(m1));
	CHECK_EQ(start2, 0x104000);
	CHECK_EQ(end2, 0x104000 + sizeof(m2));
	CHECK(!memcmp(gpa_ptr(&t, start1, sizeof(m1)), m1, sizeof(m1)));
	CHECK(!memcmp(gpa_ptr(&t, start2, sizeof(m2)), m2, sizeof(m2)));
	CHECK_STR(gpa_str(&t, gpa_le32(&t, mods + 8)), s1);
	CHECK_STR(gpa_str(&t, gpa_le32(&t, mods + 24)), s2);
	boot_test_destroy(&t);
}

TEST(empty_module_is_allowed)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	t.vm.cfg.initrd = boot_test_file(&t, "", 0);
	size_t len = aout_kernel(0x800);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(gpa_le32(&t, BOOT_INFO_ADDR + 20), 1);
	CHECK_EQ(gpa_le32(&t, BOOT_MODLIST_ADDR), gpa_le32(&t, BOOT_MODLIST_ADDR + 4));
	boot_test_destroy(&t);
}

TEST(missing_module_is_refused)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	t.vm.cfg.initrd = "/nonexistent/module arg";
	size_t len = aout_kernel(0x800);
	CHECK_EQ(boot_test_load(&t, img, len), -ENOENT);
	boot_test_destroy(&t);
}

TEST(too_many_modules_are_refused)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	const char *f = boot_test_file(&t, "m", 1);
	static char spec[65 * 80];
	spec[0] = 0;
	for (int i = 0; i < 65; i++) {
		strcat(spec, f);
		strcat(spec, i < 64 ? "," : "");
	}
	t.vm.cfg.initrd = spec;
	size_t len = aout_kernel(0x800);
	CHECK_EQ(boot_test_load(&t, img, len), -E2BIG);
	boot_test_destroy(&t);
}

TEST(elf_form_kernel_loads_by_program_headers)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	static uint8_t text[0x200];
	memset(text, 0x90, sizeof(text));
	mb_header(text + 0x10, 3);
	struct elf_seg segs[] = {
		{ .type = 1, .vaddr = 0xc0200000, .paddr = 0x200000, .memsz = 0x1000,
		  .data = text, .filesz = sizeof(text) },
	};
	size_t len = elf_build(img, sizeof(img), false, 0xc0200100, segs, 1);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK(!memcmp(gpa_ptr(&t, 0x200000, sizeof(text)), text, sizeof(text)));
	CHECK_EQ(*gpa_ptr(&t, 0x200000 + sizeof(text), 1), 0);	/* bss */
	CHECK_EQ(t.entry.rip, 0x200100);
	CHECK_EQ(t.entry.gpr[X86_RAX], 0x2badb002);
	CHECK_EQ(t.entry.mode, BOOT_MODE_PROT32);
	/* a module goes after the ELF's highest address */
	t.vm.cfg.initrd = boot_test_file(&t, "mod", 3);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(gpa_le32(&t, BOOT_MODLIST_ADDR), 0x201000);
	boot_test_destroy(&t);
}

TEST(elf64_multiboot_kernel_is_entered_in_32bit_mode)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	static uint8_t text[0x100];
	mb_header(text, 0);
	struct elf_seg segs[] = {
		{ .type = 1, .vaddr = 0x100000, .paddr = 0x100000, .memsz = 0x100,
		  .data = text, .filesz = sizeof(text) },
	};
	size_t len = elf_build(img, sizeof(img), true, 0x100020, segs, 1);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(t.entry.mode, BOOT_MODE_PROT32);
	CHECK_EQ(t.entry.rip, 0x100020);
	boot_test_destroy(&t);
}

TEST(broken_headers_are_refused)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	size_t len = aout_kernel(0x1000);
	uint8_t *h = img + 0x40;

	boot_put_le32(h + 8, 0x12345678);		/* bad checksum */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	mb_header(h, AOUT | (1u << 3));			/* unknown required flag */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	boot_put_le32(h + 16, 0x100080);		/* load_addr above header_addr */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	boot_put_le32(h + 16, 0x0fff00);		/* load starts before the file */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	boot_put_le32(h + 20, 0x0fff00);		/* load_end below load_addr */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	boot_put_le32(h + 20, 0x100000 + (uint32_t)len + 1);	/* load_end past EOF */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	boot_put_le32(h + 24, 0x100010);		/* bss_end below load_end */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	boot_put_le32(h + 28, 0x200000);		/* entry outside the image */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	boot_put_le32(h + 12, 0x7ff00040);		/* outside RAM */
	boot_put_le32(h + 16, 0x7ff00000);
	boot_put_le32(h + 20, 0);
	boot_put_le32(h + 24, 0);
	boot_put_le32(h + 28, 0x7ff00080);
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	boot_put_le32(h + 12, 0x1040);			/* over the boot information */
	boot_put_le32(h + 16, 0x1000);
	boot_put_le32(h + 20, 0);
	boot_put_le32(h + 24, 0);
	boot_put_le32(h + 28, 0x1080);
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	boot_put_le32(h + 12, 0xffffff40);		/* past 4 GiB */
	boot_put_le32(h + 16, 0xffffff00);
	boot_put_le32(h + 20, 0);
	boot_put_le32(h + 24, 0);
	boot_put_le32(h + 28, 0xffffff80);
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	aout_kernel(len);
	CHECK_EQ(boot_test_load(&t, img, 0x40 + 20), -ENOEXEC);	/* header cut off */
	/* no address fields and not ELF */
	memset(img, 0, sizeof(img));
	mb_header(img, 0);
	CHECK_EQ(boot_test_load(&t, img, 0x100), -ENOEXEC);
	/* a correct header past the first 8 KiB */
	memset(img, 0, sizeof(img));
	mb_header(img + 8192, 0);
	CHECK_EQ(boot_test_load(&t, img, 8192 + 64), -ENOEXEC);
	/* the good one still loads */
	aout_kernel(len);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	boot_test_destroy(&t);
}

TEST(video_mode_flag_is_accepted_as_a_preference)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	size_t len = aout_kernel(0x1000);
	mb_header(img + 0x40, AOUT | 4);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(gpa_le32(&t, BOOT_INFO_ADDR) & (1u << 11), 0);	/* no VBE info claimed */
	boot_test_destroy(&t);
}

RUN_TESTS(T(aout_kludge_loads_and_enters_with_magic), T(info_structure_memory_map_and_cmdline),
	  T(cmdline_without_append_is_the_kernel_name),
	  T(modules_are_page_aligned_after_the_kernel_with_their_strings),
	  T(empty_module_is_allowed), T(missing_module_is_refused), T(too_many_modules_are_refused),
	  T(elf_form_kernel_loads_by_program_headers),
	  T(elf64_multiboot_kernel_is_entered_in_32bit_mode), T(broken_headers_are_refused),
	  T(video_mode_flag_is_accepted_as_a_preference))
