/* The debug registers: MOV to and from DR0-DR7 with DR7.GD's general
 * detect, instruction breakpoints (a #DB fault before the instruction,
 * suppressed by RFLAGS.RF), data and I/O breakpoints (a #DB trap after the
 * instruction), and DR6's report of what hit.
 *
 * The cost when no breakpoint is enabled is one test per block: the run
 * loop sends a block to its careful per-instruction loop, and keeps it
 * away from translated code, only while cpu->dbg_active or RFLAGS.RF is
 * set (x86_cpu_run, jit_may_run).  Translated code is not made to check
 * breakpoints itself: it would need a check at every instruction and
 * every memory access of every block, or retranslation whenever DR7
 * changes, for a feature only a debugger uses; a vCPU with breakpoints
 * armed runs on the interpreter, which checks each instruction.  Data
 * breakpoints reach the interpreter's inline memory accesses through the
 * soft TLB: a page holding a watched address is never entered in the read
 * or write TLB (x86_translate), so every access to it takes the slow path,
 * which calls x86_debug_data. */
#include "cpu/x86/internal.h"

#define DR6_BD (1ull << 13)
#define DR6_BS (1ull << 14)
#define DR7_GD (1ull << 13)

enum { RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_READ_WRITE = 3 };

static unsigned bp_rw(uint64_t dr7, unsigned n)
{
	return (dr7 >> (16 + 4 * n)) & 3;
}

/* LEN: 00 one byte, 01 two, 10 eight, 11 four */
static unsigned bp_len(uint64_t dr7, unsigned n)
{
	static const unsigned len[4] = { 1, 2, 8, 4 };
	return len[(dr7 >> (18 + 4 * n)) & 3];
}

static bool bp_enabled(uint64_t dr7, unsigned n)
{
	return (dr7 >> (2 * n)) & 3;	/* Ln or Gn */
}

/* The addresses DRn watches: its value with the low bits LEN covers
 * masked off (the SDM's alignment rule) */
static uint64_t bp_base(const struct x86_cpu *cpu, unsigned n)
{
	uint64_t a = cpu->dr[n] & ~(uint64_t)(bp_len(cpu->dr[7], n) - 1);
	return x86_long_mode(cpu) ? a : (uint32_t)a;
}

void x86_debug_update(struct x86_cpu *cpu)
{
	const uint64_t dr7 = cpu->dr[7];
	const uint8_t old_data = cpu->dbg_data;
	cpu->dbg_insn = cpu->dbg_data = cpu->dbg_io = 0;
	for (unsigned n = 0; n < 4; n++) {
		if (!bp_enabled(dr7, n))
			continue;
		switch (bp_rw(dr7, n)) {
		case RW_EXEC: cpu->dbg_insn |= (uint8_t)(1u << n); break;
		case RW_IO: cpu->dbg_io |= (uint8_t)(1u << n); break;
		default: cpu->dbg_data |= (uint8_t)(1u << n); break;
		}
	}
	cpu->dbg_active = (cpu->dbg_insn | cpu->dbg_data | cpu->dbg_io) != 0;
	/* TLB entries made before a data breakpoint was set would let
	 * accesses to its page past the check */
	if (cpu->dbg_data || old_data)
		x86_tlb_flush(cpu, true);
}

bool x86_debug_watched_page(const struct x86_cpu *cpu, uint64_t lin)
{
	for (unsigned n = 0; n < 4; n++)
		if ((cpu->dbg_data >> n) & 1 && ((bp_base(cpu, n) ^ lin) & ~0xfffull) == 0)
			return true;
	return false;
}

void x86_debug_data(struct x86_cpu *cpu, uint64_t lin, unsigned size, bool write)
{
	const uint64_t last = lin + size - 1;
	for (unsigned n = 0; n < 4; n++) {
		if (!((cpu->dbg_data >> n) & 1))
			continue;
		if (!write && bp_rw(cpu->dr[7], n) == RW_WRITE)
			continue;
		uint64_t base = bp_base(cpu, n);
		if (lin <= base + bp_len(cpu->dr[7], n) - 1 && base <= last)
			cpu->dbg_hits |= (uint8_t)(1u << n);
	}
}

void x86_debug_io(struct x86_cpu *cpu, uint16_t port, unsigned size)
{
	/* I/O breakpoints exist only with CR4.DE (otherwise R/W 10 is undefined) */
	if (!(cpu->cr4 & X86_CR4_DE))
		return;
	for (unsigned n = 0; n < 4; n++) {
		if (!((cpu->dbg_io >> n) & 1))
			continue;
		uint64_t base = (uint16_t)cpu->dr[n] & ~(uint64_t)(bp_len(cpu->dr[7], n) - 1);
		if (port <= base + bp_len(cpu->dr[7], n) - 1 && base <= (uint64_t)port + size - 1)
			cpu->dbg_hits |= (uint8_t)(1u << n);
	}
}

/* #DB: B0-B3 say which breakpoints hit this time, replacing the last
 * report (a single step alone leaves them, as QEMU does; the SDM allows
 * either); BD and BS are added to what DR6 holds until software clears
 * them */
static __attribute__((noreturn)) void raise_db(struct x86_cpu *cpu, unsigned hits, uint64_t more)
{
	if (hits)
		cpu->dr[6] = (cpu->dr[6] & ~0xfull) | hits;
	cpu->dr[6] |= more;
	x86_raise_exception(cpu, X86_EXC_DB, 0);
}

void x86_debug_insn_start(struct x86_cpu *cpu)
{
	cpu->dbg_hits = 0;
	if (cpu->rflags & X86_RFLAGS_RF) {
		/* RF suppresses this instruction's breakpoints, and is cleared
		 * once that check is done (SDM 17.3.1.1) */
		cpu->rflags &= ~X86_RFLAGS_RF;
		return;
	}
	if (!cpu->dbg_insn)
		return;
	const uint64_t lin = cpu->mode == X86_MODE_LONG64 ? cpu->rip :
			     (uint32_t)(cpu->seg[X86_CS].base + cpu->rip);
	unsigned hits = 0;
	for (unsigned n = 0; n < 4; n++)
		if ((cpu->dbg_insn >> n) & 1 && bp_base(cpu, n) == lin)
			hits |= 1u << n;
	if (hits)
		raise_db(cpu, hits, 0);	/* a fault: RIP stays at the instruction */
}

void x86_debug_insn_end(struct x86_cpu *cpu, bool single_step)
{
	unsigned hits = cpu->dbg_hits;
	cpu->dbg_hits = 0;
	raise_db(cpu, hits, single_step ? DR6_BS : 0);
}

/* ---- MOV to and from debug registers ---- */

static unsigned dr_index(struct x86_cpu *cpu, unsigned dr)
{
	if (dr > 7)
		x86_raise_exception(cpu, X86_EXC_UD, 0);
	if (dr == 4 || dr == 5) {
		/* aliases of DR6 and DR7 unless CR4.DE makes them undefined */
		if (cpu->cr4 & X86_CR4_DE)
			x86_raise_exception(cpu, X86_EXC_UD, 0);
		dr += 2;
	}
	if (cpu->dr[7] & DR7_GD) {
		/* general detect: a fault before the access, with BD set and GD
		 * cleared so that the handler can use the registers; the
		 * image pushed has RF set as for any fault but an instruction
		 * breakpoint */
		cpu->dr[7] &= ~DR7_GD;
		cpu->rflags |= X86_RFLAGS_RF;
		raise_db(cpu, 0, DR6_BD);
	}
	return dr;
}

uint64_t x86_debug_read_dr(struct x86_cpu *cpu, unsigned dr)
{
	return cpu->dr[dr_index(cpu, dr)];
}

void x86_debug_write_dr(struct x86_cpu *cpu, unsigned dr, uint64_t v)
{
	dr = dr_index(cpu, dr);
	if (dr < 4) {
		cpu->dr[dr] = x86_long_mode(cpu) ? v : (uint32_t)v;
		x86_debug_update(cpu);
		return;
	}
	/* the upper half is reserved: #GP for ones there */
	if (v >> 32)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	if (dr == 6) {
		/* B0-B3, BD, BS, BT are writable; bits 4-11 and 16-31 read as 1 */
		cpu->dr[6] = (v & 0xe00full) | 0xffff0ff0ull;
		return;
	}
	/* L0-G3, LE, GE, GD, R/W and LEN; bit 10 reads as 1; 11, 12, 14
	 * and 15 as 0 */
	cpu->dr[7] = (v & 0xffff23ffull) | 0x400;
	x86_debug_update(cpu);
}
