/* Far transfers and interrupt delivery on the software CPU: iret, far
 * ret, far jmp/call and interrupt gates check everything (descriptors,
 * stack room, the new RIP, the accessed-bit stores) before they change a
 * register, so that a fault is taken with the state of the instruction
 * that faulted, as the SDM describes and guest kernels' fix-up code for a
 * bad iret relies on. */
#include "test.h"

#include "accel/accel.h"
#include "core/vm.h"
#include "cpu/x86/cpu.h"
#include "cpu/x86/internal.h"
#include "tcg_vm.h"

static struct vm vm;
static struct x86_cpu *cpu;

#define GDT 0x20000ull
#define IDT 0x21000ull
#define TSS 0x22000ull
#define PML4 0x60000ull
#define CODE 0x100000ull
#define HANDLER 0x100200ull
#define KSTACK 0x30000ull
#define USTACK 0x40000ull

/* GDT selectors */
enum {
	K_CODE32 = 0x08, K_DATA = 0x10, U_CODE32 = 0x1b, U_DATA = 0x23, U_DATA_ABSENT = 0x2b,
	K_DATA_4K = 0x30,	/* limit 0xfff */
	TSS32 = 0x38,
	U_CODE32_64K = 0x43,	/* limit 0xffff */
	K_CODE32_64K = 0x48,
	K_CODE64 = 0x50, U_CODE64 = 0x5b,
	TSS64 = 0x60,		/* 16 bytes */
};

static uint64_t desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

static void put32(uint64_t gpa, uint32_t v)
{
	guest_mem_write(&vm.mem, gpa, &v, 4);
}

static void put64(uint64_t gpa, uint64_t v)
{
	guest_mem_write(&vm.mem, gpa, &v, 8);
}

static void write_gdt(void)
{
	const uint64_t gdt[14] = {
		0,
		desc(0, 0xfffff, 0x9a, 0xc),
		desc(0, 0xfffff, 0x92, 0xc),
		desc(0, 0xfffff, 0xfa, 0xc),
		desc(0, 0xfffff, 0xf2, 0xc),
		desc(0, 0xfffff, 0x72, 0xc),	/* not present */
		desc(0, 0xfff, 0x92, 0x4),
		desc((uint32_t)TSS, 0x67, 0x89, 0),
		desc(0, 0xffff, 0xfa, 0x4),
		desc(0, 0xffff, 0x9a, 0x4),
		desc(0, 0xfffff, 0x9a, 0xa),	/* accessed bit clear */
		desc(0, 0xfffff, 0xfa, 0xa),
		desc((uint32_t)TSS, 0x67, 0x89, 0),
		0,
	};
	guest_mem_write(&vm.mem, GDT, gdt, sizeof(gdt));
	cpu->gdtr.base = GDT;
	cpu->gdtr.limit = sizeof(gdt) - 1;
}

static void load_tr(uint16_t sel)
{
	struct x86_desc d;
	uint32_t w[4];
	guest_mem_read(&vm.mem, GDT + sel, w, sizeof(w));
	d.lo = w[0];
	d.hi = w[1];
	d.hi64 = sel == TSS64 ? w[2] : 0;
	x86_desc_to_seg(&d, sel, &cpu->seg[X86_TR]);
}

static void set_seg(int seg, uint16_t sel, bool code, unsigned bits)
{
	x86_seg_set_flat(&cpu->seg[seg], sel, code, bits, sel & 3);
}

/* 32-bit protected mode without paging at CPL cpl */
static void setup32(unsigned cpl)
{
	x86_cpu_reset(cpu, true);
	write_gdt();
	cpu->idtr.base = IDT;
	cpu->idtr.limit = 0x7ff;
	cpu->cr0 = X86_CR0_PE | X86_CR0_ET;
	set_seg(X86_CS, cpl == 3 ? U_CODE32 : K_CODE32, true, 32);
	static const int data[] = { X86_SS, X86_DS, X86_ES, X86_FS, X86_GS };
	for (int i = 0; i < 5; i++)
		set_seg(data[i], cpl == 3 ? U_DATA : K_DATA, false, 32);
	load_tr(TSS32);
	cpu->cpl = (uint8_t)cpl;
	cpu->gpr[X86_RSP] = cpl == 3 ? USTACK : KSTACK;
	cpu->exit_on_exception = true;
	x86_update_mode(cpu);
	x86_tlb_flush(cpu, true);
}

/* 64-bit mode at CPL cpl, 4 KiB pages below 2 MiB (the GDT's page among
 * them, so that a test can make it read-only), 2 MiB pages above */
static void setup64(unsigned cpl)
{
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, cpl, 0x10000);
	const uint64_t pdpt = PML4 + 0x1000, pd = PML4 + 0x2000, pt = PML4 + 0x3000;
	put64(PML4, pdpt | 7);
	put64(pdpt, pd | 7);
	put64(pd, pt | 7);
	for (uint64_t i = 1; i < 512; i++)
		put64(pd + i * 8, (i << 21) | 0x87);
	for (uint64_t i = 0; i < 512; i++)
		put64(pt + i * 8, (i << 12) | 7);
	cpu->cr3 = PML4;
	write_gdt();
	cpu->idtr.base = IDT;
	cpu->idtr.limit = 0xfff;
	set_seg(X86_CS, cpl == 3 ? U_CODE64 : K_CODE64, true, 64);
	set_seg(X86_SS, cpl == 3 ? U_DATA : K_DATA, false, 64);
	load_tr(TSS64);
	cpu->gpr[X86_RSP] = cpl == 3 ? USTACK : KSTACK;
	cpu->exit_on_exception = true;
	x86_update_mode(cpu);
	x86_tlb_flush(cpu, true);
}

/* An interrupt gate for vector vec to sel:target, DPL 3 (int n from user) */
static void gate32(unsigned vec, uint16_t sel, uint32_t target)
{
	put32(IDT + vec * 8, (target & 0xffff) | ((uint32_t)sel << 16));
	put32(IDT + vec * 8 + 4, (target & 0xffff0000u) | 0xee00);
}

static void gate64(unsigned vec, uint16_t sel, uint64_t target)
{
	gate32(vec * 2, sel, (uint32_t)target);
	put64(IDT + vec * 16 + 8, target >> 32);
}

/* The state an instruction that faults must leave as it found it */
struct snapshot {
	uint64_t rip, rsp, rflags;
	uint16_t cs, ss;
	uint8_t cpl, mode;
};

static struct snapshot snap(void)
{
	return (struct snapshot){ cpu->rip, cpu->gpr[X86_RSP], x86_cpu_get_rflags(cpu),
				  cpu->seg[X86_CS].selector, cpu->seg[X86_SS].selector, cpu->cpl,
				  cpu->mode };
}

/* Run code at CODE; expect exception vec with error err and the state
 * before it */
static void expect_fault(const uint8_t *code, size_t n, int vec, uint32_t err)
{
	guest_mem_write(&vm.mem, CODE, code, n);
	x86_block_cache_flush(cpu->bc);
	cpu->rip = CODE;
	cpu->stop_rip = CODE + n;
	struct snapshot before = snap();
	CHECK_EQ(x86_cpu_run(cpu, 100), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, vec);
	CHECK_EQ(cpu->exc_error, err);
	struct snapshot after = snap();
	CHECK_EQ(after.rip, before.rip);
	CHECK_EQ(after.rsp, before.rsp);
	CHECK_EQ(after.rflags, before.rflags);
	CHECK_EQ(after.cs, before.cs);
	CHECK_EQ(after.ss, before.ss);
	CHECK_EQ(after.cpl, before.cpl);
	CHECK_EQ(after.mode, before.mode);
}

/* Run code at CODE until RIP reaches stop */
static enum x86_exit run_to(const uint8_t *code, size_t n, uint64_t stop)
{
	guest_mem_write(&vm.mem, CODE, code, n);
	x86_block_cache_flush(cpu->bc);
	cpu->rip = CODE;
	cpu->stop_rip = stop;
	return x86_cpu_run(cpu, 100);
}

/* a frame of 32-bit values at KSTACK: eip, cs, then the rest */
static void frame32(const uint32_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put32(KSTACK + 4 * i, v[i]);
}

static const uint8_t iret[] = { 0xcf };
static const uint8_t retf[] = { 0xcb };

TEST(iret_to_outer_ring_checks_before_commit)
{
	if (tcg_vm_init(&vm, 32ull << 20, &cpu) < 0)
		SKIP("cannot create a VM");
	/* SS not present: #SS(SS) taken at CPL 0 with IF clear, CS and ESP
	 * as they were */
	setup32(0);
	frame32((const uint32_t[]){ CODE + 0x100, U_CODE32, 0x202, USTACK, U_DATA_ABSENT }, 5);
	expect_fault(iret, sizeof(iret), X86_EXC_SS, U_DATA_ABSENT & 0xfffc);
	/* SS of another privilege: #GP(SS) */
	frame32((const uint32_t[]){ CODE + 0x100, U_CODE32, 0x202, USTACK, K_DATA | 3 }, 5);
	expect_fault(iret, sizeof(iret), X86_EXC_GP, K_DATA);
	/* EIP past the new CS's limit: #GP(0) before anything is loaded */
	frame32((const uint32_t[]){ 0x20000, U_CODE32_64K, 0x202, USTACK, U_DATA }, 5);
	expect_fault(iret, sizeof(iret), X86_EXC_GP, 0);
	/* all good: ring 3 with IF set */
	frame32((const uint32_t[]){ CODE + 0x100, U_CODE32, 0x202, USTACK, U_DATA }, 5);
	CHECK_EQ(run_to(iret, sizeof(iret), CODE + 0x100), X86_EXIT_STOP);
	CHECK_EQ(cpu->cpl, 3);
	CHECK_EQ(cpu->seg[X86_CS].selector, U_CODE32);
	CHECK_EQ(cpu->seg[X86_SS].selector, U_DATA);
	CHECK_EQ(cpu->gpr[X86_RSP], USTACK);
	CHECK(x86_cpu_get_rflags(cpu) & X86_RFLAGS_IF);

	/* iretq to a non-canonical RIP: #GP(0) at the iretq, still in ring 0 */
	static const uint8_t iretq[] = { 0x48, 0xcf };
	setup64(0);
	const uint64_t f64[5] = { 0x0000800000000000ull, U_CODE64, 0x202, USTACK, U_DATA };
	guest_mem_write(&vm.mem, KSTACK, f64, sizeof(f64));
	expect_fault(iretq, sizeof(iretq), X86_EXC_GP, 0);
	vm_destroy(&vm);
}

TEST(far_ret_checks_before_commit)
{
	if (tcg_vm_init(&vm, 32ull << 20, &cpu) < 0)
		SKIP("cannot create a VM");
	setup32(0);
	/* to ring 3 with an absent SS */
	frame32((const uint32_t[]){ CODE + 0x100, U_CODE32, USTACK, U_DATA_ABSENT }, 4);
	expect_fault(retf, sizeof(retf), X86_EXC_SS, U_DATA_ABSENT & 0xfffc);
	/* same ring, EIP past the limit */
	frame32((const uint32_t[]){ 0x20000, K_CODE32_64K }, 2);
	expect_fault(retf, sizeof(retf), X86_EXC_GP, 0);
	/* to ring 3, all good */
	frame32((const uint32_t[]){ CODE + 0x100, U_CODE32, USTACK, U_DATA }, 4);
	CHECK_EQ(run_to(retf, sizeof(retf), CODE + 0x100), X86_EXIT_STOP);
	CHECK_EQ(cpu->cpl, 3);
	CHECK_EQ(cpu->seg[X86_SS].selector, U_DATA);
	CHECK_EQ(cpu->gpr[X86_RSP], USTACK);
	vm_destroy(&vm);
}

TEST(far_jmp_and_call_check_the_target_first)
{
	if (tcg_vm_init(&vm, 32ull << 20, &cpu) < 0)
		SKIP("cannot create a VM");
	setup32(0);
	static const uint8_t ljmp[] = { 0xea, 0x00, 0x00, 0x02, 0x00, K_CODE32_64K, 0x00 };
	static const uint8_t lcall[] = { 0x9a, 0x00, 0x00, 0x02, 0x00, K_CODE32_64K, 0x00 };
	expect_fault(ljmp, sizeof(ljmp), X86_EXC_GP, 0);
	expect_fault(lcall, sizeof(lcall), X86_EXC_GP, 0);
	static const uint8_t ljmp_ok[] = { 0xea, 0x00, 0x01, 0x00, 0x00, K_CODE32_64K, 0x00 };
	CHECK_EQ(run_to(ljmp_ok, sizeof(ljmp_ok), 0x100), X86_EXIT_STOP);
	CHECK_EQ(cpu->seg[X86_CS].selector, K_CODE32_64K);

	/* 64-bit: jmp far [rsi] (m16:64) to a non-canonical offset */
	setup64(0);
	static const uint8_t ljmp64[] = { 0x48, 0xff, 0x2e };
	put64(0x50000, 0x0000800000000000ull);
	put32(0x50008, K_CODE64);
	cpu->gpr[X86_RSI] = 0x50000;
	expect_fault(ljmp64, sizeof(ljmp64), X86_EXC_GP, 0);
	vm_destroy(&vm);
}

TEST(interrupt_delivery_checks_before_commit)
{
	if (tcg_vm_init(&vm, 32ull << 20, &cpu) < 0)
		SKIP("cannot create a VM");
	static const uint8_t int80[] = { 0xcd, 0x80 };

	/* 32-bit, from ring 3: the ring-0 stack's SS is too small for the
	 * frame at ESP0: #SS(SS0), nothing changed */
	setup32(3);
	x86_cpu_set_rflags(cpu, X86_RFLAGS_FIXED | X86_RFLAGS_IF);
	gate32(0x80, K_CODE32, (uint32_t)HANDLER);
	put32(TSS + 4, 0x2000);
	put32(TSS + 8, K_DATA_4K);
	expect_fault(int80, sizeof(int80), X86_EXC_SS, K_DATA_4K);
	/* a handler past its code segment's limit: #GP(0) */
	put32(TSS + 4, KSTACK);
	put32(TSS + 8, K_DATA);
	gate32(0x80, K_CODE32_64K, 0x20000);
	expect_fault(int80, sizeof(int80), X86_EXC_GP, 0);
	/* all good */
	gate32(0x80, K_CODE32, (uint32_t)HANDLER);
	CHECK_EQ(run_to(int80, sizeof(int80), HANDLER), X86_EXIT_STOP);
	CHECK_EQ(cpu->cpl, 0);
	CHECK_EQ(cpu->seg[X86_SS].selector, K_DATA);
	CHECK_EQ(cpu->gpr[X86_RSP], KSTACK - 20);
	CHECK(!(x86_cpu_get_rflags(cpu) & X86_RFLAGS_IF));

	/* real mode: the third word of the frame past SS's limit: #SS, SP
	 * as it was (not after the two words that fitted) */
	x86_cpu_reset(cpu, true);
	x86_set_seg_real(cpu, X86_CS, 0);
	x86_update_mode(cpu);
	cpu->exit_on_exception = true;
	cpu->gpr[X86_RSP] = 3;
	guest_mem_write(&vm.mem, 0x8000, int80, sizeof(int80));
	x86_block_cache_flush(cpu->bc);
	cpu->rip = 0x8000;
	cpu->stop_rip = 0x8000 + sizeof(int80);
	CHECK_EQ(x86_cpu_run(cpu, 100), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_SS);
	CHECK_EQ(cpu->gpr[X86_RSP], 3);
	CHECK_EQ(cpu->rip, 0x8000);

	/* 64-bit, from ring 3: a non-canonical handler is #GP(0) */
	setup64(3);
	x86_cpu_set_rflags(cpu, X86_RFLAGS_FIXED | X86_RFLAGS_IF);
	put64(TSS + 4, KSTACK);
	gate64(0x80, K_CODE64, 0x0000800000000000ull);
	expect_fault(int80, sizeof(int80), X86_EXC_GP, 0);
	/* RSP0 non-canonical: #SS */
	gate64(0x80, K_CODE64, HANDLER);
	put64(TSS + 4, 0x0000800000000100ull);
	expect_fault(int80, sizeof(int80), X86_EXC_SS, 0);
	/* the GDT is read-only and the handler's CS not yet accessed: the
	 * store of the accessed bit faults, before SS, RSP or RFLAGS change */
	put64(TSS + 4, KSTACK);
	put64(PML4 + 0x3000 + (GDT >> 12) * 8, GDT | 5);
	x86_tlb_flush(cpu, true);
	expect_fault(int80, sizeof(int80), X86_EXC_PF, X86_PF_P | X86_PF_W);
	CHECK_EQ(cpu->cr2, GDT + K_CODE64 + 4);
	/* writable again: the handler runs, its descriptor now accessed */
	put64(PML4 + 0x3000 + (GDT >> 12) * 8, GDT | 7);
	x86_tlb_flush(cpu, true);
	CHECK_EQ(run_to(int80, sizeof(int80), HANDLER), X86_EXIT_STOP);
	CHECK_EQ(cpu->cpl, 0);
	CHECK_EQ(cpu->gpr[X86_RSP], KSTACK - 40);
	uint32_t hi;
	guest_mem_read(&vm.mem, GDT + K_CODE64 + 4, &hi, 4);
	CHECK(hi & 0x100);
	vm_destroy(&vm);
}

RUN_TESTS(T(iret_to_outer_ring_checks_before_commit), T(far_ret_checks_before_commit),
	  T(far_jmp_and_call_check_the_target_first), T(interrupt_delivery_checks_before_commit))
