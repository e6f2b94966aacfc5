/* The software CPU's debug registers, RF, MSRs and fast system calls where
 * QEMU's TCG departs from the SDM, so that guests/src/dbgregs.c cannot
 * check them against it: DR7.GD, RF in the RFLAGS image of faults and of
 * a rep string instruction stopped by a data breakpoint, LEN's alignment
 * of DRn, two breakpoints hit by one access, #GP for reserved bits of the
 * machine-check and MTRR MSRs, SYSCALL/SYSRET outside 64-bit mode (#UD on
 * Intel, the vendor CPUID names) and SYSENTER/SYSEXIT in legacy protected
 * mode. */
#include "test.h"

#include "cpu_snippet.h"
#include "cpu/x86/internal.h"

#define RF X86_RFLAGS_RF
#define HANDLER (SNIP_CODE + 0x80)	/* every IDT gate's target: the run stops there */
#define GDT (SNIP_DATA + 0x300)
#define IDT (SNIP_DATA + 0x400)

/* DR7 fields of breakpoint n */
#define L(n) (1ull << (2 * (n)))
#define RW(n, rw) ((uint64_t)(rw) << (16 + 4 * (n)))
#define LEN(n, code) ((uint64_t)(code) << (18 + 4 * (n)))
enum { RW_EXEC, RW_WRITE, RW_IO, RW_RW };
enum { LEN1, LEN2, LEN8, LEN4 };

/* CPL 0, a GDT with a 64-bit code segment at 0x08 and an IDT whose 32
 * gates all lead to HANDLER */
static void setup_kernel(void)
{
	struct x86_cpu *cpu = S.cpu;
	x86_cpu_setup_flat64(cpu, 0, SNIP_PT);
	const uint64_t gdt[4] = { 0, 0x00af9a000000ffffull, 0x00cf92000000ffffull,
				  0x00cf9a000000ffffull /* 0x18: 32-bit code */ };
	x86_write_lin(cpu, GDT, gdt, sizeof(gdt), false);
	cpu->gdtr.base = GDT;
	cpu->gdtr.limit = sizeof(gdt) - 1;
	for (unsigned v = 0; v < 32; v++) {
		uint32_t g[4] = { (uint32_t)(0x08u << 16 | (HANDLER & 0xffff)),
				  (uint32_t)((HANDLER & 0xffff0000u) | 0x8e00u), 0, 0 };
		x86_write_lin(cpu, IDT + 16 * v, g, 16, false);
	}
	cpu->idtr.base = IDT;
	cpu->idtr.limit = 32 * 16 - 1;
	cpu->gpr[X86_RSP] = SNIP_DATA + 0x800;
	cpu->gpr[X86_RBX] = SNIP_DATA;
}

/* Run code at SNIP_CODE until HANDLER (an exception delivered through the
 * IDT) or its end; exceptions stop the run at once when direct is set.
 * Returns the exit. */
static enum x86_exit run(const uint8_t *code, unsigned len, bool direct)
{
	struct x86_cpu *cpu = S.cpu;
	uint8_t buf[0x100];
	memset(buf, 0xf4, sizeof(buf));	/* hlt */
	memcpy(buf, code, len);
	x86_write_lin(cpu, SNIP_CODE, buf, sizeof(buf), false);
	x86_block_cache_flush(cpu->bc);
	cpu->rip = SNIP_CODE;
	cpu->stop_rip = direct ? SNIP_CODE + len : HANDLER;
	cpu->exit_on_exception = direct;
	cpu->exc_vector = -1;
	return x86_cpu_run(cpu, 1000);
}

/* The RFLAGS image an exception without error code pushed */
static uint64_t pushed_rflags(bool has_error)
{
	uint64_t v = 0;
	x86_read_lin(S.cpu, S.cpu->gpr[X86_RSP] + (has_error ? 24 : 16), &v, 8, false);
	return v;
}

TEST(general_detect)
{
	NEED_CPU();
	setup_kernel();
	struct x86_cpu *cpu = S.cpu;
	static const uint8_t mov_to_dr7[] = { 0x0f, 0x23, 0xf8 };	/* mov %rax, %dr7 */
	static const uint8_t mov_from_dr0[] = { 0x0f, 0x21, 0xc0 };	/* mov %dr0, %rax */
	cpu->gpr[X86_RAX] = 0x2400;	/* GD */
	CHECK_EQ(run(mov_to_dr7, sizeof(mov_to_dr7), true), X86_EXIT_STOP);
	CHECK_EQ(cpu->dr[7], 0x2400);
	/* the next access faults before it happens, with BD, and GD cleared */
	cpu->dr[0] = 0x1234;
	cpu->gpr[X86_RAX] = 0;
	CHECK_EQ(run(mov_from_dr0, sizeof(mov_from_dr0), true), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_DB);
	CHECK_EQ(cpu->rip, SNIP_CODE);
	CHECK_EQ(cpu->gpr[X86_RAX], 0);
	CHECK(cpu->dr[6] & (1u << 13));
	CHECK_EQ(cpu->dr[7], 0x400);
	/* delivered: a fault other than an instruction breakpoint, RF pushed set */
	cpu->dr[7] = 0x2400;
	CHECK_EQ(run(mov_from_dr0, sizeof(mov_from_dr0), false), X86_EXIT_STOP);
	CHECK(pushed_rflags(false) & RF);
	CHECK(!(cpu->rflags & RF));
	/* GD cleared: the handler reads DR0 */
	CHECK_EQ(run(mov_from_dr0, sizeof(mov_from_dr0), true), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX], 0x1234);
}

TEST(rf_pushed_for_faults_only)
{
	NEED_CPU();
	setup_kernel();
	struct x86_cpu *cpu = S.cpu;
	static const uint8_t ud2[] = { 0x0f, 0x0b };
	static const uint8_t noncanonical[] = { 0x8a, 0x00 };	/* mov (%rax), %al */
	static const uint8_t int3[] = { 0xcc };
	static const uint8_t nops[] = { 0x90, 0x90 };

	CHECK_EQ(run(ud2, sizeof(ud2), false), X86_EXIT_STOP);
	CHECK(pushed_rflags(false) & RF);
	setup_kernel();
	cpu->gpr[X86_RAX] = 0x8000000000000000ull;
	CHECK_EQ(run(noncanonical, sizeof(noncanonical), false), X86_EXIT_STOP);
	CHECK(pushed_rflags(true) & RF);	/* #GP(0) */
	setup_kernel();
	CHECK_EQ(run(int3, sizeof(int3), false), X86_EXIT_STOP);
	CHECK(!(pushed_rflags(false) & RF));	/* a trap */

	/* instruction breakpoint: RF pushed as it is, 0 */
	setup_kernel();
	cpu->dr[0] = SNIP_CODE + 1;
	cpu->dr[7] = 0x400 | L(0) | RW(0, RW_EXEC);
	x86_debug_update(cpu);
	CHECK_EQ(run(nops, sizeof(nops), false), X86_EXIT_STOP);
	CHECK(!(pushed_rflags(false) & RF));
	uint64_t rip = 0;
	x86_read_lin(cpu, cpu->gpr[X86_RSP], &rip, 8, false);
	CHECK_EQ(rip, SNIP_CODE + 1);
	CHECK_EQ(cpu->dr[6] & 0xf, 1);

	/* RF set by hand suppresses it for one instruction, then is gone */
	setup_kernel();
	cpu->dr[0] = SNIP_CODE;
	x86_cpu_set_rflags(cpu, x86_cpu_get_rflags(cpu) | RF);
	CHECK_EQ(run(nops, sizeof(nops), true), X86_EXIT_STOP);
	CHECK(!(cpu->rflags & RF));
	cpu->dr[7] = 0x400;
	x86_debug_update(cpu);
}

TEST(data_breakpoint_alignment_and_two_hits)
{
	NEED_CPU();
	setup_kernel();
	struct x86_cpu *cpu = S.cpu;
	static const uint8_t store8[] = { 0x88, 0x03 };	/* mov %al, (%rbx) */
	/* DR1 two bytes into a 4-byte breakpoint: LEN aligns it down */
	cpu->dr[1] = SNIP_DATA + 0x42;
	cpu->dr[7] = 0x400 | L(1) | RW(1, RW_WRITE) | LEN(1, LEN4);
	x86_debug_update(cpu);
	cpu->gpr[X86_RBX] = SNIP_DATA + 0x40;
	CHECK_EQ(run(store8, sizeof(store8), true), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_DB);
	CHECK_EQ(cpu->rip, SNIP_CODE + 2);	/* a trap: after the store */
	CHECK_EQ(cpu->dr[6] & 0xf, 2);
	/* two breakpoints on one byte: both reported */
	cpu->dr[3] = SNIP_DATA + 0x40;
	cpu->dr[7] |= L(3) | RW(3, RW_RW) | LEN(3, LEN1);
	x86_debug_update(cpu);
	CHECK_EQ(run(store8, sizeof(store8), true), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->dr[6] & 0xf, 0xa);
	/* the breakpoint's page stays out of the TLB, a neighbour's does not */
	CHECK(x86_debug_watched_page(cpu, SNIP_DATA + 0xfff));
	CHECK(!x86_debug_watched_page(cpu, SNIP_DATA + 0x1000));
	cpu->dr[7] = 0x400;
	x86_debug_update(cpu);
	CHECK_EQ(run(store8, sizeof(store8), true), X86_EXIT_STOP);
	CHECK(!cpu->dbg_active);
}

TEST(data_breakpoint_in_rep_string)
{
	NEED_CPU();
	setup_kernel();
	struct x86_cpu *cpu = S.cpu;
	static const uint8_t rep_stosb[] = { 0xf3, 0xaa };
	cpu->dr[2] = SNIP_DATA + 0x105;
	cpu->dr[7] = 0x400 | L(2) | RW(2, RW_WRITE) | LEN(2, LEN1);
	x86_debug_update(cpu);
	cpu->gpr[X86_RDI] = SNIP_DATA + 0x100;
	cpu->gpr[X86_RCX] = 16;
	cpu->gpr[X86_RAX] = 0x5a;
	/* the trap comes after the iteration that stored to it, with RIP
	 * still at the instruction and RF set to resume it */
	CHECK_EQ(run(rep_stosb, sizeof(rep_stosb), false), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RCX], 10);
	CHECK_EQ(cpu->gpr[X86_RDI], SNIP_DATA + 0x106);
	uint64_t rip = 0;
	x86_read_lin(cpu, cpu->gpr[X86_RSP], &rip, 8, false);
	CHECK_EQ(rip, SNIP_CODE);
	CHECK(pushed_rflags(false) & RF);
	CHECK_EQ(cpu->dr[6] & 0xf, 4);
	cpu->dr[7] = 0x400;
	x86_debug_update(cpu);
}

TEST(msr_reserved_bits)
{
	NEED_CPU();
	struct x86_cpu *cpu = S.cpu;
	uint64_t v;
	CHECK_EQ(x86_read_msr(cpu, 0x179, &v), 0);
	CHECK_EQ(v, 0x100010a);
	CHECK(x86_write_msr(cpu, 0x179, v) < 0);		/* MCG_CAP: read-only */
	CHECK(x86_write_msr(cpu, 0x17a, 8) < 0);		/* MCG_STATUS reserved bit */
	CHECK_EQ(x86_write_msr(cpu, 0x17a, 0), 0);
	CHECK(x86_write_msr(cpu, 0x17b, 1) < 0);		/* MCG_CTL: 0 or all ones */
	CHECK(x86_write_msr(cpu, 0x401, 1ull << 63) < 0);	/* MC0_STATUS: only 0 */
	CHECK(x86_write_msr(cpu, 0x400 + 4 * 9, 0x10) < 0);	/* MC9_CTL: 0 or all ones */
	CHECK_EQ(x86_write_msr(cpu, 0x400 + 4 * 9 + 2, 0x1234), 0);	/* MC9_ADDR */
	CHECK(x86_read_msr(cpu, 0x400 + 4 * 10, &v) < 0);	/* no bank 10 */
	CHECK(x86_write_msr(cpu, 0x3a, 5) < 0);		/* FEATURE_CONTROL is locked */
	CHECK_EQ(x86_read_msr(cpu, 0x3a, &v), 0);
	CHECK_EQ(v, 1);
	CHECK(x86_write_msr(cpu, 0xfe, 0) < 0);		/* MTRRCAP: read-only */
	CHECK(x86_write_msr(cpu, 0x2ff, 0x206) < 0);		/* DEF_TYPE bit 9 */
	CHECK(x86_write_msr(cpu, 0x2ff, 0x802) < 0);		/* type 2 */
	CHECK_EQ(x86_write_msr(cpu, 0x2ff, 0xc00), 0);
	CHECK(x86_write_msr(cpu, 0x250, 0x0606060606060706ull) < 0);	/* type 7 */
	CHECK(x86_write_msr(cpu, 0x26f, 0x0300000000000000ull) < 0);	/* type 3 */
	CHECK_EQ(x86_write_msr(cpu, 0x26f, 0x0500000000000000ull), 0);
	CHECK(x86_write_msr(cpu, 0x200, 0x80000106ull) < 0);	/* PHYSBASE bit 8 */
	CHECK(x86_write_msr(cpu, 0x200, 1ull << 40 | 6) < 0);	/* past MAXPHYADDR */
	CHECK(x86_write_msr(cpu, 0x201, 0xff80000400ull) < 0);	/* PHYSMASK bit 10 */
	CHECK_EQ(x86_write_msr(cpu, 0x201, 0xff80000800ull), 0);
	CHECK(x86_write_msr(cpu, 0x277, 0x0007040600070402ull) < 0);	/* PAT type 2 */
	CHECK(x86_read_msr(cpu, 0x210, &v) < 0);		/* PHYSBASE8: VCNT is 8 */
	/* INIT leaves the MTRRs, PAT and machine-check state alone */
	CHECK_EQ(x86_write_msr(cpu, 0x2ff, 0xc06), 0);
	CHECK_EQ(x86_write_msr(cpu, 0x277, 0x0007040600070401ull), 0);
	cpu->gpr[X86_RAX] = 1;
	atomic_store(&cpu->init_pending, true);
	x86_cpu_run(cpu, 10);
	CHECK(cpu->wait_for_sipi);
	CHECK_EQ(cpu->gpr[X86_RAX], 0);
	CHECK_EQ(x86_read_msr(cpu, 0x2ff, &v), 0);
	CHECK_EQ(v, 0xc06);
	CHECK_EQ(x86_read_msr(cpu, 0x201, &v), 0);
	CHECK_EQ(v, 0xff80000800ull);
	CHECK_EQ(x86_read_msr(cpu, 0x277, &v), 0);
	CHECK_EQ(v, 0x0007040600070401ull);
	/* a reset brings them back */
	x86_cpu_reset(cpu, true);
	CHECK_EQ(x86_read_msr(cpu, 0x2ff, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(x86_read_msr(cpu, 0x201, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(x86_read_msr(cpu, 0x400 + 4 * 9 + 2, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(x86_read_msr(cpu, 0x17b, &v), 0);
	CHECK_EQ(v, ~0ull);
	CHECK_EQ(cpu->dr[6], 0xffff0ff0);
	CHECK_EQ(cpu->dr[7], 0x400);
}

/* CS as a 32-bit code segment: compatibility mode with EFER.LMA, legacy
 * protected mode without */
static void set_code32(bool long_mode)
{
	struct x86_cpu *cpu = S.cpu;
	setup_kernel();
	if (!long_mode) {
		cpu->cr0 &= ~X86_CR0_PG;
		cpu->efer &= ~(X86_EFER_LMA | X86_EFER_LME);
		cpu->cr4 = 0;
		x86_tlb_flush(cpu, true);
	}
	x86_seg_set_flat(&cpu->seg[X86_CS], 0x18, true, 32, 0);
	x86_seg_set_flat(&cpu->seg[X86_SS], 0x10, false, 32, 0);
	x86_update_mode(cpu);
	cpu->efer |= X86_EFER_SCE;
	cpu->star = (uint64_t)0x18 << 48 | (uint64_t)0x08 << 32;
	cpu->lstar = cpu->cstar = HANDLER;
}

TEST(syscall_outside_64bit_mode_is_ud)
{
	NEED_CPU();
	struct x86_cpu *cpu = S.cpu;
	static const uint8_t syscall[] = { 0x0f, 0x05 };
	static const uint8_t sysret[] = { 0x0f, 0x07 };
	for (int lm = 0; lm < 2; lm++) {
		set_code32(lm);
		CHECK_EQ(cpu->mode, X86_MODE_PROT32);
		CHECK_EQ(run(syscall, sizeof(syscall), true), X86_EXIT_EXCEPTION);
		CHECK_EQ(cpu->exc_vector, X86_EXC_UD);
		CHECK_EQ(run(sysret, sizeof(sysret), true), X86_EXIT_EXCEPTION);
		CHECK_EQ(cpu->exc_vector, X86_EXC_UD);
	}
}

TEST(sysenter_sysexit_legacy_mode)
{
	NEED_CPU();
	struct x86_cpu *cpu = S.cpu;
	static const uint8_t sysenter[] = { 0x0f, 0x34 };
	static const uint8_t sysexit[] = { 0x0f, 0x35 };
	set_code32(false);
	CHECK_EQ(cpu->mode, X86_MODE_PROT32);
	/* no SYSENTER_CS: #GP(0) */
	cpu->sysenter_cs = 0;
	CHECK_EQ(run(sysenter, sizeof(sysenter), true), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_GP);
	/* the entry: 32-bit flat ring 0, ESP/EIP from the MSRs' low halves */
	cpu->sysenter_cs = 0x21;
	cpu->sysenter_esp = 0x1234567800005000ull;
	cpu->sysenter_eip = HANDLER;
	x86_cpu_set_rflags(cpu, X86_RFLAGS_FIXED | X86_RFLAGS_IF);
	CHECK_EQ(run(sysenter, sizeof(sysenter), false), X86_EXIT_STOP);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x20);
	CHECK_EQ(cpu->seg[X86_SS].selector, 0x28);
	CHECK_EQ(cpu->mode, X86_MODE_PROT32);
	CHECK_EQ(cpu->cpl, 0);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x5000);
	CHECK(!(cpu->rflags & X86_RFLAGS_IF));
	/* the exit: CS SYSENTER_CS + 16, SS + 24, RPL 3 */
	cpu->gpr[X86_RDX] = HANDLER;
	cpu->gpr[X86_RCX] = 0x6000;
	CHECK_EQ(run(sysexit, sizeof(sysexit), false), X86_EXIT_STOP);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x33);
	CHECK_EQ(cpu->seg[X86_SS].selector, 0x3b);
	CHECK_EQ(cpu->cpl, 3);
	CHECK_EQ(cpu->mode, X86_MODE_PROT32);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x6000);
	/* from ring 3: #GP(0) */
	CHECK_EQ(run(sysexit, sizeof(sysexit), true), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_GP);
}

RUN_TESTS(T(general_detect), T(rf_pushed_for_faults_only), T(data_breakpoint_alignment_and_two_hits),
	  T(data_breakpoint_in_rep_string), T(msr_reserved_bits), T(syscall_outside_64bit_mode_is_ud),
	  T(sysenter_sysexit_legacy_mode))
