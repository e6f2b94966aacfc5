/* Multiplication and division: group 3 mul imul div idiv (F6/F7 /4-7)
 * and the two- and three-operand imul (0F AF, 69, 6B). */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

static void mul_flags(struct x86_cpu *cpu, bool overflow, uint64_t low, unsigned size)
{
	cpu->cc_carry = overflow;
	x86_set_cc(cpu, X86_CC_MUL, size, low, 0, overflow);
}

static void group3_muldiv(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size, uint64_t src)
{
	const unsigned op = in->reg & 7;
	const unsigned bits = size * 8;
	const uint64_t m = x86_mask(size);
	uint64_t a = cpu->gpr[X86_RAX] & m;
	uint64_t d = size == 1 ? (cpu->gpr[X86_RAX] >> 8) & 0xff : cpu->gpr[X86_RDX] & m;
	if (size == 1) {
		a = cpu->gpr[X86_RAX] & 0xff;
		d = (cpu->gpr[X86_RAX] >> 8) & 0xff;
	}
	unsigned __int128 lo_hi;
	uint64_t lo, hi;
	switch (op) {
	case 4: /* mul */
		lo_hi = (unsigned __int128)a * src;
		lo = (uint64_t)lo_hi & m;
		hi = size == 8 ? (uint64_t)(lo_hi >> 64) : (uint64_t)(lo_hi >> bits) & m;
		mul_flags(cpu, hi != 0, lo, size);
		break;
	case 5: { /* imul */
		__int128 p = (__int128)(int64_t)x86_sext(a, size) * (int64_t)x86_sext(src, size);
		lo = (uint64_t)p & m;
		hi = size == 8 ? (uint64_t)((unsigned __int128)p >> 64) : (uint64_t)(p >> bits) & m;
		mul_flags(cpu, p != (__int128)(int64_t)x86_sext(lo, size), lo, size);
		break;
	}
	case 6: { /* div */
		if (!src)
			x86_raise_exception(cpu, X86_EXC_DE, 0);
		unsigned __int128 n = size == 1 ? (unsigned __int128)((d << 8) | a) :
				      ((unsigned __int128)d << bits) | a;
		unsigned __int128 q = n / src;
		if (q > m)
			x86_raise_exception(cpu, X86_EXC_DE, 0);
		lo = (uint64_t)q;
		hi = (uint64_t)(n % src);
		break;
	}
	default: { /* idiv */
		if (!src)
			x86_raise_exception(cpu, X86_EXC_DE, 0);
		unsigned __int128 n = size == 1 ? (unsigned __int128)((d << 8) | a) :
				      ((unsigned __int128)d << bits) | a;
		/* the dividend is 2*bits wide: its sign bit */
		unsigned __int128 nsign = (unsigned __int128)1 << (2 * bits - 1);
		unsigned __int128 nmask = bits == 64 ? ~(unsigned __int128)0 : (nsign << 1) - 1;
		bool nneg = n & nsign, dneg = src & (1ull << (bits - 1));
		unsigned __int128 un = nneg ? ((~n + 1) & nmask) : n;
		uint64_t us = dneg ? (~src + 1) & m : src;
		unsigned __int128 uq = un / us, ur = un % us;
		bool qneg = nneg != dneg;
		unsigned __int128 lim = (unsigned __int128)1 << (bits - 1);
		if (qneg ? uq > lim : uq >= lim)
			x86_raise_exception(cpu, X86_EXC_DE, 0);
		lo = (qneg ? (uint64_t)(~uq + 1) : (uint64_t)uq) & m;
		hi = (nneg ? (uint64_t)(~ur + 1) : (uint64_t)ur) & m;
		break;
	}
	}
	if (size == 1) {
		cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | (lo & 0xff) | ((hi & 0xff) << 8);
	} else {
		x86_reg_write(cpu, in, X86_RAX, size, lo);
		x86_reg_write(cpu, in, X86_RDX, size, hi);
	}
}

static uint64_t imul_trunc(struct x86_cpu *cpu, unsigned size, uint64_t a, uint64_t b)
{
	__int128 p = (__int128)(int64_t)x86_sext(a, size) * (int64_t)x86_sext(b, size);
	uint64_t lo = (uint64_t)p & x86_mask(size);
	mul_flags(cpu, p != (__int128)(int64_t)x86_sext(lo, size), lo, size);
	return lo;
}

int x86_exec_muldiv(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t r;
	switch (in->map == X86_MAP_0F ? 0x100 | in->opcode : in->opcode) {
	case 0x69:
	case 0x6b:
		r = imul_trunc(cpu, in->opsize, rm_read(cpu, in, in->opsize), in->imm);
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
		return 0;
	case 0x1af:
		r = imul_trunc(cpu, in->opsize, x86_reg_read(cpu, in, in->reg, in->opsize),
			       rm_read(cpu, in, in->opsize));
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
		return 0;
	default: /* F6/F7 /4-7 */
		group3_muldiv(cpu, in, osize(in), rm_read(cpu, in, osize(in)));
		return 0;
	}
}

/* ---- translation ---- */

/* mul/imul r/m: the accumulator through the host's RAX (the guest's RDX
 * is the host's) */
static void body_mul(struct jit *j, struct emit *e, const struct x86_insn *in, struct hrm m)
{
	const unsigned size = osize(in);
	e_mov_rr(e, 8, HR_RAX, jit_host_reg[X86_RAX]);
	jit_same_op(e, in, JS_NO_REG, in->reg & 7, m);
	if (size <= 2)
		e_mov_rr(e, 2, jit_host_reg[X86_RAX], HR_RAX);
	else
		e_mov_rr(e, 8, jit_host_reg[X86_RAX], HR_RAX);
	jit_flags_set(j);
}

bool x86_emit_muldiv(struct jit *j, const struct x86_insn *in)
{
	if (in->map == X86_MAP_0F)	/* imul r, r/m */
		return jit_emit_same(j, in, JS_READ_REG | JS_READ_RM | JS_WRITE_REG | JS_FLAGS_OUT);
	if (in->opcode == 0x69 || in->opcode == 0x6b)
		return jit_emit_same(j, in, JS_READ_RM | JS_WRITE_REG | JS_FLAGS_OUT);
	if ((in->reg & 7) >= 6)
		return false;	/* div/idiv: #DE is the interpreter's */
	if (in->mod != 3)
		return jit_emit_memop(j, in, osize(in), JIT_LOAD, body_mul);
	if (in->byte_op && !in->rex && in->rm >= 4 && in->rm < 8)
		return false;
	int rm = jit_host_reg[in->rm];
	body_mul(j, &j->e, in, rm == HR_NONE ? jit_gpr_slot(in->rm) : hrm_reg(rm));
	return true;
}
