/* -kernel with ELF32, ELF64, PVH ELF, raw binaries and boot sectors:
 * where the bytes land, the entry state, the PVH start info, and refusal
 * of every kind of broken image. */
#include "boot_test.h"

#define RAM (64ull << 20)

static struct boot_test t;
static uint8_t img[64 * 1024];

static const uint8_t code[] = { 0xf4, 0xeb, 0xfd, 0x90, 0x11, 0x22, 0x33, 0x44 };
static const uint8_t data[] = { 0xde, 0xad, 0xbe, 0xef };

static size_t elf32_two_segments(void)
{
	struct elf_seg segs[] = {
		{ .type = 1, .vaddr = 0x100000, .paddr = 0x100000, .memsz = sizeof(code),
		  .data = code, .filesz = sizeof(code) },
		{ .type = 1, .vaddr = 0x200000, .paddr = 0x200000, .memsz = 0x3000, .data = data,
		  .filesz = sizeof(data) },
	};
	return elf_build(img, sizeof(img), false, 0x100000, segs, 2);
}

TEST(elf32_loads_segments_and_zeroes_bss)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	size_t len = elf32_two_segments();
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK(!memcmp(gpa_ptr(&t, 0x100000, sizeof(code)), code, sizeof(code)));
	CHECK(!memcmp(gpa_ptr(&t, 0x200000, sizeof(data)), data, sizeof(data)));
	uint8_t *bss = gpa_ptr(&t, 0x200000 + sizeof(data), 0x3000 - sizeof(data));
	int nonzero = 0;
	for (size_t i = 0; i < 0x3000 - sizeof(data); i++)
		nonzero += bss[i] != 0;
	CHECK_EQ(nonzero, 0);
	CHECK_EQ(*gpa_ptr(&t, 0x203000, 1), 0xcc);	/* past memsz: untouched */
	CHECK_EQ(t.entry.mode, BOOT_MODE_PROT32);
	CHECK_EQ(t.entry.rip, 0x100000);
	CHECK_EQ(t.entry.gpr[X86_RSP], BOOT_STACK_TOP);
	boot_test_destroy(&t);
}

TEST(elf32_entry_state_is_flat_protected_mode)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	size_t len = elf32_two_segments();
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &t.entry), 0);
	CHECK_EQ(t.cpu.set_regs_calls, 1);
	CHECK_EQ(t.cpu.set_sregs_calls, 1);
	CHECK_EQ(t.cpu.regs.rip, 0x100000);
	CHECK_EQ(t.cpu.regs.rflags, 2);
	CHECK_EQ(t.cpu.regs.gpr[X86_RAX], 0);
	CHECK_EQ(t.cpu.sregs.cr0, X86_CR0_PE | X86_CR0_ET);
	CHECK_EQ(t.cpu.sregs.cr4, 0);
	CHECK_EQ(t.cpu.sregs.efer, 0);
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].selector, BOOT_SEL_CODE32);
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].db, 1);
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].l, 0);
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].limit, 0xffffffff);
	CHECK_EQ(t.cpu.sregs.seg[X86_SS].selector, BOOT_SEL_DATA);
	boot_test_destroy(&t);
}

TEST(elf64_enters_long_mode_at_physical_entry)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	/* a higher-half kernel: e_entry is virtual, loaded at p_paddr */
	struct elf_seg segs[] = {
		{ .type = 1, .vaddr = 0xffffffff80100000ull, .paddr = 0x100000,
		  .memsz = 0x2000, .data = code, .filesz = sizeof(code) },
	};
	size_t len = elf_build(img, sizeof(img), true, 0xffffffff80100004ull, segs, 1);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK(!memcmp(gpa_ptr(&t, 0x100000, sizeof(code)), code, sizeof(code)));
	CHECK_EQ(t.entry.mode, BOOT_MODE_LONG64);
	CHECK_EQ(t.entry.rip, 0x100004);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &t.entry), 0);
	CHECK_EQ(t.cpu.regs.rip, 0x100004);
	CHECK_EQ(t.cpu.sregs.cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE | X86_CR0_PG);
	CHECK_EQ(t.cpu.sregs.cr4 & X86_CR4_PAE, X86_CR4_PAE);
	CHECK_EQ(t.cpu.sregs.efer, X86_EFER_LME | X86_EFER_LMA);
	CHECK_EQ(t.cpu.sregs.cr3, BOOT_PML4_ADDR);
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].l, 1);
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].db, 0);
	boot_test_destroy(&t);
}

TEST(elf64_segment_over_page_tables_is_refused)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	struct elf_seg segs[] = {
		{ .type = 1, .vaddr = 0x8000, .paddr = 0x8000, .memsz = 0x2000, .data = code,
		  .filesz = sizeof(code) },
	};
	size_t len = elf_build(img, sizeof(img), true, 0x8000, segs, 1);
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	/* the same image as ELF32 needs no page tables */
	len = elf_build(img, sizeof(img), false, 0x8000, segs, 1);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	boot_test_destroy(&t);
}

static size_t pvh_image(int desc_size)
{
	uint8_t note[32];
	size_t nlen = pvh_note_build(note, 0x100010, desc_size);
	struct elf_seg segs[] = {
		{ .type = 4, .data = note, .filesz = nlen, .align = 4 },
		{ .type = 1, .vaddr = 0xffffffff81000000ull, .paddr = 0x100000, .memsz = 0x5000,
		  .data = code, .filesz = sizeof(code) },
	};
	return elf_build(img, sizeof(img), true, 0xffffffff81000000ull, segs, 2);
}

TEST(pvh_note_gives_32bit_entry_and_start_info)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	static const char initrd[] = "initrd contents";
	t.vm.cfg.initrd = boot_test_file(&t, initrd, sizeof(initrd));
	t.vm.cfg.append = "console=ttyS0 root=/dev/vda";
	size_t len = pvh_image(8);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(t.entry.mode, BOOT_MODE_PROT32);
	CHECK_EQ(t.entry.rip, 0x100010);
	uint64_t si = t.entry.gpr[X86_RBX];
	CHECK_EQ(si, BOOT_INFO_ADDR);
	CHECK_EQ(gpa_le32(&t, si), 0x336ec578);
	CHECK_EQ(gpa_le32(&t, si + 4), 1);
	CHECK_EQ(gpa_le32(&t, si + 12), 1);	/* nr_modules */
	CHECK_STR(gpa_str(&t, gpa_le64(&t, si + 24)), "console=ttyS0 root=/dev/vda");
	CHECK_EQ(gpa_le64(&t, si + 32), 0);	/* rsdp */
	uint64_t mod = gpa_le64(&t, si + 16);
	uint64_t mod_addr = gpa_le64(&t, mod), mod_size = gpa_le64(&t, mod + 8);
	CHECK_EQ(mod_size, sizeof(initrd));
	CHECK_EQ(mod_addr & 0xfff, 0);
	CHECK(mod_addr >= 0x105000);	/* after the kernel's bss */
	CHECK(!memcmp(gpa_ptr(&t, mod_addr, sizeof(initrd)), initrd, sizeof(initrd)));
	/* memory map: RAM 0-0x9fc00, reserved, reserved BIOS, RAM 1M-64M */
	uint64_t mm = gpa_le64(&t, si + 40);
	CHECK_EQ(gpa_le32(&t, si + 48), 4);
	CHECK_EQ(gpa_le64(&t, mm), 0);
	CHECK_EQ(gpa_le64(&t, mm + 8), 0x9fc00);
	CHECK_EQ(gpa_le32(&t, mm + 16), 1);
	CHECK_EQ(gpa_le64(&t, mm + 24), 0x9fc00);
	CHECK_EQ(gpa_le32(&t, mm + 24 + 16), 2);
	CHECK_EQ(gpa_le64(&t, mm + 48), 0xf0000);
	CHECK_EQ(gpa_le64(&t, mm + 48 + 8), 0x10000);
	CHECK_EQ(gpa_le64(&t, mm + 72), 0x100000);
	CHECK_EQ(gpa_le64(&t, mm + 72 + 8), RAM - 0x100000);
	CHECK_EQ(gpa_le32(&t, mm + 72 + 16), 1);

	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &t.entry), 0);
	CHECK_EQ(t.cpu.regs.gpr[X86_RBX], BOOT_INFO_ADDR);
	CHECK_EQ(t.cpu.sregs.cr0 & X86_CR0_PG, 0);
	CHECK_EQ(t.cpu.sregs.efer, 0);
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].db, 1);
	CHECK_EQ(t.cpu.sregs.seg[X86_TR].type, 11);
	CHECK_EQ(t.cpu.sregs.seg[X86_TR].limit, 0x67);
	boot_test_destroy(&t);
}

TEST(pvh_note_with_4_byte_address_and_no_cmdline)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	size_t len = pvh_image(4);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(t.entry.rip, 0x100010);
	CHECK_EQ(gpa_le64(&t, BOOT_INFO_ADDR + 24), 0);	/* no command line */
	CHECK_EQ(gpa_le32(&t, BOOT_INFO_ADDR + 12), 0);	/* no modules */
	CHECK_EQ(gpa_le64(&t, BOOT_INFO_ADDR + 16), 0);
	boot_test_destroy(&t);
}

TEST(pvh_memmap_reports_ram_above_4g)
{
	/* 4 GiB of RAM: 3 GiB low, 1 GiB from 4 GiB (never touched: NORESERVE) */
	CHECK_EQ(boot_test_init(&t, 4ull << 30), 0);
	size_t len = pvh_image(4);
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(gpa_le32(&t, BOOT_INFO_ADDR + 48), 5);
	uint64_t e = BOOT_MEMMAP_ADDR + 3 * 24;
	CHECK_EQ(gpa_le64(&t, e + 8), 0xc0000000ull - 0x100000);
	CHECK_EQ(gpa_le64(&t, e + 24), 0x100000000ull);
	CHECK_EQ(gpa_le64(&t, e + 32), 1ull << 30);
	CHECK_EQ(gpa_le32(&t, e + 40), 1);
	boot_test_destroy(&t);
}

TEST(raw_binary_loads_at_1m_in_protected_mode)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	uint8_t raw[1000];
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 7);
	CHECK_EQ(boot_test_load(&t, raw, sizeof(raw)), 0);
	CHECK(!memcmp(gpa_ptr(&t, 0x100000, sizeof(raw)), raw, sizeof(raw)));
	CHECK_EQ(t.entry.mode, BOOT_MODE_PROT32);
	CHECK_EQ(t.entry.rip, 0x100000);
	CHECK_EQ(t.entry.gpr[X86_RAX], 0);
	CHECK_EQ(t.entry.gpr[X86_RBX], 0);
	boot_test_destroy(&t);
}

TEST(boot_sector_enters_real_mode_at_7c00)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	uint8_t mbr[512] = { 0xfa, 0xf4 };
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	CHECK_EQ(boot_test_load(&t, mbr, sizeof(mbr)), 0);
	CHECK(!memcmp(gpa_ptr(&t, 0x7c00, 512), mbr, 512));
	CHECK_EQ(t.entry.mode, BOOT_MODE_REAL16);
	CHECK_EQ(t.entry.gpr[X86_RDX], 0x80);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &t.entry), 0);
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].selector, 0);
	CHECK_EQ(t.cpu.sregs.seg[X86_CS].base, 0);
	CHECK_EQ(t.cpu.regs.rip, 0x7c00);
	CHECK_EQ(t.cpu.regs.gpr[X86_RDX] & 0xff, 0x80);
	CHECK_EQ(t.cpu.sregs.cr0 & X86_CR0_PE, 0);
	boot_test_destroy(&t);
}

TEST(raw_and_plain_elf_refuse_initrd)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	t.vm.cfg.initrd = boot_test_file(&t, "x", 1);
	uint8_t raw[16] = { 1 };
	CHECK_EQ(boot_test_load(&t, raw, sizeof(raw)), -EINVAL);
	size_t len = elf32_two_segments();
	CHECK_EQ(boot_test_load(&t, img, len), -EINVAL);
	/* -append alone is only a warning */
	t.vm.cfg.initrd = NULL;
	t.vm.cfg.append = "quiet";
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	boot_test_destroy(&t);
}

TEST(bzimage_is_refused_clearly)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	uint8_t bz[0x400] = { 0 };
	memcpy(bz + 0x202, "HdrS", 4);
	CHECK_EQ(boot_test_load(&t, bz, sizeof(bz)), -ENOEXEC);	/* no 0xAA55 boot flag */
	boot_test_destroy(&t);
}

TEST(missing_and_oversized_files_are_refused)
{
	CHECK_EQ(boot_test_init(&t, 2ull << 20), 0);
	t.vm.cfg.kernel = "/nonexistent/minivmm-kernel";
	CHECK_EQ(boot_load(&t.vm, &t.entry), -ENOENT);
	t.vm.cfg.kernel = "/tmp";
	CHECK_EQ(boot_load(&t.vm, &t.entry), -EISDIR);
	CHECK_EQ(boot_test_load(&t, "", 0), -ENOEXEC);	/* empty */
	static uint8_t big[3 << 20];
	CHECK_EQ(boot_test_load(&t, big, sizeof(big)), -EFBIG);
	/* a raw binary that fits the file limit but not RAM above 1 MiB */
	CHECK_EQ(boot_test_load(&t, big, 1536 << 10), -ENOEXEC);
	boot_test_destroy(&t);
}

TEST(pvh_missing_initrd_is_refused)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	t.vm.cfg.initrd = "/nonexistent/initrd.img";
	size_t len = pvh_image(4);
	CHECK_EQ(boot_test_load(&t, img, len), -ENOENT);
	boot_test_destroy(&t);
}

/* Each corruption of a good ELF32 image must be refused */
TEST(malformed_elf_images_are_refused)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	size_t len = elf32_two_segments();
	uint8_t *ph0 = img + 52, *ph1 = img + 52 + 32;
	static uint8_t good[sizeof(img)];
	memcpy(good, img, sizeof(img));
#define RESET() memcpy(img, good, sizeof(img))

	CHECK_EQ(boot_test_load(&t, img, 40), -ENOEXEC);	/* truncated header */
	CHECK_EQ(boot_test_load(&t, img, 60), -ENOEXEC);	/* headers cut off */
	boot_put_le32(img + 28, 0xfffffff0);			/* bad e_phoff */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le16(img + 44, 0xffff);			/* huge e_phnum */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le16(img + 44, 0);				/* no program headers */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le16(img + 42, 8);				/* tiny e_phentsize */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(ph1 + 4, (uint32_t)len - 2);		/* p_offset+p_filesz past EOF */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(ph1 + 4, 0xffffffff);			/* p_offset wraps */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(ph1 + 20, 2);				/* p_filesz > p_memsz */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(ph1 + 12, 0x7ffff000);			/* outside RAM */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(ph1 + 12, 0xfffff000);			/* wraps past 4 GiB */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(ph1 + 12, 0x100004);			/* overlaps segment 0 */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(ph0 + 12, 0x500);				/* over the GDT */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(ph0 + 12, 0x7b00);			/* over the initial stack */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le16(img + 18, 62);				/* ELF32 for x86-64 */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	img[5] = 2;						/* big endian */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	img[4] = 3;						/* bad class */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(ph0, 6);					/* no PT_LOAD */
	boot_put_le32(ph1, 6);
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	boot_put_le32(img + 24, 0x7fff0000);			/* entry outside RAM */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	RESET();
	CHECK_EQ(boot_test_load(&t, img, len), 0);		/* the good one still loads */
#undef RESET
	boot_test_destroy(&t);
}

TEST(malformed_pvh_notes_are_refused)
{
	CHECK_EQ(boot_test_init(&t, RAM), 0);
	size_t len = pvh_image(4);
	uint8_t *note_ph = img + 64;
	uint8_t *note = img + ELF_DATA_OFFSET;
	boot_put_le64(note_ph + 8, len - 4);	/* note segment past EOF */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	len = pvh_image(4);
	boot_put_le32(note + 4, 2);		/* 2-byte address */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	len = pvh_image(8);
	boot_put_le64(note + 16, 0x100000000ull);	/* entry above 4 GiB */
	CHECK_EQ(boot_test_load(&t, img, len), -ENOEXEC);
	len = pvh_image(4);
	boot_put_le32(note, 0xfffffff0);	/* namesz runs off the note: not PVH */
	CHECK_EQ(boot_test_load(&t, img, len), 0);
	CHECK_EQ(t.entry.mode, BOOT_MODE_LONG64);
	boot_test_destroy(&t);
}

RUN_TESTS(T(elf32_loads_segments_and_zeroes_bss), T(elf32_entry_state_is_flat_protected_mode),
	  T(elf64_enters_long_mode_at_physical_entry), T(elf64_segment_over_page_tables_is_refused),
	  T(pvh_note_gives_32bit_entry_and_start_info), T(pvh_note_with_4_byte_address_and_no_cmdline),
	  T(pvh_memmap_reports_ram_above_4g), T(raw_binary_loads_at_1m_in_protected_mode),
	  T(boot_sector_enters_real_mode_at_7c00), T(raw_and_plain_elf_refuse_initrd),
	  T(bzimage_is_refused_clearly), T(missing_and_oversized_files_are_refused),
	  T(pvh_missing_initrd_is_refused), T(malformed_elf_images_are_refused),
	  T(malformed_pvh_notes_are_refused))
