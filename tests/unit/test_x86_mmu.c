/* The software MMU: page walks in 4-level, PAE and 32-bit paging, the
 * accessed and dirty bits, #PF error codes and CR2, and the TLB's
 * invalidation by invlpg and CR3 loads (global pages survive). */
#include "test.h"

#include "accel/accel.h"
#include "core/vm.h"
#include "cpu/x86/cpu.h"
#include "cpu/x86/internal.h"
#include "accel/tcg/tcg.h"
#include "tcg_vm.h"

static struct vm vm;
static struct x86_cpu *cpu;

#define P 1ull
#define W 2ull
#define U 4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define G 0x100ull
#define NX (1ull << 63)

#define PML4 0x30000ull
#define PDPT 0x31000ull
#define PD 0x32000ull
#define PT 0x33000ull
#define CODE 0x100000ull

static bool vm_up(void)
{
	return tcg_vm_init(&vm, 32ull << 20, &cpu) == 0;
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v = 0;
	guest_mem_read(&vm.mem, gpa, &v, 8);
	return v;
}

static void put64(uint64_t gpa, uint64_t v)
{
	guest_mem_write(&vm.mem, gpa, &v, 8);
}

static void put8(uint64_t gpa, uint8_t v)
{
	guest_mem_write(&vm.mem, gpa, &v, 1);
}

/* 4-level tables: 4 KiB pages below 2 MiB, 2 MiB pages up to 1 GiB */
static void setup_long(unsigned cpl)
{
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, cpl, 0x10000);
	put64(PML4, PDPT | P | W | U);
	put64(PDPT, PD | P | W | U);
	put64(PD, PT | P | W | U);
	for (uint64_t i = 0; i < 512; i++)
		put64(PT + i * 8, (i << 12) | P | W | U);
	for (uint64_t i = 1; i < 512; i++)
		put64(PD + i * 8, (i << 21) | P | W | U | PS);
	cpu->cr3 = PML4;
	cpu->gpr[X86_RSP] = 0x180000;
	cpu->exit_on_exception = true;
	x86_tlb_flush(cpu, true);
}

/* Run a short program at CODE (the TLB is kept).  A nop after it keeps
 * the block going to the stop address whatever an earlier program left
 * there (an undecodable byte would end the block and fault first). */
static enum x86_exit run(const uint8_t *code, size_t n)
{
	static const uint8_t nop = 0x90;
	guest_mem_write(&vm.mem, CODE, code, n);
	guest_mem_write(&vm.mem, CODE + n, &nop, 1);
	x86_block_cache_flush(cpu->bc);
	cpu->rip = CODE;
	cpu->stop_rip = CODE + n;
	return x86_cpu_run(cpu, 10000);
}

static const uint8_t load_al[] = { 0x8a, 0x06 };		/* mov al, [rsi] */
static const uint8_t store_al[] = { 0x88, 0x06 };		/* mov [rsi], al */
static const uint8_t invlpg_load[] = { 0x0f, 0x01, 0x3e, 0x8a, 0x06 };	/* invlpg [rsi]; mov al, [rsi] */
static const uint8_t cr3_load[] = { 0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8, 0x8a, 0x06 };	/* mov rax, cr3; mov cr3, rax; mov al, [rsi] */

TEST(accessed_and_dirty_bits)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_long(0);
	put64(PT + 0x1f0 * 8, 0x1f0000 | P | W);
	cpu->gpr[X86_RSI] = 0x1f0010;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(get64(PT + 0x1f0 * 8) & (A | D), A);
	CHECK(get64(PD) & A);
	CHECK(get64(PDPT) & A);
	CHECK(get64(PML4) & A);
	CHECK_EQ(run(store_al, sizeof(store_al)), X86_EXIT_STOP);
	CHECK_EQ(get64(PT + 0x1f0 * 8) & (A | D), A | D);

	/* a 2 MiB page: A on a read, D on a write, in the PDE */
	put64(PD + 2 * 8, 0x400000 | P | W | PS);
	cpu->gpr[X86_RSI] = 0x400123;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(get64(PD + 2 * 8) & (A | D), A);
	CHECK_EQ(run(store_al, sizeof(store_al)), X86_EXIT_STOP);
	CHECK_EQ(get64(PD + 2 * 8) & (A | D), A | D);
	vm_destroy(&vm);
}

static void expect_pf(enum x86_exit e, uint64_t addr, uint32_t err, uint64_t rip)
{
	CHECK_EQ(e, X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_PF);
	CHECK_EQ(cpu->exc_error, err);
	CHECK_EQ(cpu->cr2, addr);
	CHECK_EQ(cpu->rip, rip);
}

TEST(page_fault_error_codes)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_long(0);
	put64(PT + 0x1f1 * 8, 0);
	cpu->gpr[X86_RSI] = 0x1f1234;
	expect_pf(run(load_al, sizeof(load_al)), 0x1f1234, 0, CODE);
	expect_pf(run(store_al, sizeof(store_al)), 0x1f1234, X86_PF_W, CODE);

	/* read-only page: supervisor writes fault only with CR0.WP */
	put64(PT + 0x1f2 * 8, 0x1f2000 | P | U);
	cpu->gpr[X86_RSI] = 0x1f2008;
	expect_pf(run(store_al, sizeof(store_al)), 0x1f2008, X86_PF_P | X86_PF_W, CODE);
	cpu->cr0 &= ~X86_CR0_WP;
	x86_tlb_flush(cpu, true);
	CHECK_EQ(run(store_al, sizeof(store_al)), X86_EXIT_STOP);
	cpu->cr0 |= X86_CR0_WP;
	x86_tlb_flush(cpu, true);

	/* reserved bit in a PTE */
	put64(PT + 0x1f4 * 8, 0x1f4000 | P | W | U | (1ull << 45));
	cpu->gpr[X86_RSI] = 0x1f4000;
	expect_pf(run(load_al, sizeof(load_al)), 0x1f4000, X86_PF_P | X86_PF_RSVD, CODE);

	/* no-execute: the fault is at the target, with I/D */
	put64(PT + 0x1f5 * 8, 0x1f5000 | P | W | U | NX);
	x86_tlb_flush(cpu, true);
	static const uint8_t jmp_rsi[] = { 0xff, 0xe6 };
	cpu->gpr[X86_RSI] = 0x1f5000;
	expect_pf(run(jmp_rsi, sizeof(jmp_rsi)), 0x1f5000, X86_PF_P | X86_PF_I, 0x1f5000);
	/* without EFER.NXE bit 63 is reserved */
	cpu->efer &= ~X86_EFER_NXE;
	x86_tlb_flush(cpu, true);
	cpu->gpr[X86_RSI] = 0x1f5000;
	expect_pf(run(load_al, sizeof(load_al)), 0x1f5000, X86_PF_P | X86_PF_RSVD, CODE);
	vm_destroy(&vm);
}

TEST(user_mode_page_faults)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_long(3);
	put64(PT + 0x1f3 * 8, 0x1f3000 | P | W);	/* supervisor only */
	cpu->gpr[X86_RSI] = 0x1f3100;
	expect_pf(run(load_al, sizeof(load_al)), 0x1f3100, X86_PF_P | X86_PF_U, CODE);
	expect_pf(run(store_al, sizeof(store_al)), 0x1f3100, X86_PF_P | X86_PF_W | X86_PF_U, CODE);
	/* user, read-only: writes fault even though WP is about supervisors */
	put64(PT + 0x1f2 * 8, 0x1f2000 | P | U);
	cpu->gpr[X86_RSI] = 0x1f2000;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	expect_pf(run(store_al, sizeof(store_al)), 0x1f2000, X86_PF_P | X86_PF_W | X86_PF_U, CODE);
	/* U clear in a higher level denies the whole subtree */
	put64(PD + 3 * 8, 0x600000 | P | W | PS);
	cpu->gpr[X86_RSI] = 0x600000;
	expect_pf(run(load_al, sizeof(load_al)), 0x600000, X86_PF_P | X86_PF_U, CODE);
	vm_destroy(&vm);
}

TEST(tlb_invlpg_and_cr3)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_long(0);
	put8(0x1f6000, 0x11);
	put8(0x1f7000, 0x22);
	put64(PT + 0x1f6 * 8, 0x1f6000 | P | W);
	cpu->gpr[X86_RSI] = 0x1f6000;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x11);
	/* remap behind the TLB's back: the old translation is still cached */
	put64(PT + 0x1f6 * 8, 0x1f7000 | P | W);
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x11);
	CHECK_EQ(run(invlpg_load, sizeof(invlpg_load)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x22);

	/* CR3 reload flushes the page; a global page with CR4.PGE stays */
	put64(PT + 0x1f6 * 8, 0x1f6000 | P | W);
	CHECK_EQ(run(cr3_load, sizeof(cr3_load)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x11);
	cpu->cr4 |= X86_CR4_PGE;
	put64(PT + 0x1f6 * 8, 0x1f7000 | P | W | G);
	CHECK_EQ(run(invlpg_load, sizeof(invlpg_load)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x22);
	put64(PT + 0x1f6 * 8, 0x1f6000 | P | W | G);
	CHECK_EQ(run(cr3_load, sizeof(cr3_load)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x22);	/* still the global translation */
	CHECK_EQ(run(invlpg_load, sizeof(invlpg_load)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x11);
	CHECK(cpu->tlb_misses > 0);
	vm_destroy(&vm);
}

static void setup_prot32(void)
{
	x86_cpu_reset(cpu, true);
	x86_seg_set_flat(&cpu->seg[X86_CS], 0x08, true, 32, 0);
	static const int data[] = { X86_DS, X86_ES, X86_SS, X86_FS, X86_GS };
	for (int i = 0; i < 5; i++)
		x86_seg_set_flat(&cpu->seg[data[i]], 0x10, false, 32, 0);
	cpu->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG | X86_CR0_WP;
	cpu->gpr[X86_RSP] = 0x180000;
	cpu->exit_on_exception = true;
	x86_update_mode(cpu);
	x86_tlb_flush(cpu, true);
}

TEST(paging_32bit_pse_and_pae)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	/* 32-bit paging: 4 MiB pages */
	setup_prot32();
	CHECK_EQ(cpu->mode, X86_MODE_PROT32);
	cpu->cr4 = X86_CR4_PSE;
	cpu->cr3 = 0x40000;
	uint32_t pde0 = 0 | P | W | PS, pde2 = 0xc00000 | P | W | PS;
	guest_mem_write(&vm.mem, 0x40000, &pde0, 4);
	guest_mem_write(&vm.mem, 0x40008, &pde2, 4);
	put8(0xc00123, 0x5a);
	cpu->gpr[X86_RSI] = 0x800123;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x5a);
	uint32_t v;
	guest_mem_read(&vm.mem, 0x40008, &v, 4);
	CHECK_EQ(v & (A | D), A);
	cpu->gpr[X86_RSI] = 0x1000000;	/* PDE 4 is empty */
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_PF);
	CHECK_EQ(cpu->cr2, 0x1000000);

	/* PAE: PDPT, 2 MiB pages */
	setup_prot32();
	cpu->cr4 = X86_CR4_PAE;
	cpu->cr3 = 0x50000;
	put64(0x50000, 0x51000 | P);
	put64(0x51000, 0 | P | W | PS);
	put64(0x51000 + 4 * 8, 0xa00000 | P | W | PS);
	put8(0xa00123, 0xa5);
	cpu->gpr[X86_RSI] = 0x800123;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0xa5);
	CHECK_EQ(get64(0x51000 + 4 * 8) & (A | D), A);
	/* a reserved bit in a PDPTE */
	put64(0x50008, 0x52000 | P | (1ull << 2));
	cpu->gpr[X86_RSI] = 0x40000000;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_error, X86_PF_P | X86_PF_RSVD);
	vm_destroy(&vm);
}

TEST(mmio_is_not_ram)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_long(0);
	/* 0xfee00000 has no RAM and no device: reads are all ones, writes vanish */
	static const uint8_t code[] = { 0x8b, 0x06, 0x89, 0x06 };	/* mov eax,[rsi]; mov [rsi],eax */
	put64(PDPT + 3 * 8, (3ull << 30) | P | W | PS);
	cpu->gpr[X86_RSI] = 0xfee00000;
	CHECK_EQ(run(code, sizeof(code)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX], 0xffffffffull);
	/* an access that crosses from RAM into a missing page faults before
	 * any byte is read */
	put64(PT + 0x1f9 * 8, 0);
	cpu->gpr[X86_RSI] = 0x1f8ffe;
	expect_pf(run(code, 2), 0x1f9000, 0, CODE);
	vm_destroy(&vm);
}

static uint8_t get8(uint64_t gpa)
{
	uint8_t v = 0;
	guest_mem_read(&vm.mem, gpa, &v, 1);
	return v;
}

/* The A20 gate off: physical address bit 20 is 0 for data and code
 * alike (so the program is also where its fetches now land) */
TEST(a20_gate_masks_bit_20)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_long(0);
	put8(0x023456, 0x11);
	put8(0x123456, 0x22);
	cpu->gpr[X86_RSI] = 0x123456;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x22);
	tcg_set_a20(&vm, false);
	guest_mem_write(&vm.mem, CODE & ~(1ull << 20), load_al, sizeof(load_al));
	put8((CODE & ~(1ull << 20)) + sizeof(load_al), 0x90);
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x11);
	/* a store wraps too */
	cpu->gpr[X86_RAX] = 0x33;
	guest_mem_write(&vm.mem, CODE & ~(1ull << 20), store_al, sizeof(store_al));
	CHECK_EQ(run(store_al, sizeof(store_al)), X86_EXIT_STOP);
	CHECK_EQ(get8(0x023456), 0x33);
	CHECK_EQ(get8(0x123456), 0x22);
	/* INIT or RESET of the CPU does not open the gate: the board does */
	x86_cpu_reset(cpu, true);
	CHECK_EQ(cpu->a20_mask, ~(1ull << 20));
	tcg_set_a20(&vm, true);
	setup_long(0);
	cpu->gpr[X86_RSI] = 0x123456;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x22);
	vm_destroy(&vm);
}

/* ---- rep movs/stos runs: page by page in linear space ---- */

static void fill(uint64_t gpa, int c, size_t n)
{
	uint8_t buf[4096];
	memset(buf, c, sizeof(buf));
	for (size_t done = 0; done < n; done += sizeof(buf))
		guest_mem_write(&vm.mem, gpa + done, buf, n - done < sizeof(buf) ? n - done : sizeof(buf));
}

/* bytes [gpa, gpa + n) all equal c? */
static bool all(uint64_t gpa, int c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (get8(gpa + i) != (uint8_t)c)
			return false;
	return true;
}

/* 64-bit, CPL 3, a source through FS with a base that is not page
 * aligned: the run must end at the linear page boundary and go on in the
 * frame the next linear page maps, never in the next physical frame */
TEST(rep_string_runs_follow_linear_pages)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_long(3);
	put64(PT + 0x102 * 8, 0x1a0000 | P | W | U);	/* linear 0x102000 -> 0x1a0000 */
	fill(0x101000, 'g', 4096);
	fill(0x102000, 'S', 4096);	/* the next frame: mapped nowhere here */
	fill(0x1a0000, 'G', 4096);
	static const uint8_t movsb[] = { 0x64, 0xf3, 0xa4 };		/* rep movsb fs:[rsi] */
	static const uint8_t movsq[] = { 0x64, 0xf3, 0x48, 0xa5 };	/* rep movsq fs:[rsi] */
	cpu->seg[X86_FS].base = 0x101800;
	cpu->gpr[X86_RSI] = 0;
	cpu->gpr[X86_RDI] = 0x150000;
	cpu->gpr[X86_RCX] = 0x1000;
	CHECK_EQ(run(movsb, sizeof(movsb)), X86_EXIT_STOP);
	CHECK(all(0x150000, 'g', 0x800));
	CHECK(all(0x150800, 'G', 0x800));
	CHECK_EQ(cpu->gpr[X86_RSI], 0x1000);
	CHECK_EQ(cpu->gpr[X86_RDI], 0x151000);
	CHECK_EQ(cpu->gpr[X86_RCX], 0);
	/* quadwords, one of them straddling the two pages */
	cpu->seg[X86_FS].base = 0x101804;
	cpu->gpr[X86_RSI] = 0;
	cpu->gpr[X86_RDI] = 0x160000;
	cpu->gpr[X86_RCX] = 0x200;
	CHECK_EQ(run(movsq, sizeof(movsq)), X86_EXIT_STOP);
	CHECK(all(0x160000, 'g', 0x7fc));
	CHECK(all(0x1607fc, 'G', 0x804));
	CHECK_EQ(cpu->gpr[X86_RCX], 0);
	vm_destroy(&vm);
}

/* 32-bit paging, CPL 3, rep stosb through an ES whose base is not page
 * aligned (as an LDT segment may be) */
static void setup_user32_es(uint32_t es_base, uint32_t es_limit)
{
	setup_prot32();
	cpu->cr4 = 0;
	cpu->cr3 = 0x40000;
	uint32_t pde = 0x41000 | P | W | U;
	guest_mem_write(&vm.mem, 0x40000, &pde, 4);
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t pte = (i << 12) | P | W | U;
		guest_mem_write(&vm.mem, 0x41000 + i * 4, &pte, 4);
	}
	x86_seg_set_flat(&cpu->seg[X86_CS], 0x1b, true, 32, 3);
	x86_seg_set_flat(&cpu->seg[X86_SS], 0x23, false, 32, 3);
	x86_seg_set_flat(&cpu->seg[X86_DS], 0x23, false, 32, 3);
	x86_seg_set_flat(&cpu->seg[X86_ES], 0x0f, false, 32, 3);
	cpu->seg[X86_ES].base = es_base;
	cpu->seg[X86_ES].limit = es_limit;
	cpu->seg[X86_ES].g = 0;
	cpu->cpl = 3;
	x86_update_mode(cpu);
	x86_tlb_flush(cpu, true);
}

static void put32(uint64_t gpa, uint32_t v)
{
	guest_mem_write(&vm.mem, gpa, &v, 4);
}

static const uint8_t stosb[] = { 0xf3, 0xaa };		/* rep stosb */

TEST(rep_string_32bit_es_base)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_user32_es(0x160800, 0xffffffff);
	put32(0x41000 + 0x161 * 4, 0x1b0000 | P | W | U);	/* linear 0x161000 -> 0x1b0000 */
	fill(0x161000, 'K', 4096);
	fill(0x1b0000, '.', 4096);
	cpu->gpr[X86_RAX] = 'X';
	cpu->gpr[X86_RDI] = 0;
	cpu->gpr[X86_RCX] = 0x1000;
	CHECK_EQ(run(stosb, sizeof(stosb)), X86_EXIT_STOP);
	CHECK(all(0x160800, 'X', 0x800));
	CHECK(all(0x1b0000, 'X', 0x800));
	CHECK(all(0x161000, 'K', 4096));

	/* the second page is the kernel's: #PF at its first byte, the first
	 * page written, EDI and ECX where the fault stopped the run */
	put32(0x41000 + 0x161 * 4, 0x1b0000 | P | W);
	x86_tlb_flush(cpu, true);
	fill(0x1b0000, '.', 4096);
	cpu->gpr[X86_RAX] = 'Y';
	cpu->gpr[X86_RDI] = 0;
	cpu->gpr[X86_RCX] = 0x1000;
	expect_pf(run(stosb, sizeof(stosb)), 0x161000, X86_PF_P | X86_PF_W | X86_PF_U, CODE);
	CHECK(all(0x160800, 'Y', 0x800));
	CHECK(all(0x1b0000, '.', 4096));
	CHECK(all(0x161000, 'K', 4096));
	CHECK_EQ(cpu->gpr[X86_RDI], 0x800);
	CHECK_EQ(cpu->gpr[X86_RCX], 0x800);

	/* the ES limit ends the run the same way: #GP(0) at the first byte
	 * past it, the bytes below it written */
	setup_user32_es(0x160800, 0x8ff);
	fill(0x160800, '.', 0x1000);
	cpu->gpr[X86_RAX] = 'Z';
	cpu->gpr[X86_RDI] = 0;
	cpu->gpr[X86_RCX] = 0x1000;
	CHECK_EQ(run(stosb, sizeof(stosb)), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_GP);
	CHECK_EQ(cpu->rip, CODE);
	CHECK(all(0x160800, 'Z', 0x900));
	CHECK(all(0x161100, '.', 0x700));
	CHECK_EQ(cpu->gpr[X86_RDI], 0x900);
	CHECK_EQ(cpu->gpr[X86_RCX], 0x700);
	vm_destroy(&vm);
}

/* movs reads before it writes: with neither page mapped the fault is the
 * source's; stores set the dirty bit of every page; a run over decoded
 * code drops it */
TEST(rep_string_faults_dirty_bits_and_code)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_long(3);
	static const uint8_t movsb[] = { 0xf3, 0xa4 };		/* rep movsb */
	put64(PT + 0x1f1 * 8, 0);
	put64(PT + 0x1f3 * 8, 0);
	cpu->gpr[X86_RSI] = 0x1f1000;
	cpu->gpr[X86_RDI] = 0x1f3000;
	cpu->gpr[X86_RCX] = 16;
	expect_pf(run(movsb, sizeof(movsb)), 0x1f1000, X86_PF_U, CODE);

	setup_long(0);
	static const uint8_t stosq[] = { 0xf3, 0x48, 0xab };	/* rep stosq */
	put64(PT + 0x1f0 * 8, 0x1f0000 | P | W);
	put64(PT + 0x1f1 * 8, 0x1f1000 | P | W);
	cpu->gpr[X86_RDI] = 0x1f0000;
	cpu->gpr[X86_RCX] = 1024;
	CHECK_EQ(run(stosq, sizeof(stosq)), X86_EXIT_STOP);
	CHECK_EQ(get64(PT + 0x1f0 * 8) & (A | D), A | D);
	CHECK_EQ(get64(PT + 0x1f1 * 8) & (A | D), A | D);

	/* call a function (decoded now), copy another over it, call again */
	static const uint8_t ret1[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3 };	/* mov eax, 1; ret */
	static const uint8_t ret2[] = { 0xb8, 0x02, 0x00, 0x00, 0x00, 0xc3 };	/* mov eax, 2; ret */
	static const uint8_t call_rbx[] = { 0xff, 0xd3 };
	guest_mem_write(&vm.mem, 0x1f4000, ret1, sizeof(ret1));
	guest_mem_write(&vm.mem, 0x1f5000, ret2, sizeof(ret2));
	cpu->gpr[X86_RBX] = 0x1f4000;
	CHECK_EQ(run(call_rbx, sizeof(call_rbx)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX], 1);
	cpu->gpr[X86_RSI] = 0x1f5000;
	cpu->gpr[X86_RDI] = 0x1f4000;
	cpu->gpr[X86_RCX] = sizeof(ret2);
	guest_mem_write(&vm.mem, CODE + 0x800, movsb, sizeof(movsb));
	cpu->rip = CODE + 0x800;
	cpu->stop_rip = CODE + 0x800 + sizeof(movsb);
	CHECK_EQ(x86_cpu_run(cpu, 100), X86_EXIT_STOP);
	cpu->rip = CODE;
	cpu->stop_rip = CODE + sizeof(call_rbx);
	CHECK_EQ(x86_cpu_run(cpu, 100), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX], 2);
	vm_destroy(&vm);
}

/* ---- 1 GiB pages ---- */

TEST(one_gib_pages)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	setup_long(0);
	uint32_t r[4];
	x86_cpuid(cpu, 0x80000001, 0, r);
	CHECK(r[3] & (1u << 26));	/* offered in CPUID */

	/* linear 1 GiB -> frame 0 */
	put64(PDPT + 1 * 8, 0 | P | W | PS);
	put8(0x1f0123, 0x77);
	cpu->gpr[X86_RSI] = 0x401f0123;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x77);
	CHECK_EQ(get64(PDPT + 1 * 8) & (A | D), A);
	CHECK_EQ(run(store_al, sizeof(store_al)), X86_EXIT_STOP);
	CHECK_EQ(get64(PDPT + 1 * 8) & (A | D), A | D);

	/* invlpg anywhere in the page drops every translation through it */
	put64(PDPT + 1 * 8, (1ull << 30) | P | W | PS);	/* a frame without RAM: reads all ones */
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x77);	/* still cached */
	static const uint8_t invlpg_rdi_load[] = { 0x0f, 0x01, 0x3f, 0x8a, 0x06 };
	cpu->gpr[X86_RDI] = 0x7fff0000;
	CHECK_EQ(run(invlpg_rdi_load, sizeof(invlpg_rdi_load)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0xff);

	/* bit 12 is PAT; bits 29:13 are reserved */
	put64(PDPT + 2 * 8, 0 | P | W | PS | (1ull << 12));
	cpu->gpr[X86_RSI] = 0x801f0123;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX] & 0xff, 0x77);
	put64(PDPT + 2 * 8, 0 | P | W | PS | (1ull << 13));
	x86_tlb_flush(cpu, true);
	expect_pf(run(load_al, sizeof(load_al)), 0x801f0123, X86_PF_P | X86_PF_RSVD, CODE);
	put64(PDPT + 2 * 8, 0 | P | W | PS | (1ull << 29));
	expect_pf(run(load_al, sizeof(load_al)), 0x801f0123, X86_PF_P | X86_PF_RSVD, CODE);

	/* U/S and R/W of the page itself */
	setup_long(3);
	put64(PDPT + 1 * 8, 0 | P | U | PS);
	cpu->gpr[X86_RSI] = 0x401f0123;
	CHECK_EQ(run(load_al, sizeof(load_al)), X86_EXIT_STOP);
	expect_pf(run(store_al, sizeof(store_al)), 0x401f0123, X86_PF_P | X86_PF_W | X86_PF_U, CODE);
	put64(PDPT + 1 * 8, 0 | P | W | PS);
	x86_tlb_flush(cpu, true);
	expect_pf(run(load_al, sizeof(load_al)), 0x401f0123, X86_PF_P | X86_PF_U, CODE);
	vm_destroy(&vm);
}

RUN_TESTS(T(accessed_and_dirty_bits), T(page_fault_error_codes), T(user_mode_page_faults),
	  T(tlb_invlpg_and_cr3), T(paging_32bit_pse_and_pae), T(mmio_is_not_ram), T(a20_gate_masks_bit_20),
	  T(rep_string_runs_follow_linear_pages), T(rep_string_32bit_es_base),
	  T(rep_string_faults_dirty_bits_and_code), T(one_gib_pages))
