/* Shifts and rotates: group 2 (C0 C1 D0-D3: rol ror rcl rcr shl shr sal
 * sar) and the double shifts shld/shrd (0F A4 A5 AC AD). */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

/* Group 2: rol ror rcl rcr shl shr sal sar */
static uint64_t shift_op(struct x86_cpu *cpu, unsigned op, unsigned size, uint64_t a, unsigned count)
{
	const unsigned bits = size * 8;
	const uint64_t m = x86_mask(size), sign = 1ull << (bits - 1);
	count &= size == 8 ? 0x3f : 0x1f;
	a &= m;
	if (!count)
		return a;
	uint64_t f = (op & 7) < 4 ? x86_compute_arith_flags(cpu) : 0;
	uint64_t r = a;
	bool cf = f & X86_RFLAGS_CF, of = f & X86_RFLAGS_OF;
	switch (op & 7) {
	case 0: { /* rol */
		unsigned c = count % bits;
		r = c ? ((a << c) | (a >> (bits - c))) & m : a;
		cf = r & 1;
		of = !!(r & sign) != cf;
		f = (f & ~(X86_RFLAGS_CF | X86_RFLAGS_OF));
		break;
	}
	case 1: { /* ror */
		unsigned c = count % bits;
		r = c ? ((a >> c) | (a << (bits - c))) & m : a;
		cf = !!(r & sign);
		of = !!(r & sign) != !!(r & (sign >> 1));
		f = (f & ~(X86_RFLAGS_CF | X86_RFLAGS_OF));
		break;
	}
	case 2: { /* rcl */
		unsigned c = size <= 2 ? count % (bits + 1) : count;
		if (!c)
			return a;
		for (unsigned i = 0; i < c; i++) {
			bool out = r & sign;
			r = ((r << 1) | cf) & m;
			cf = out;
		}
		of = !!(r & sign) != cf;
		f = (f & ~(X86_RFLAGS_CF | X86_RFLAGS_OF));
		break;
	}
	case 3: { /* rcr */
		unsigned c = size <= 2 ? count % (bits + 1) : count;
		if (!c)
			return a;
		of = !!(a & sign) != cf;
		for (unsigned i = 0; i < c; i++) {
			bool out = r & 1;
			r = (r >> 1) | (cf ? sign : 0);
			cf = out;
		}
		f = (f & ~(X86_RFLAGS_CF | X86_RFLAGS_OF));
		break;
	}
	case 4:
	case 6: /* shl */
		r = count < 64 ? (a << count) & m : 0;
		cf = count <= bits ? (a >> (bits - count)) & 1 : 0;
		of = !!(r & sign) != cf;
		goto lazy;
	case 5: /* shr */
		r = a >> count;
		cf = (a >> (count - 1)) & 1;
		of = !!(a & sign);
		goto lazy;
	case 7: { /* sar */
		int64_t sa = (int64_t)x86_sext(a, size);
		r = (uint64_t)(sa >> (count > 63 ? 63 : count)) & m;
		cf = (sa >> (count - 1 > 63 ? 63 : count - 1)) & 1;
		of = false;
		goto lazy;
	}
	}
	f &= ~(X86_RFLAGS_CF | X86_RFLAGS_OF);
	if (cf)
		f |= X86_RFLAGS_CF;
	if (of)
		f |= X86_RFLAGS_OF;
	x86_set_arith_flags(cpu, f);
	return r;
lazy:
	cpu->cc_carry = cf;
	x86_set_cc(cpu, X86_CC_SHIFT, size, r, 0, of);
	return r;
}

static uint64_t shld_op(struct x86_cpu *cpu, bool right, unsigned size, uint64_t a, uint64_t b,
			unsigned count)
{
	const unsigned bits = size * 8;
	const uint64_t m = x86_mask(size), sign = 1ull << (bits - 1);
	count &= size == 8 ? 0x3f : 0x1f;
	a &= m;
	b &= m;
	if (!count)
		return a;
	uint64_t r;
	bool cf;
	if (size == 2 && count > 16) {
		/* undefined; behave like a 32-bit shift of b:a (what Intel parts do) */
		uint64_t wide = right ? (b << 16) | a | (a << 32) : (a << 16) | b | ((uint64_t)a << 32);
		wide &= 0xffffffffffffull;
		if (right) {
			r = (wide >> count) & m;
			cf = (wide >> (count - 1)) & 1;
		} else {
			r = ((wide << count) >> 32) & m;
			cf = ((wide << (count - 1)) >> 47) & 1;
		}
	} else if (right) {
		r = ((a >> count) | (count < 64 && bits > count ? b << (bits - count) : 0)) & m;
		cf = (a >> (count - 1)) & 1;
	} else {
		r = ((a << count) | (bits > count ? b >> (bits - count) : 0)) & m;
		cf = (a >> (bits - count)) & 1;
	}
	uint64_t f = x86_szp_flags(r, size);
	if (cf)
		f |= X86_RFLAGS_CF;
	if (!!(r & sign) != !!(a & sign))
		f |= X86_RFLAGS_OF;
	x86_set_arith_flags(cpu, f);
	return r;
}

int x86_exec_shift(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	unsigned size = osize(in);
	struct operand o;
	uint64_t a, r;

	if (in->map == X86_MAP_0F) { /* shld, shrd */
		unsigned count = (op & 1) ? (unsigned)(cpu->gpr[X86_RCX] & 0xff) : (uint8_t)in->imm;
		size = in->opsize;
		rm_resolve(cpu, in, size, true, &o);
		a = op_read(cpu, in, &o, size);
		uint64_t b = x86_reg_read(cpu, in, in->reg, size);
		r = shld_op(cpu, op >= 0xac, size, a, b, count);
		if ((count & (size == 8 ? 0x3f : 0x1f)) || !o.mem)
			op_write(cpu, in, &o, size, r);
		return 0;
	}
	unsigned count = op <= 0xc1 ? (uint8_t)in->imm : op <= 0xd1 ? 1 :
			 (unsigned)(cpu->gpr[X86_RCX] & 0xff);
	rm_resolve(cpu, in, size, true, &o);
	a = op_read(cpu, in, &o, size);
	r = shift_op(cpu, in->reg, size, a, count);
	/* a register is written even for a count of 0 (a 32-bit one zero-extends) */
	if ((count & (size == 8 ? 0x3f : 0x1f)) || !o.mem)
		op_write(cpu, in, &o, size, r);
	return 0;
}

/* ---- translation: the host's shift gives the same result and flags,
 * including those the SDM leaves undefined ---- */

bool x86_emit_shift(struct jit *j, const struct x86_insn *in)
{
	if (in->map == X86_MAP_0F)	/* shld, shrd: a count of 0 keeps the flags */
		return jit_emit_same(j, in, JS_READ_REG | JS_READ_RM | JS_WRITE_RM | JS_FLAGS_SOME);
	const unsigned op = in->reg & 7, size = osize(in);
	unsigned flags;
	if (in->opcode == 0xd2 || in->opcode == 0xd3) {
		flags = JS_FLAGS_SOME;	/* by CL (the guest's RCX is the host's) */
	} else {
		unsigned count = in->opcode <= 0xc1 ? (uint8_t)in->imm : 1;
		count &= size == 8 ? 0x3f : 0x1f;
		if (!count)
			flags = 0;
		else if (op >= 4)
			flags = JS_FLAGS_OUT;
		else	/* rotates keep SF ZF AF PF; rcl/rcr read CF */
			flags = JS_FLAGS_SOME;
	}
	return jit_emit_same(j, in, JS_NO_REG | JS_READ_RM | JS_WRITE_RM | flags);
}
