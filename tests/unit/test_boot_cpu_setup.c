/* boot_setup_cpu: the GDT, TSS and page tables it writes, and the exact
 * register state it hands the engine for each mode. */
#include "boot_test.h"

static struct boot_test t;

static struct boot_entry entry(enum boot_cpu_mode mode, uint64_t rip)
{
	struct boot_entry e = { .mode = mode, .rip = rip };
	for (int i = 0; i < 16; i++)
		e.gpr[i] = 0x1111111100000000ull + (uint64_t)i;
	return e;
}

TEST(real_mode_splits_rip_into_cs_and_ip)
{
	CHECK_EQ(boot_test_init(&t, 16ull << 20), 0);
	struct boot_entry e = entry(BOOT_MODE_REAL16, 0x12345);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), 0);
	const struct x86_sregs *s = &t.cpu.sregs;
	CHECK_EQ(s->seg[X86_CS].selector, 0x1000);
	CHECK_EQ(s->seg[X86_CS].base, 0x10000);
	CHECK_EQ(s->seg[X86_CS].limit, 0xffff);
	CHECK_EQ(s->seg[X86_CS].db, 0);
	CHECK_EQ(t.cpu.regs.rip, 0x2345);
	for (int i = X86_ES; i <= X86_GS; i++) {
		if (i == X86_CS)
			continue;
		CHECK_EQ(s->seg[i].selector, 0);
		CHECK_EQ(s->seg[i].base, 0);
		CHECK_EQ(s->seg[i].limit, 0xffff);
		CHECK_EQ(s->seg[i].present, 1);
	}
	CHECK_EQ(s->cr0 & (X86_CR0_PE | X86_CR0_PG), 0);
	CHECK_EQ(s->efer, 0);
	CHECK_EQ(s->idt.base, 0);
	CHECK_EQ(s->idt.limit, 0x3ff);
	CHECK_EQ(s->apic_base, FAKE_APIC_BASE);
	CHECK_EQ(t.cpu.regs.rflags, 2);
	CHECK_EQ(t.cpu.regs.gpr[X86_RSI], e.gpr[X86_RSI]);
	/* nothing written to RAM in real mode */
	CHECK_EQ(*gpa_ptr(&t, BOOT_GDT_ADDR, 1), 0xcc);
	boot_test_destroy(&t);
}

TEST(protected_mode_gdt_and_segment_caches_agree)
{
	CHECK_EQ(boot_test_init(&t, 16ull << 20), 0);
	struct boot_entry e = entry(BOOT_MODE_PROT32, 0x100000);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), 0);
	/* the classic flat descriptors */
	CHECK_EQ(gpa_le64(&t, BOOT_GDT_ADDR), 0);
	CHECK_EQ(gpa_le64(&t, BOOT_GDT_ADDR + BOOT_SEL_CODE64), 0x00af9b000000ffffull);
	CHECK_EQ(gpa_le64(&t, BOOT_GDT_ADDR + BOOT_SEL_CODE32), 0x00cf9b000000ffffull);
	CHECK_EQ(gpa_le64(&t, BOOT_GDT_ADDR + BOOT_SEL_DATA), 0x00cf93000000ffffull);
	/* TSS descriptor: base 0x580, limit 0x67, available 32/64-bit TSS */
	CHECK_EQ(gpa_le64(&t, BOOT_GDT_ADDR + BOOT_SEL_TSS), 0x0000890005800067ull);
	CHECK_EQ(gpa_le64(&t, BOOT_GDT_ADDR + BOOT_SEL_TSS + 8), 0);
	const struct x86_sregs *s = &t.cpu.sregs;
	CHECK_EQ(s->gdt.base, BOOT_GDT_ADDR);
	CHECK_EQ(s->gdt.limit, BOOT_GDT_LIMIT);
	CHECK_EQ(s->seg[X86_CS].selector, BOOT_SEL_CODE32);
	CHECK_EQ(s->seg[X86_CS].type, 0xb);
	CHECK_EQ(s->seg[X86_CS].s, 1);
	CHECK_EQ(s->seg[X86_CS].g, 1);
	CHECK_EQ(s->seg[X86_CS].db, 1);
	for (int i = X86_ES; i <= X86_GS; i++) {
		if (i == X86_CS)
			continue;
		CHECK_EQ(s->seg[i].selector, BOOT_SEL_DATA);
		CHECK_EQ(s->seg[i].type, 0x3);
		CHECK_EQ(s->seg[i].limit, 0xffffffff);
		CHECK_EQ(s->seg[i].db, 1);
	}
	CHECK_EQ(s->seg[X86_TR].selector, BOOT_SEL_TSS);
	CHECK_EQ(s->seg[X86_TR].base, BOOT_TSS_ADDR);
	CHECK_EQ(s->seg[X86_TR].type, 0xb);
	CHECK_EQ(s->seg[X86_TR].s, 0);
	CHECK_EQ(s->seg[X86_TR].present, 1);
	CHECK_EQ(s->seg[X86_LDTR].type, 2);
	CHECK_EQ(s->cr0, X86_CR0_PE | X86_CR0_ET);
	CHECK_EQ(s->cr3, 0);
	CHECK_EQ(s->cr4, 0);
	CHECK_EQ(s->efer, 0);
	CHECK_EQ(s->apic_base, FAKE_APIC_BASE);
	/* 32-bit registers: the upper halves are dropped */
	CHECK_EQ(t.cpu.regs.gpr[X86_RDI], 7);
	CHECK_EQ(t.cpu.regs.rip, 0x100000);
	/* the TSS has no I/O bitmap */
	CHECK_EQ(*gpa_ptr(&t, BOOT_TSS_ADDR + 0x66, 1), 0x68);
	boot_test_destroy(&t);
}

TEST(long_mode_identity_maps_4g_and_all_ram)
{
	/* 6 GiB: 3 GiB low, 3 GiB from 4 GiB, top at 7 GiB: 7 directories */
	CHECK_EQ(boot_test_init(&t, 6ull << 30), 0);
	CHECK_EQ(boot_pd_count(&t.vm.mem), 7);
	struct boot_entry e = entry(BOOT_MODE_LONG64, 0x100000);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), 0);
	const struct x86_sregs *s = &t.cpu.sregs;
	CHECK_EQ(s->cr0, X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG);
	CHECK_EQ(s->cr3, BOOT_PML4_ADDR);
	CHECK_EQ(s->cr4, X86_CR4_PAE);
	CHECK_EQ(s->efer, X86_EFER_LME | X86_EFER_LMA);
	CHECK_EQ(s->seg[X86_CS].selector, BOOT_SEL_CODE64);
	CHECK_EQ(s->seg[X86_CS].l, 1);
	CHECK_EQ(s->seg[X86_CS].db, 0);
	CHECK_EQ(s->seg[X86_TR].type, 0xb);
	CHECK_EQ(t.cpu.regs.gpr[X86_RDI], e.gpr[X86_RDI]);	/* 64-bit registers kept */
	CHECK_EQ(gpa_le64(&t, BOOT_PML4_ADDR), BOOT_PDPT_ADDR | 3);
	CHECK_EQ(gpa_le64(&t, BOOT_PML4_ADDR + 8), 0);
	/* walk a few addresses through the tables */
	static const uint64_t addrs[] = { 0, 0x100000, 0xbfe00000ull, 0xfee00000ull,
					  0x100000000ull, 0x1bfe00000ull };
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		uint64_t a = addrs[i];
		uint64_t pdpte = gpa_le64(&t, BOOT_PDPT_ADDR + 8 * (a >> 30));
		CHECK_EQ(pdpte & 1, 1);
		uint64_t pde = gpa_le64(&t, (pdpte & ~0xfffull) + 8 * ((a >> 21) & 511));
		CHECK_EQ(pde & 0x83, 0x83);
		CHECK_EQ(pde & ~0x1fffffull, a & ~0x1fffffull);
	}
	CHECK_EQ(gpa_le64(&t, BOOT_PDPT_ADDR + 8 * 6) & 1, 1);
	CHECK_EQ(gpa_le64(&t, BOOT_PDPT_ADDR + 8 * 7), 0);
	CHECK_EQ(boot_pagetables_end(&t.vm.mem), BOOT_PD_ADDR + 7 * 0x1000);
	boot_test_destroy(&t);
}

TEST(small_ram_still_maps_4g)
{
	CHECK_EQ(boot_test_init(&t, 32ull << 20), 0);
	CHECK_EQ(boot_pd_count(&t.vm.mem), 4);
	struct boot_entry e = entry(BOOT_MODE_LONG64, 0x100000);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), 0);
	CHECK_EQ(gpa_le64(&t, BOOT_PDPT_ADDR + 8 * 3), (BOOT_PD_ADDR + 3 * 0x1000) | 3);
	boot_test_destroy(&t);
}

TEST(impossible_entries_are_refused)
{
	CHECK_EQ(boot_test_init(&t, 16ull << 20), 0);
	struct boot_entry e = entry(BOOT_MODE_REAL16, 0x100000);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), -EINVAL);
	e = entry(BOOT_MODE_PROT32, 0x100000000ull);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), -EINVAL);
	e = entry((enum boot_cpu_mode)7, 0);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), -EINVAL);
	CHECK_EQ(t.cpu.set_sregs_calls, 0);
	CHECK_EQ(t.cpu.set_regs_calls, 0);
	boot_test_destroy(&t);
	/* too little RAM for the page tables */
	CHECK_EQ(boot_test_init(&t, 0x8000), 0);
	e = entry(BOOT_MODE_LONG64, 0x1000);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), -ENOMEM);
	e = entry(BOOT_MODE_PROT32, 0x1000);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), 0);
	boot_test_destroy(&t);
}

static int failing_set_sregs(struct vcpu *vcpu, const struct x86_sregs *sregs)
{
	(void)vcpu;
	(void)sregs;
	return -EIO;
}

TEST(engine_errors_are_passed_on)
{
	CHECK_EQ(boot_test_init(&t, 16ull << 20), 0);
	struct accel_ops ops = fake_accel;
	ops.set_sregs = failing_set_sregs;
	t.vm.accel = &ops;
	struct boot_entry e = entry(BOOT_MODE_PROT32, 0x100000);
	CHECK_EQ(boot_setup_cpu(&t.vm, &t.vm.vcpus[0], &e), -EIO);
	CHECK_EQ(t.cpu.set_regs_calls, 0);
	boot_test_destroy(&t);
}

RUN_TESTS(T(real_mode_splits_rip_into_cs_and_ip), T(protected_mode_gdt_and_segment_caches_agree),
	  T(long_mode_identity_maps_4g_and_all_ram), T(small_ram_still_maps_4g),
	  T(impossible_entries_are_refused), T(engine_errors_are_passed_on))
