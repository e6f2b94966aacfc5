/* Lazy arithmetic flags: the last flag-setting operation is kept with its
 * operands and result, and CF/PF/AF/ZF/SF/OF are worked out only when
 * something reads them. */
#include "cpu/x86/internal.h"

static const uint8_t parity_table[256] = {
#define P2(n) n, n ^ 1, n ^ 1, n
#define P4(n) P2(n), P2(n ^ 1), P2(n ^ 1), P2(n)
#define P6(n) P4(n), P4(n ^ 1), P4(n ^ 1), P4(n)
	P6(1), P6(0), P6(0), P6(1)
};

uint64_t x86_szp_flags(uint64_t r, unsigned size)
{
	const uint64_t m = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
	uint64_t f = 0;
	r &= m;
	if (!r)
		f |= X86_RFLAGS_ZF;
	if (r >> (size * 8 - 1))
		f |= X86_RFLAGS_SF;
	if (parity_table[r & 0xff])
		f |= X86_RFLAGS_PF;
	return f;
}

/* The flags translated code saved with LAHF and SETO */
static uint64_t jit_flags(const struct x86_cpu *cpu)
{
	uint64_t f = cpu->jit.flags;
	return ((f >> 8) & (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF |
			    X86_RFLAGS_SF)) | ((f & 1) ? X86_RFLAGS_OF : 0);
}

uint64_t x86_compute_arith_flags(const struct x86_cpu *cpu)
{
	if (cpu->cc_op == X86_CC_EFLAGS)
		return cpu->cc_src & X86_ARITH_FLAGS;
	if (cpu->cc_op == X86_CC_JIT)
		return jit_flags(cpu);
	const unsigned bits = cpu->cc_size * 8u;
	const uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	const uint64_t sign = 1ull << (bits - 1);
	const uint64_t a = cpu->cc_src & mask, b = cpu->cc_src2 & mask, r = cpu->cc_dst & mask;
	uint64_t f = 0;
	bool cf = false, of = false, af = false;

	switch (cpu->cc_op) {
	case X86_CC_EFLAGS:
		return cpu->cc_src & X86_ARITH_FLAGS;
	case X86_CC_JIT:
		return jit_flags(cpu);
	case X86_CC_ADD:
		cf = r < a;
		of = ((a ^ r) & (b ^ r)) & sign;
		af = (a ^ b ^ r) & 0x10;
		break;
	case X86_CC_ADC:
		cf = cpu->cc_carry ? r <= a : r < a;
		of = ((a ^ r) & (b ^ r)) & sign;
		af = (a ^ b ^ r) & 0x10;
		break;
	case X86_CC_SUB:
		cf = a < b;
		of = ((a ^ b) & (a ^ r)) & sign;
		af = (a ^ b ^ r) & 0x10;
		break;
	case X86_CC_SBB:
		cf = cpu->cc_carry ? a <= b : a < b;
		of = ((a ^ b) & (a ^ r)) & sign;
		af = (a ^ b ^ r) & 0x10;
		break;
	case X86_CC_LOGIC:
		break;
	case X86_CC_INC:
		cf = cpu->cc_carry;
		of = r == sign;
		af = (r & 0xf) == 0;
		break;
	case X86_CC_DEC:
		cf = cpu->cc_carry;
		of = r == sign - 1;
		af = (r & 0xf) == 0xf;
		break;
	case X86_CC_NEG:
		cf = a != 0;
		of = a == sign;
		af = (a ^ r) & 0x10;
		break;
	case X86_CC_SHIFT:
	case X86_CC_MUL:
		cf = cpu->cc_carry;
		of = cpu->cc_src2;
		break;
	}
	if (cf)
		f |= X86_RFLAGS_CF;
	if (of)
		f |= X86_RFLAGS_OF;
	if (af)
		f |= X86_RFLAGS_AF;
	if (r == 0)
		f |= X86_RFLAGS_ZF;
	if (r & sign)
		f |= X86_RFLAGS_SF;
	if (parity_table[r & 0xff])
		f |= X86_RFLAGS_PF;
	return f;
}

bool x86_get_cf(const struct x86_cpu *cpu)
{
	if (cpu->cc_op == X86_CC_EFLAGS)
		return cpu->cc_src & X86_RFLAGS_CF;
	const unsigned bits = cpu->cc_size * 8u;
	const uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	const uint64_t a = cpu->cc_src & mask, b = cpu->cc_src2 & mask, r = cpu->cc_dst & mask;
	switch (cpu->cc_op) {
	case X86_CC_ADD: return r < a;
	case X86_CC_ADC: return cpu->cc_carry ? r <= a : r < a;
	case X86_CC_SUB: return a < b;
	case X86_CC_SBB: return cpu->cc_carry ? a <= b : a < b;
	case X86_CC_LOGIC: return false;
	case X86_CC_INC:
	case X86_CC_DEC: return cpu->cc_carry;
	case X86_CC_NEG: return a != 0;
	case X86_CC_SHIFT:
	case X86_CC_MUL: return cpu->cc_carry;
	case X86_CC_JIT: return cpu->jit.flags & 0x100;
	default: return cpu->cc_src & X86_RFLAGS_CF;
	}
}

uint64_t x86_cpu_get_rflags(struct x86_cpu *cpu)
{
	return (cpu->rflags & ~X86_ARITH_FLAGS) | x86_compute_arith_flags(cpu) | X86_RFLAGS_FIXED;
}

void x86_flags_to_jit(struct x86_cpu *cpu)
{
	if (cpu->cc_op == X86_CC_JIT)
		return;
	uint64_t f = x86_compute_arith_flags(cpu);
	cpu->jit.flags = (uint16_t)(((f & 0xff) << 8) | X86_RFLAGS_FIXED << 8 | ((f & X86_RFLAGS_OF) ? 1 : 0));
	cpu->cc_op = X86_CC_JIT;
}

void x86_set_arith_flags(struct x86_cpu *cpu, uint64_t flags)
{
	cpu->cc_op = X86_CC_EFLAGS;
	cpu->cc_src = flags & X86_ARITH_FLAGS;
}

void x86_cpu_set_rflags(struct x86_cpu *cpu, uint64_t rflags)
{
	/* bits 3, 5, 15 and 22..63 read as zero, bit 1 as one */
	cpu->rflags = (rflags & 0x3f7fd5ull & ~X86_ARITH_FLAGS) | X86_RFLAGS_FIXED;
	x86_set_arith_flags(cpu, rflags);
	/* single step (popf, iret, sysret...) or RF (iret): end the block,
	 * so the next instruction runs in x86_cpu_run's careful loop, which
	 * traps, or clears RF after its breakpoint check */
	if (rflags & (X86_RFLAGS_TF | X86_RFLAGS_RF))
		cpu->block_dirty = true;
}

bool x86_cond(struct x86_cpu *cpu, unsigned cc)
{
	bool r;
	/* the common compare-and-branch cases without building all flags */
	if (cpu->cc_op == X86_CC_SUB) {
		const unsigned bits = cpu->cc_size * 8u;
		const uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
		const uint64_t a = cpu->cc_src & mask, b = cpu->cc_src2 & mask;
		const int64_t sa = (int64_t)(a << (64 - bits)), sb = (int64_t)(b << (64 - bits));
		switch (cc >> 1) {
		case 1: r = a < b; goto out;
		case 2: r = a == b; goto out;
		case 3: r = a <= b; goto out;
		case 6: r = sa < sb; goto out;
		case 7: r = sa <= sb; goto out;
		default: break;
		}
	}
	uint64_t f = x86_compute_arith_flags(cpu);
	switch (cc >> 1) {
	case 0: r = f & X86_RFLAGS_OF; break;
	case 1: r = f & X86_RFLAGS_CF; break;
	case 2: r = f & X86_RFLAGS_ZF; break;
	case 3: r = f & (X86_RFLAGS_CF | X86_RFLAGS_ZF); break;
	case 4: r = f & X86_RFLAGS_SF; break;
	case 5: r = f & X86_RFLAGS_PF; break;
	case 6: r = !(f & X86_RFLAGS_SF) != !(f & X86_RFLAGS_OF); break;
	default: r = (f & X86_RFLAGS_ZF) || (!(f & X86_RFLAGS_SF) != !(f & X86_RFLAGS_OF)); break;
	}
out:
	return (cc & 1) ? !r : r;
}
