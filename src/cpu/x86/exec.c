/* The integer instruction interpreter: one-byte and 0F-map opcodes over a
 * decoded struct x86_insn.  System instructions are in system.c, string
 * instructions in string.c, x87 and SSE in x87.c and sse.c. */
#include "cpu/x86/internal.h"

uint64_t x86_get_reg(const struct x86_cpu *cpu, const struct x86_insn *in, unsigned reg,
		     unsigned size)
{
	return x86_reg_read(cpu, in, reg, size);
}

void x86_set_reg(struct x86_cpu *cpu, const struct x86_insn *in, unsigned reg, unsigned size,
		 uint64_t v)
{
	x86_reg_write(cpu, in, reg, size, v);
}

static inline unsigned osize(const struct x86_insn *in)
{
	return in->byte_op ? 1 : in->opsize;
}

static __attribute__((noreturn)) void ud(struct x86_cpu *cpu)
{
	x86_raise_exception(cpu, X86_EXC_UD, 0);
}

static __attribute__((noreturn)) void gp0(struct x86_cpu *cpu)
{
	x86_raise_exception(cpu, X86_EXC_GP, 0);
}

/* A ModRM r/m operand resolved once, for read-modify-write */
struct operand {
	bool mem;
	uint64_t lin;
	unsigned reg;
};

static inline void rm_resolve(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size,
			      bool write, struct operand *o)
{
	o->mem = in->mod != 3;
	o->lin = 0;
	o->reg = 0;
	if (o->mem)
		o->lin = x86_seg_linear(cpu, in->seg, x86_ea(cpu, in), size, write);
	else
		o->reg = in->rm;
}

static inline uint64_t op_read(struct x86_cpu *cpu, const struct x86_insn *in, const struct operand *o,
			       unsigned size)
{
	if (o->mem)
		return x86_read_lin_u(cpu, o->lin, size, x86_user(cpu));
	return x86_reg_read(cpu, in, o->reg, size);
}

static inline void op_write(struct x86_cpu *cpu, const struct x86_insn *in, const struct operand *o,
			    unsigned size, uint64_t v)
{
	if (o->mem)
		x86_write_lin_u(cpu, o->lin, size, v, x86_user(cpu));
	else
		x86_reg_write(cpu, in, o->reg, size, v);
}

static inline uint64_t rm_read(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	if (in->mod == 3)
		return x86_reg_read(cpu, in, in->rm, size);
	return x86_mem_read(cpu, in->seg, x86_ea(cpu, in), size);
}

static inline void rm_write(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size,
			    uint64_t v)
{
	if (in->mod == 3)
		x86_reg_write(cpu, in, in->rm, size, v);
	else
		x86_mem_write(cpu, in->seg, x86_ea(cpu, in), size, v);
}

/* ---- arithmetic ---- */

/* always inline where op is a constant (the specialised executors), so
 * the switch folds away; alu() is the out-of-line form for the rest */
static inline __attribute__((always_inline)) uint64_t alu_op(struct x86_cpu *cpu, unsigned op,
							     unsigned size, uint64_t a, uint64_t b)
{
	uint64_t m = x86_mask(size), r;
	a &= m;
	b &= m;
	switch (op & 7) {
	case 0: r = a + b; x86_set_cc(cpu, X86_CC_ADD, size, r, a, b); break;
	case 1: r = a | b; x86_set_cc(cpu, X86_CC_LOGIC, size, r, 0, 0); break;
	case 2: {
		bool c = x86_get_cf(cpu);
		r = a + b + c;
		cpu->cc_carry = c;
		x86_set_cc(cpu, X86_CC_ADC, size, r, a, b);
		break;
	}
	case 3: {
		bool c = x86_get_cf(cpu);
		r = a - b - c;
		cpu->cc_carry = c;
		x86_set_cc(cpu, X86_CC_SBB, size, r, a, b);
		break;
	}
	case 4: r = a & b; x86_set_cc(cpu, X86_CC_LOGIC, size, r, 0, 0); break;
	case 5:
	case 7: r = a - b; x86_set_cc(cpu, X86_CC_SUB, size, r, a, b); break;
	default: r = a ^ b; x86_set_cc(cpu, X86_CC_LOGIC, size, r, 0, 0); break;
	}
	return r & m;
}

static uint64_t alu(struct x86_cpu *cpu, unsigned op, unsigned size, uint64_t a, uint64_t b)
{
	return alu_op(cpu, op, size, a, b);
}

static void set_flags_bits(struct x86_cpu *cpu, uint64_t set, uint64_t clear)
{
	uint64_t f = x86_compute_arith_flags(cpu);
	x86_set_arith_flags(cpu, (f & ~clear) | set);
}

#define szp_flags x86_szp_flags

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
	uint64_t f = szp_flags(r, size);
	if (cf)
		f |= X86_RFLAGS_CF;
	if (!!(r & sign) != !!(a & sign))
		f |= X86_RFLAGS_OF;
	x86_set_arith_flags(cpu, f);
	return r;
}

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

/* ---- control flow ---- */

static void near_branch(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t target)
{
	if (cpu->mode == X86_MODE_LONG64) {
		if (in->opsize != 8)
			target &= x86_mask(in->opsize);
		if (!x86_canonical(target))
			gp0(cpu);
	} else {
		target &= x86_mask(in->opsize);
		if (target > cpu->seg[X86_CS].limit)
			gp0(cpu);
	}
	cpu->next_rip = target;
}

static unsigned push_size(const struct x86_insn *in)
{
	return in->opsize;
}

static int jump_rel(struct x86_cpu *cpu, const struct x86_insn *in)
{
	near_branch(cpu, in, cpu->next_rip + in->imm);
	return X86_EXEC_END_BLOCK;
}

static uint64_t counter_read(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return cpu->gpr[X86_RCX] & x86_mask(in->addrsize);
}

static void counter_write(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t v)
{
	x86_reg_write(cpu, in, X86_RCX, in->addrsize, v);
}

/* ---- BCD ---- */

static void bcd_op(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = x86_compute_arith_flags(cpu);
	uint8_t al = cpu->gpr[X86_RAX] & 0xff, old_al = al;
	bool cf = f & X86_RFLAGS_CF, af = f & X86_RFLAGS_AF;
	switch (in->opcode) {
	case 0x27: /* daa */
		if ((al & 0xf) > 9 || af) {
			al += 6;
			cf = cf || old_al > 0xf9;
			af = true;
		} else {
			af = false;
		}
		if (old_al > 0x99 || (f & X86_RFLAGS_CF)) {
			al += 0x60;
			cf = true;
		} else {
			cf = false;
		}
		break;
	case 0x2f: /* das */
		if ((al & 0xf) > 9 || af) {
			al -= 6;
			cf = cf || old_al < 6;
			af = true;
		} else {
			af = false;
		}
		if (old_al > 0x99 || (f & X86_RFLAGS_CF)) {
			al -= 0x60;
			cf = true;
		}
		break;
	case 0x37: /* aaa */
	case 0x3f: { /* aas */
		uint16_t ax = cpu->gpr[X86_RAX] & 0xffff;
		if ((al & 0xf) > 9 || af) {
			if (in->opcode == 0x37)
				ax = (uint16_t)(ax + 0x106);
			else
				ax = (uint16_t)(((ax - 6) & 0xff) | ((((ax >> 8) - 1) & 0xff) << 8));
			af = cf = true;
		} else {
			af = cf = false;
		}
		ax &= 0xff0f;
		cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | ax;
		f = szp_flags(ax & 0xff, 1);
		goto flags;
	}
	}
	cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffull) | al;
	f = szp_flags(al, 1);
flags:
	if (cf)
		f |= X86_RFLAGS_CF;
	if (af)
		f |= X86_RFLAGS_AF;
	x86_set_arith_flags(cpu, f);
}

/* ---- the one-byte map ---- */

static inline int alu_form(struct x86_cpu *cpu, const struct x86_insn *in, unsigned aop);

static int exec_1b(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	unsigned size = osize(in);
	struct operand o;
	uint64_t a, b, r;

	switch (op) {
	case 0x00 ... 0x05: case 0x08 ... 0x0d: case 0x10 ... 0x15: case 0x18 ... 0x1d:
	case 0x20 ... 0x25: case 0x28 ... 0x2d: case 0x30 ... 0x35: case 0x38 ... 0x3d: {
		/* reached with a lock prefix; the plain forms have fast executors */
		return alu_form(cpu, in, op >> 3);
	}
	case 0x06: x86_push(cpu, push_size(in) , cpu->seg[X86_ES].selector); return 0;
	case 0x0e: x86_push(cpu, push_size(in), cpu->seg[X86_CS].selector); return 0;
	case 0x16: x86_push(cpu, push_size(in), cpu->seg[X86_SS].selector); return 0;
	case 0x1e: x86_push(cpu, push_size(in), cpu->seg[X86_DS].selector); return 0;
	case 0x07: case 0x17: case 0x1f: {
		int seg = op == 0x07 ? X86_ES : op == 0x17 ? X86_SS : X86_DS;
		uint64_t sp = x86_get_sp(cpu);
		uint16_t sel = (uint16_t)x86_mem_read(cpu, X86_SS, sp, in->opsize);
		x86_load_seg(cpu, seg, sel);
		x86_set_sp(cpu, sp + in->opsize);
		if (seg == X86_SS) {
			cpu->intr_shadow = true;
			return X86_EXEC_END_BLOCK;
		}
		return 0;
	}
	case 0x27: case 0x2f: case 0x37: case 0x3f:
		bcd_op(cpu, in);
		return 0;
	case 0x40 ... 0x47:
	case 0x48 ... 0x4f: {
		unsigned reg = op & 7;
		bool c = x86_get_cf(cpu);
		a = x86_reg_read(cpu, in, reg, size);
		r = op < 0x48 ? a + 1 : a - 1;
		cpu->cc_carry = c;
		x86_set_cc(cpu, op < 0x48 ? X86_CC_INC : X86_CC_DEC, size, r, a, 1);
		x86_reg_write(cpu, in, reg, size, r);
		return 0;
	}
	case 0x50 ... 0x57:
		x86_push(cpu, in->opsize, x86_reg_read(cpu, in, (op & 7) | (in->rex & X86_REX_B ? 8 : 0),
						      in->opsize));
		return 0;
	case 0x58 ... 0x5f:
		r = x86_pop(cpu, in->opsize);
		x86_reg_write(cpu, in, (op & 7) | (in->rex & X86_REX_B ? 8 : 0), in->opsize, r);
		return 0;
	case 0x60: { /* pusha */
		uint64_t sp = x86_get_sp(cpu), m = x86_mask(x86_stack_size(cpu));
		unsigned s = in->opsize;
		for (unsigned i = 0; i < 8; i++)
			x86_mem_write(cpu, X86_SS, (sp - (i + 1) * s) & m, s,
				      i == 4 ? sp : cpu->gpr[i]);
		x86_set_sp(cpu, sp - 8 * s);
		return 0;
	}
	case 0x61: { /* popa */
		uint64_t sp = x86_get_sp(cpu), m = x86_mask(x86_stack_size(cpu));
		unsigned s = in->opsize;
		uint64_t v[8];
		for (unsigned i = 0; i < 8; i++)
			v[7 - i] = x86_mem_read(cpu, X86_SS, (sp + i * s) & m, s);
		for (unsigned i = 0; i < 8; i++)
			if (i != X86_RSP)
				x86_reg_write(cpu, in, i, s, v[i]);
		x86_set_sp(cpu, sp + 8 * s);
		return 0;
	}
	case 0x62: { /* bound */
		if (in->mod == 3)
			ud(cpu);
		uint64_t ea = x86_ea(cpu, in);
		unsigned s = in->opsize;
		int64_t idx = (int64_t)x86_sext(x86_reg_read(cpu, in, in->reg, s), s);
		int64_t lo = (int64_t)x86_sext(x86_mem_read(cpu, in->seg, ea, s), s);
		int64_t hi = (int64_t)x86_sext(x86_mem_read(cpu, in->seg, (ea + s) & x86_mask(in->addrsize), s), s);
		if (idx < lo || idx > hi)
			x86_raise_exception(cpu, X86_EXC_BR, 0);
		return 0;
	}
	case 0x63:
		if (cpu->mode == X86_MODE_LONG64) { /* movsxd */
			r = rm_read(cpu, in, 4);
			x86_reg_write(cpu, in, in->reg, in->opsize, x86_sext(r, 4));
			return 0;
		}
		if (!x86_prot_mode(cpu))
			ud(cpu);
		/* arpl */
		rm_resolve(cpu, in, 2, true, &o);
		a = op_read(cpu, in, &o, 2);
		b = x86_reg_read(cpu, in, in->reg, 2);
		if ((a & 3) < (b & 3)) {
			op_write(cpu, in, &o, 2, (a & ~3ull) | (b & 3));
			set_flags_bits(cpu, X86_RFLAGS_ZF, 0);
		} else {
			set_flags_bits(cpu, 0, X86_RFLAGS_ZF);
		}
		return 0;
	case 0x68:
	case 0x6a:
		x86_push(cpu, in->opsize, in->imm);
		return 0;
	case 0x69:
	case 0x6b:
		r = imul_trunc(cpu, in->opsize, rm_read(cpu, in, in->opsize), in->imm);
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
		return 0;
	case 0x6c ... 0x6f:
	case 0xa4 ... 0xa7:
	case 0xaa ... 0xaf:
		return x86_exec_string(cpu, in);
	case 0x70 ... 0x7f:
		if (x86_cond(cpu, op & 15))
			return jump_rel(cpu, in);
		return X86_EXEC_END_BLOCK;
	case 0x80 ... 0x83: {
		unsigned aop = in->reg & 7;
		rm_resolve(cpu, in, size, aop != 7, &o);
		a = op_read(cpu, in, &o, size);
		r = alu(cpu, aop, size, a, in->imm);
		if (aop != 7)
			op_write(cpu, in, &o, size, r);
		return 0;
	}
	case 0x84:
	case 0x85:
		alu(cpu, 4, size, rm_read(cpu, in, size), x86_reg_read(cpu, in, in->reg, size));
		return 0;
	case 0x86:
	case 0x87:
		rm_resolve(cpu, in, size, true, &o);
		a = op_read(cpu, in, &o, size);
		b = x86_reg_read(cpu, in, in->reg, size);
		op_write(cpu, in, &o, size, b);
		x86_reg_write(cpu, in, in->reg, size, a);
		return 0;
	case 0x88:
	case 0x89:
		rm_write(cpu, in, size, x86_reg_read(cpu, in, in->reg, size));
		return 0;
	case 0x8a:
	case 0x8b:
		x86_reg_write(cpu, in, in->reg, size, rm_read(cpu, in, size));
		return 0;
	case 0x8c: {
		unsigned sr = in->reg & 7;
		if (sr > 5)
			ud(cpu);
		uint16_t sel = cpu->seg[sr].selector;
		if (in->mod == 3)
			x86_reg_write(cpu, in, in->rm, in->opsize, sel);
		else
			rm_write(cpu, in, 2, sel);
		return 0;
	}
	case 0x8d:
		if (in->mod == 3)
			ud(cpu);
		x86_reg_write(cpu, in, in->reg, in->opsize, x86_ea(cpu, in));
		return 0;
	case 0x8e: {
		unsigned sr = in->reg & 7;
		if (sr > 5 || sr == X86_CS)
			ud(cpu);
		uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
		x86_load_seg(cpu, (int)sr, sel);
		if (sr == X86_SS) {
			cpu->intr_shadow = true;
			return X86_EXEC_END_BLOCK;
		}
		return 0;
	}
	case 0x8f: {
		if (in->reg & 7)
			ud(cpu);
		uint64_t sp = x86_get_sp(cpu);
		r = x86_mem_read(cpu, X86_SS, sp, in->opsize);
		uint64_t old_rsp = cpu->gpr[X86_RSP];
		x86_set_sp(cpu, sp + in->opsize);
		if (in->mod == 3) {
			x86_reg_write(cpu, in, in->rm, in->opsize, r);
		} else {
			/* the address is computed with the incremented stack pointer */
			uint64_t ea = x86_ea(cpu, in);
			uint64_t lin;
			/* undo the pop if the store faults */
			uint64_t new_rsp = cpu->gpr[X86_RSP];
			cpu->gpr[X86_RSP] = old_rsp;
			lin = x86_seg_linear(cpu, in->seg, ea, in->opsize, true);
			x86_write_lin_u(cpu, lin, in->opsize, r, x86_user(cpu));
			cpu->gpr[X86_RSP] = new_rsp;
		}
		return 0;
	}
	case 0x90 ... 0x97: {
		unsigned reg = (op & 7) | (in->rex & X86_REX_B ? 8 : 0);
		if (reg == 0) /* nop, pause */
			return 0;
		a = x86_reg_read(cpu, in, reg, in->opsize);
		x86_reg_write(cpu, in, reg, in->opsize, x86_reg_read(cpu, in, X86_RAX, in->opsize));
		x86_reg_write(cpu, in, X86_RAX, in->opsize, a);
		return 0;
	}
	case 0x98:
		if (in->opsize == 2)
			x86_reg_write(cpu, in, X86_RAX, 2, x86_sext(cpu->gpr[X86_RAX], 1));
		else if (in->opsize == 4)
			x86_reg_write(cpu, in, X86_RAX, 4, x86_sext(cpu->gpr[X86_RAX], 2));
		else
			cpu->gpr[X86_RAX] = x86_sext(cpu->gpr[X86_RAX], 4);
		return 0;
	case 0x99: {
		unsigned s = in->opsize;
		bool neg = cpu->gpr[X86_RAX] & (1ull << (s * 8 - 1));
		x86_reg_write(cpu, in, X86_RDX, s, neg ? ~0ull : 0);
		return 0;
	}
	case 0x9a:
		x86_far_call(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
		return X86_EXEC_END_BLOCK;
	case 0x9b:
	case 0xd8 ... 0xdf: {
		int ret = x86_exec_x87(cpu, in);
		if (ret < 0)
			ud(cpu);
		return ret;
	}
	case 0x9c: { /* pushf */
		if ((cpu->rflags & X86_RFLAGS_VM) && ((cpu->rflags >> 12) & 3) != 3)
			gp0(cpu);
		uint64_t f = x86_cpu_get_rflags(cpu) & ~(X86_RFLAGS_VM | X86_RFLAGS_RF);
		x86_push(cpu, in->opsize, f);
		return 0;
	}
	case 0x9d: { /* popf */
		unsigned iopl = (cpu->rflags >> 12) & 3;
		if ((cpu->rflags & X86_RFLAGS_VM) && iopl != 3)
			gp0(cpu);
		uint64_t nf = x86_pop(cpu, in->opsize);
		uint64_t old = x86_cpu_get_rflags(cpu);
		uint64_t mask = X86_ARITH_FLAGS | X86_RFLAGS_TF | X86_RFLAGS_DF | X86_RFLAGS_NT |
				X86_RFLAGS_AC | X86_RFLAGS_ID;
		if (cpu->cpl == 0 && !(cpu->rflags & X86_RFLAGS_VM))
			mask |= X86_RFLAGS_IOPL;
		if (cpu->cpl <= iopl)
			mask |= X86_RFLAGS_IF;
		if (in->opsize == 2)
			mask &= 0xffff;
		x86_cpu_set_rflags(cpu, ((old & ~mask) | (nf & mask)) & ~X86_RFLAGS_RF);
		return X86_EXEC_END_BLOCK;	/* IF or TF may have changed */
	}
	case 0x9e: { /* sahf */
		uint64_t ah = (cpu->gpr[X86_RAX] >> 8) & 0xff;
		uint64_t mask = X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | X86_RFLAGS_PF |
				X86_RFLAGS_CF;
		set_flags_bits(cpu, ah & mask, mask);
		return 0;
	}
	case 0x9f: { /* lahf */
		uint64_t f = x86_cpu_get_rflags(cpu) & 0xff;
		cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xff00ull) | (f << 8);
		return 0;
	}
	case 0xa0 ... 0xa3: {
		uint64_t off = (uint64_t)in->disp & x86_mask(in->addrsize);
		if (op < 0xa2)
			x86_reg_write(cpu, in, X86_RAX, size, x86_mem_read(cpu, in->seg, off, size));
		else
			x86_mem_write(cpu, in->seg, off, size, x86_reg_read(cpu, in, X86_RAX, size));
		return 0;
	}
	case 0xa8:
	case 0xa9:
		alu(cpu, 4, size, x86_reg_read(cpu, in, X86_RAX, size), in->imm);
		return 0;
	case 0xb0 ... 0xb7:
		x86_reg_write(cpu, in, (op & 7) | (in->rex & X86_REX_B ? 8 : 0), 1, in->imm);
		return 0;
	case 0xb8 ... 0xbf:
		x86_reg_write(cpu, in, (op & 7) | (in->rex & X86_REX_B ? 8 : 0), in->opsize, in->imm);
		return 0;
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
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
	case 0xc2:
	case 0xc3: {
		uint64_t sp = x86_get_sp(cpu);
		uint64_t target = x86_mem_read(cpu, X86_SS, sp, in->opsize);
		near_branch(cpu, in, target);
		x86_set_sp(cpu, sp + in->opsize + (op == 0xc2 ? (uint16_t)in->imm : 0));
		return X86_EXEC_END_BLOCK;
	}
	case 0xc4:
	case 0xc5: {
		if (in->mod == 3)
			ud(cpu);
		uint64_t ea = x86_ea(cpu, in);
		unsigned s = in->opsize;
		uint64_t off = x86_mem_read(cpu, in->seg, ea, s);
		uint16_t sel = (uint16_t)x86_mem_read(cpu, in->seg, (ea + s) & x86_mask(in->addrsize), 2);
		x86_load_seg(cpu, op == 0xc4 ? X86_ES : X86_DS, sel);
		x86_reg_write(cpu, in, in->reg, s, off);
		return 0;
	}
	case 0xc6:
	case 0xc7:
		if (in->reg & 7)
			ud(cpu);
		rm_write(cpu, in, size, in->imm);
		return 0;
	case 0xc8: { /* enter */
		unsigned s = in->opsize;
		unsigned level = (unsigned)in->imm2 & 31;
		uint64_t m = x86_mask(x86_stack_size(cpu));
		uint64_t sp = x86_get_sp(cpu);
		uint64_t bp = cpu->gpr[X86_RBP] & m;
		sp = (sp - s) & m;
		x86_mem_write(cpu, X86_SS, sp, s, cpu->gpr[X86_RBP]);
		uint64_t frame = sp;
		if (level) {
			for (unsigned i = 1; i < level; i++) {
				bp = (bp - s) & m;
				uint64_t v = x86_mem_read(cpu, X86_SS, bp, s);
				sp = (sp - s) & m;
				x86_mem_write(cpu, X86_SS, sp, s, v);
			}
			sp = (sp - s) & m;
			x86_mem_write(cpu, X86_SS, sp, s, frame);
		}
		sp = (sp - (uint16_t)in->imm) & m;
		/* the new stack top must be writable */
		x86_seg_linear(cpu, X86_SS, sp, 1, true);
		x86_reg_write(cpu, in, X86_RBP, s == 2 ? 2 : x86_stack_size(cpu) == 2 ? 2 : s,
			    frame);
		x86_set_sp(cpu, sp);
		return 0;
	}
	case 0xc9: { /* leave */
		unsigned ss = x86_stack_size(cpu);
		uint64_t bp = cpu->gpr[X86_RBP] & x86_mask(ss);
		r = x86_mem_read(cpu, X86_SS, bp, in->opsize);
		x86_set_sp(cpu, bp + in->opsize);
		x86_reg_write(cpu, in, X86_RBP, in->opsize, r);
		return 0;
	}
	case 0xca:
	case 0xcb:
		x86_far_ret(cpu, in->opsize, op == 0xca ? (uint16_t)in->imm : 0);
		return X86_EXEC_END_BLOCK;
	case 0xcc:
		x86_deliver(cpu, X86_EXC_BP, X86_EV_SOFT_INT, false, 0, cpu->next_rip);
		cpu->next_rip = cpu->rip;
		return X86_EXEC_END_BLOCK;
	case 0xcd:
		x86_deliver(cpu, (uint8_t)in->imm, X86_EV_SOFT_INT, false, 0, cpu->next_rip);
		cpu->next_rip = cpu->rip;
		return X86_EXEC_END_BLOCK;
	case 0xce:
		if (!(x86_compute_arith_flags(cpu) & X86_RFLAGS_OF))
			return 0;
		x86_deliver(cpu, X86_EXC_OF, X86_EV_SOFT_INT, false, 0, cpu->next_rip);
		cpu->next_rip = cpu->rip;
		return X86_EXEC_END_BLOCK;
	case 0xf1: /* int1: a trap like a debug exception, no gate DPL check */
		x86_deliver(cpu, X86_EXC_DB, X86_EV_EXCEPTION, false, 0, cpu->next_rip);
		cpu->next_rip = cpu->rip;
		return X86_EXEC_END_BLOCK;
	case 0xcf:
		x86_iret(cpu, in->opsize);
		return X86_EXEC_END_BLOCK;
	case 0xd4: { /* aam */
		uint8_t base = (uint8_t)in->imm;
		if (!base)
			x86_raise_exception(cpu, X86_EXC_DE, 0);
		uint8_t al = cpu->gpr[X86_RAX] & 0xff;
		uint16_t ax = (uint16_t)(((al / base) << 8) | (al % base));
		cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | ax;
		x86_set_arith_flags(cpu, szp_flags(ax & 0xff, 1));
		return 0;
	}
	case 0xd5: { /* aad */
		uint8_t base = (uint8_t)in->imm;
		uint8_t al = cpu->gpr[X86_RAX] & 0xff, ah = (cpu->gpr[X86_RAX] >> 8) & 0xff;
		uint8_t nal = (uint8_t)(al + ah * base);
		cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | nal;
		x86_set_arith_flags(cpu, szp_flags(nal, 1));
		return 0;
	}
	case 0xd7: { /* xlat */
		uint64_t off = (cpu->gpr[X86_RBX] + (cpu->gpr[X86_RAX] & 0xff)) & x86_mask(in->addrsize);
		x86_reg_write(cpu, in, X86_RAX, 1, x86_mem_read(cpu, in->seg, off, 1));
		return 0;
	}
	case 0xe0 ... 0xe2: { /* loopne, loope, loop */
		uint64_t c = (counter_read(cpu, in) - 1) & x86_mask(in->addrsize);
		counter_write(cpu, in, c);
		bool take = c != 0;
		if (op == 0xe0)
			take = take && !x86_cond(cpu, 4);
		else if (op == 0xe1)
			take = take && x86_cond(cpu, 4);
		if (take)
			return jump_rel(cpu, in);
		return X86_EXEC_END_BLOCK;
	}
	case 0xe3:
		if (counter_read(cpu, in) == 0)
			return jump_rel(cpu, in);
		return X86_EXEC_END_BLOCK;
	case 0xe4: case 0xe5: case 0xec: case 0xed: {
		uint16_t port = op < 0xe8 ? (uint8_t)in->imm : (uint16_t)cpu->gpr[X86_RDX];
		unsigned s = size == 8 ? 4 : size;
		x86_io_check(cpu, port, s);
		uint32_t v = x86_io_in(cpu, port, s);
		x86_reg_write(cpu, in, X86_RAX, s, v);
		return 0;
	}
	case 0xe6: case 0xe7: case 0xee: case 0xef: {
		uint16_t port = op < 0xe8 ? (uint8_t)in->imm : (uint16_t)cpu->gpr[X86_RDX];
		unsigned s = size == 8 ? 4 : size;
		x86_io_check(cpu, port, s);
		x86_io_out(cpu, port, s, (uint32_t)cpu->gpr[X86_RAX]);
		return X86_EXEC_END_BLOCK;	/* the device may have raised an interrupt */
	}
	case 0xe8: {
		uint64_t ret = cpu->next_rip;
		near_branch(cpu, in, cpu->next_rip + in->imm);
		x86_push(cpu, in->opsize, ret);
		return X86_EXEC_END_BLOCK;
	}
	case 0xe9:
	case 0xeb:
		return jump_rel(cpu, in);
	case 0xea:
		x86_far_jump(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
		return X86_EXEC_END_BLOCK;
	case 0xf4: /* hlt */
		if (cpu->cpl != 0)
			gp0(cpu);
		cpu->halted = true;
		return X86_EXEC_HLT;
	case 0xf5:
		set_flags_bits(cpu, x86_get_cf(cpu) ? 0 : X86_RFLAGS_CF, X86_RFLAGS_CF);
		return 0;
	case 0xf6:
	case 0xf7:
		switch (in->reg & 7) {
		case 0:
		case 1:
			alu(cpu, 4, size, rm_read(cpu, in, size), in->imm);
			return 0;
		case 2:
			rm_resolve(cpu, in, size, true, &o);
			op_write(cpu, in, &o, size, ~op_read(cpu, in, &o, size));
			return 0;
		case 3:
			rm_resolve(cpu, in, size, true, &o);
			a = op_read(cpu, in, &o, size);
			r = (0 - a) & x86_mask(size);
			x86_set_cc(cpu, X86_CC_NEG, size, r, a, 0);
			op_write(cpu, in, &o, size, r);
			return 0;
		default:
			group3_muldiv(cpu, in, size, rm_read(cpu, in, size));
			return 0;
		}
	case 0xf8: set_flags_bits(cpu, 0, X86_RFLAGS_CF); return 0;
	case 0xf9: set_flags_bits(cpu, X86_RFLAGS_CF, 0); return 0;
	case 0xfa: /* cli */
	case 0xfb: { /* sti */
		unsigned iopl = (cpu->rflags >> 12) & 3;
		if ((cpu->cr0 & X86_CR0_PE) && cpu->cpl > iopl)
			gp0(cpu);
		if (op == 0xfa) {
			cpu->rflags &= ~X86_RFLAGS_IF;
			return 0;
		}
		if (!(cpu->rflags & X86_RFLAGS_IF))
			cpu->intr_shadow = true;
		cpu->rflags |= X86_RFLAGS_IF;
		return X86_EXEC_END_BLOCK;
	}
	case 0xfc: cpu->rflags &= ~X86_RFLAGS_DF; return 0;
	case 0xfd: cpu->rflags |= X86_RFLAGS_DF; return 0;
	case 0xfe:
	case 0xff: {
		unsigned sub = in->reg & 7;
		if (sub < 2) {
			rm_resolve(cpu, in, size, true, &o);
			a = op_read(cpu, in, &o, size);
			bool c = x86_get_cf(cpu);
			r = (sub == 0 ? a + 1 : a - 1) & x86_mask(size);
			cpu->cc_carry = c;
			x86_set_cc(cpu, sub == 0 ? X86_CC_INC : X86_CC_DEC, size, r, a, 1);
			op_write(cpu, in, &o, size, r);
			return 0;
		}
		if (op == 0xfe)
			ud(cpu);
		switch (sub) {
		case 2: { /* call near indirect */
			uint64_t target = rm_read(cpu, in, in->opsize);
			uint64_t ret = cpu->next_rip;
			near_branch(cpu, in, target);
			x86_push(cpu, in->opsize, ret);
			return X86_EXEC_END_BLOCK;
		}
		case 4:
			near_branch(cpu, in, rm_read(cpu, in, in->opsize));
			return X86_EXEC_END_BLOCK;
		case 3:
		case 5: {
			if (in->mod == 3)
				ud(cpu);
			uint64_t ea = x86_ea(cpu, in);
			unsigned s = in->opsize;
			uint64_t off = x86_mem_read(cpu, in->seg, ea, s);
			uint16_t sel = (uint16_t)x86_mem_read(cpu, in->seg,
							      (ea + s) & x86_mask(in->addrsize), 2);
			if (sub == 3)
				x86_far_call(cpu, sel, off, s);
			else
				x86_far_jump(cpu, sel, off, s);
			return X86_EXEC_END_BLOCK;
		}
		case 6:
			x86_push(cpu, in->opsize, rm_read(cpu, in, in->opsize));
			return 0;
		default:
			ud(cpu);
		}
	}
	default:
		ud(cpu);
	}
}

/* ---- the 0F map ---- */

static int bit_op(struct x86_cpu *cpu, const struct x86_insn *in, unsigned kind, uint64_t bitoff,
		  bool reg_offset)
{
	unsigned size = in->opsize, bits = size * 8;
	uint64_t a, r;
	bool bit;
	if (in->mod == 3) {
		unsigned n = bitoff & (bits - 1);
		a = x86_reg_read(cpu, in, in->rm, size);
		bit = (a >> n) & 1;
		r = kind == 1 ? a | (1ull << n) : kind == 2 ? a & ~(1ull << n) : a ^ (1ull << n);
		if (kind)
			x86_reg_write(cpu, in, in->rm, size, r);
	} else {
		uint64_t ea = x86_ea(cpu, in);
		if (reg_offset) {
			int64_t off = (int64_t)x86_sext(bitoff, size);
			ea += (uint64_t)((off >> (bits == 16 ? 4 : bits == 32 ? 5 : 6)) * (int64_t)size);
			ea &= x86_mask(in->addrsize);
		}
		unsigned n = bitoff & (bits - 1);
		uint64_t lin = x86_seg_linear(cpu, in->seg, ea, size, kind != 0);
		a = x86_read_lin_u(cpu, lin, size, x86_user(cpu));
		bit = (a >> n) & 1;
		r = kind == 1 ? a | (1ull << n) : kind == 2 ? a & ~(1ull << n) : a ^ (1ull << n);
		if (kind)
			x86_write_lin_u(cpu, lin, size, r, x86_user(cpu));
	}
	set_flags_bits(cpu, bit ? X86_RFLAGS_CF : 0, X86_RFLAGS_CF);
	return 0;
}

static void bitscan_flags(struct x86_cpu *cpu, bool zf, bool cf)
{
	uint64_t f = x86_compute_arith_flags(cpu) & ~(X86_RFLAGS_ZF | X86_RFLAGS_CF);
	if (zf)
		f |= X86_RFLAGS_ZF;
	if (cf)
		f |= X86_RFLAGS_CF;
	x86_set_arith_flags(cpu, f);
}

static int exec_0f(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	unsigned size = osize(in);
	struct operand o;
	uint64_t a, b, r;

	switch (op) {
	case 0x10 ... 0x17:
	case 0x28 ... 0x2f:
	case 0x50 ... 0x7f:
	case 0xc2 ... 0xc6:
	case 0xd0 ... 0xfe: {
		int ret = x86_exec_sse(cpu, in);
		if (ret < 0)
			ud(cpu);
		return ret;
	}
	case 0xff:
	case 0x0b:
	case 0xb9:
		ud(cpu);
	case 0x0d:
	case 0x18 ... 0x1f: /* prefetch, hint nops, endbr */
		return 0;
	case 0x40 ... 0x4f:
		r = rm_read(cpu, in, in->opsize);
		if (x86_cond(cpu, op & 15))
			x86_reg_write(cpu, in, in->reg, in->opsize, r);
		else if (in->opsize == 4)
			x86_reg_write(cpu, in, in->reg, 4, x86_reg_read(cpu, in, in->reg, 4));
		return 0;
	case 0x80 ... 0x8f:
		if (x86_cond(cpu, op & 15))
			return jump_rel(cpu, in);
		return X86_EXEC_END_BLOCK;
	case 0x90 ... 0x9f:
		rm_write(cpu, in, 1, x86_cond(cpu, op & 15));
		return 0;
	case 0xa0: x86_push(cpu, in->opsize, cpu->seg[X86_FS].selector); return 0;
	case 0xa8: x86_push(cpu, in->opsize, cpu->seg[X86_GS].selector); return 0;
	case 0xa1:
	case 0xa9: {
		uint64_t sp = x86_get_sp(cpu);
		uint16_t sel = (uint16_t)x86_mem_read(cpu, X86_SS, sp, in->opsize);
		x86_load_seg(cpu, op == 0xa1 ? X86_FS : X86_GS, sel);
		x86_set_sp(cpu, sp + in->opsize);
		return 0;
	}
	case 0xa3: return bit_op(cpu, in, 0, x86_reg_read(cpu, in, in->reg, in->opsize), true);
	case 0xab: return bit_op(cpu, in, 1, x86_reg_read(cpu, in, in->reg, in->opsize), true);
	case 0xb3: return bit_op(cpu, in, 2, x86_reg_read(cpu, in, in->reg, in->opsize), true);
	case 0xbb: return bit_op(cpu, in, 3, x86_reg_read(cpu, in, in->reg, in->opsize), true);
	case 0xba:
		if ((in->reg & 7) < 4)
			ud(cpu);
		return bit_op(cpu, in, (in->reg & 7) - 4, (uint8_t)in->imm, false);
	case 0xa4: case 0xa5: case 0xac: case 0xad: {
		unsigned count = (op & 1) ? (unsigned)(cpu->gpr[X86_RCX] & 0xff) : (uint8_t)in->imm;
		size = in->opsize;
		rm_resolve(cpu, in, size, true, &o);
		a = op_read(cpu, in, &o, size);
		b = x86_reg_read(cpu, in, in->reg, size);
		r = shld_op(cpu, op >= 0xac, size, a, b, count);
		if ((count & (size == 8 ? 0x3f : 0x1f)) || !o.mem)
			op_write(cpu, in, &o, size, r);
		return 0;
	}
	case 0xaf:
		r = imul_trunc(cpu, in->opsize, x86_reg_read(cpu, in, in->reg, in->opsize),
			       rm_read(cpu, in, in->opsize));
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
		return 0;
	case 0xb0:
	case 0xb1: { /* cmpxchg */
		rm_resolve(cpu, in, size, true, &o);
		a = op_read(cpu, in, &o, size);
		uint64_t acc = x86_reg_read(cpu, in, X86_RAX, size);
		alu(cpu, 7, size, acc, a);
		if (acc == a) {
			op_write(cpu, in, &o, size, x86_reg_read(cpu, in, in->reg, size));
		} else {
			/* memory is written back even when unequal (the locked
			 * cycle); a register destination is left alone */
			if (o.mem)
				op_write(cpu, in, &o, size, a);
			x86_reg_write(cpu, in, X86_RAX, size, a);
		}
		return 0;
	}
	case 0xb2: case 0xb4: case 0xb5: {
		if (in->mod == 3)
			ud(cpu);
		uint64_t ea = x86_ea(cpu, in);
		unsigned s = in->opsize;
		uint64_t off = x86_mem_read(cpu, in->seg, ea, s);
		uint16_t sel = (uint16_t)x86_mem_read(cpu, in->seg, (ea + s) & x86_mask(in->addrsize), 2);
		x86_load_seg(cpu, op == 0xb2 ? X86_SS : op == 0xb4 ? X86_FS : X86_GS, sel);
		x86_reg_write(cpu, in, in->reg, s, off);
		return 0;
	}
	case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
		unsigned ss = (op & 1) ? 2 : 1;
		r = rm_read(cpu, in, ss);
		if (op >= 0xbe)
			r = x86_sext(r, ss);
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
		return 0;
	}
	case 0xb8: { /* popcnt */
		if (in->mandatory != 0xf3)
			ud(cpu);
		a = rm_read(cpu, in, in->opsize);
		r = (uint64_t)__builtin_popcountll(a);
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
		x86_set_arith_flags(cpu, a ? 0 : X86_RFLAGS_ZF);
		return 0;
	}
	case 0xbc: /* bsf (tzcnt is not reported: F3 is ignored, as on older parts) */
		a = rm_read(cpu, in, in->opsize);
		if (a)
			x86_reg_write(cpu, in, in->reg, in->opsize, (uint64_t)__builtin_ctzll(a));
		bitscan_flags(cpu, !a, false);
		return 0;
	case 0xbd: {
		unsigned bits = in->opsize * 8;
		a = rm_read(cpu, in, in->opsize);
		if (in->mandatory == 0xf3) { /* lzcnt */
			r = a ? (uint64_t)(__builtin_clzll(a) - (64 - (int)bits)) : bits;
			x86_reg_write(cpu, in, in->reg, in->opsize, r);
			bitscan_flags(cpu, r == 0, a == 0);
			return 0;
		}
		if (a)
			x86_reg_write(cpu, in, in->reg, in->opsize, (uint64_t)(63 - __builtin_clzll(a)));
		bitscan_flags(cpu, !a, false);
		return 0;
	}
	case 0xc0:
	case 0xc1: /* xadd */
		rm_resolve(cpu, in, size, true, &o);
		a = op_read(cpu, in, &o, size);
		b = x86_reg_read(cpu, in, in->reg, size);
		r = alu(cpu, 0, size, a, b);
		x86_reg_write(cpu, in, in->reg, size, a);
		op_write(cpu, in, &o, size, r);
		return 0;
	case 0xc7: {
		unsigned sub = in->reg & 7;
		if (sub != 1 || in->mod == 3)
			ud(cpu);
		uint64_t ea = x86_ea(cpu, in);
		if (in->rex & X86_REX_W) { /* cmpxchg16b */
			/* the alignment of the linear address, segment base included */
			uint64_t lin = x86_seg_linear(cpu, in->seg, ea, 16, true);
			if (lin & 15)
				gp0(cpu);
			uint64_t v[2];
			x86_read_lin(cpu, lin, v, 16, x86_user(cpu));
			bool eq = v[0] == cpu->gpr[X86_RAX] && v[1] == cpu->gpr[X86_RDX];
			if (eq) {
				uint64_t nv[2] = { cpu->gpr[X86_RBX], cpu->gpr[X86_RCX] };
				x86_write_lin(cpu, lin, nv, 16, x86_user(cpu));
			} else {
				x86_write_lin(cpu, lin, v, 16, x86_user(cpu));
				cpu->gpr[X86_RAX] = v[0];
				cpu->gpr[X86_RDX] = v[1];
			}
			set_flags_bits(cpu, eq ? X86_RFLAGS_ZF : 0, X86_RFLAGS_ZF);
		} else { /* cmpxchg8b */
			uint64_t lin = x86_seg_linear(cpu, in->seg, ea, 8, true);
			uint64_t v = x86_read_lin_u(cpu, lin, 8, x86_user(cpu));
			uint64_t cmp = (cpu->gpr[X86_RAX] & 0xffffffffull) | (cpu->gpr[X86_RDX] << 32);
			bool eq = v == cmp;
			if (eq) {
				x86_write_lin_u(cpu, lin, 8, (cpu->gpr[X86_RBX] & 0xffffffffull) |
							     (cpu->gpr[X86_RCX] << 32), x86_user(cpu));
			} else {
				x86_write_lin_u(cpu, lin, 8, v, x86_user(cpu));
				cpu->gpr[X86_RAX] = (uint32_t)v;
				cpu->gpr[X86_RDX] = v >> 32;
			}
			set_flags_bits(cpu, eq ? X86_RFLAGS_ZF : 0, X86_RFLAGS_ZF);
		}
		return 0;
	}
	case 0xc8 ... 0xcf: {
		unsigned reg = (op & 7) | (in->rex & X86_REX_B ? 8 : 0);
		if (in->opsize == 2)
			x86_reg_write(cpu, in, reg, 2, 0);
		else if (in->opsize == 4)
			x86_reg_write(cpu, in, reg, 4, __builtin_bswap32((uint32_t)cpu->gpr[reg]));
		else
			cpu->gpr[reg] = __builtin_bswap64(cpu->gpr[reg]);
		return 0;
	}
	default:
		return x86_exec_system(cpu, in);
	}
}

static int exec_0f38(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if ((in->opcode == 0xf0 || in->opcode == 0xf1) && in->mandatory != 0xf2) {
		/* movbe */
		if (in->mod == 3)
			ud(cpu);
		unsigned s = in->opsize;
		uint64_t v;
		if (in->opcode == 0xf0) {
			v = rm_read(cpu, in, s);
			v = s == 2 ? __builtin_bswap16((uint16_t)v) : s == 4 ? __builtin_bswap32((uint32_t)v) :
			    __builtin_bswap64(v);
			x86_reg_write(cpu, in, in->reg, s, v);
		} else {
			v = x86_reg_read(cpu, in, in->reg, s);
			v = s == 2 ? __builtin_bswap16((uint16_t)v) : s == 4 ? __builtin_bswap32((uint32_t)v) :
			    __builtin_bswap64(v);
			rm_write(cpu, in, s, v);
		}
		return 0;
	}
	int ret = x86_exec_sse(cpu, in);
	if (ret < 0)
		ud(cpu);
	return ret;
}

/* LOCK is allowed only on a memory destination of these */
static bool lock_allowed(const struct x86_insn *in)
{
	if (in->mod == 3 || !in->has_modrm)
		return false;
	if (in->map == X86_MAP_1B) {
		uint8_t op = in->opcode;
		if (op < 0x40)
			return (op & 7) < 2 && (op >> 3) != 7;
		if (op >= 0x80 && op <= 0x83)
			return (in->reg & 7) != 7;
		if (op == 0x86 || op == 0x87)
			return true;
		if (op == 0xf6 || op == 0xf7)
			return (in->reg & 7) == 2 || (in->reg & 7) == 3;
		if (op == 0xfe || op == 0xff)
			return (in->reg & 7) < 2;
		return false;
	}
	if (in->map == X86_MAP_0F) {
		switch (in->opcode) {
		case 0xab: case 0xb3: case 0xbb: case 0xb0: case 0xb1: case 0xc0: case 0xc1:
			return true;
		case 0xba: return (in->reg & 7) >= 5;
		case 0xc7: return (in->reg & 7) == 1;
		default: return false;
		}
	}
	return false;
}

int x86_exec(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (__builtin_expect(in->prefixes & X86_PFX_LOCK, 0) && !lock_allowed(in))
		ud(cpu);
	switch (in->map) {
	case X86_MAP_1B: return exec_1b(cpu, in);
	case X86_MAP_0F: return exec_0f(cpu, in);
	case X86_MAP_0F38: return exec_0f38(cpu, in);
	default: {
		int ret = x86_exec_sse(cpu, in);
		if (ret < 0)
			ud(cpu);
		return ret;
	}
	}
}

/* ---- specialised executors, chosen once per instruction at translation:
 * the common integer forms skip the two-level opcode dispatch ---- */

/* 00-3D with the operation fixed at translation (alu_op inlines with a
 * constant op); adc and sbb keep the generic fast_alu */
static inline __attribute__((always_inline)) int alu_form(struct x86_cpu *cpu,
							  const struct x86_insn *in, unsigned aop)
{
	const unsigned size = osize(in);
	struct operand o;
	uint64_t r;
	switch (in->opcode & 7) {
	case 0:
	case 1:
		if (in->mod == 3) {
			r = alu_op(cpu, aop, size, x86_reg_read(cpu, in, in->rm, size),
				x86_reg_read(cpu, in, in->reg, size));
			if (aop != 7)
				x86_reg_write(cpu, in, in->rm, size, r);
			return 0;
		}
		rm_resolve(cpu, in, size, aop != 7, &o);
		r = alu_op(cpu, aop, size, op_read(cpu, in, &o, size), x86_reg_read(cpu, in, in->reg, size));
		if (aop != 7)
			op_write(cpu, in, &o, size, r);
		return 0;
	case 2:
	case 3:
		r = alu_op(cpu, aop, size, x86_reg_read(cpu, in, in->reg, size), rm_read(cpu, in, size));
		if (aop != 7)
			x86_reg_write(cpu, in, in->reg, size, r);
		return 0;
	default:
		r = alu_op(cpu, aop, size, x86_reg_read(cpu, in, X86_RAX, size), in->imm);
		if (aop != 7)
			x86_reg_write(cpu, in, X86_RAX, size, r);
		return 0;
	}
}

/* adc and sbb: the operation from the opcode at run time */
static int fast_alu(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return alu_form(cpu, in, in->opcode >> 3);
}

#define FAST_ALU(aop, name) \
	static int fast_alu_##name(struct x86_cpu *cpu, const struct x86_insn *in) \
	{ return alu_form(cpu, in, aop); }
FAST_ALU(0, add)
FAST_ALU(1, or)
FAST_ALU(4, and)
FAST_ALU(5, sub)
FAST_ALU(6, xor)
FAST_ALU(7, cmp)
#undef FAST_ALU

static int fast_grp1(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const unsigned aop = in->reg & 7, size = osize(in);
	struct operand o;
	rm_resolve(cpu, in, size, aop != 7, &o);
	uint64_t r = alu(cpu, aop, size, op_read(cpu, in, &o, size), in->imm);
	if (aop != 7)
		op_write(cpu, in, &o, size, r);
	return 0;
}

/* 80-83 with the operation fixed at translation: cmp, add, sub, and with
 * an immediate are among the most frequent instructions of all */
static inline __attribute__((always_inline)) int grp1_op(struct x86_cpu *cpu,
							 const struct x86_insn *in, unsigned aop)
{
	const unsigned size = osize(in);
	if (in->mod == 3) {
		uint64_t r = alu_op(cpu, aop, size, x86_reg_read(cpu, in, in->rm, size), in->imm);
		if (aop != 7)
			x86_reg_write(cpu, in, in->rm, size, r);
		return 0;
	}
	struct operand o;
	rm_resolve(cpu, in, size, aop != 7, &o);
	uint64_t r = alu_op(cpu, aop, size, op_read(cpu, in, &o, size), in->imm);
	if (aop != 7)
		op_write(cpu, in, &o, size, r);
	return 0;
}

static int fast_grp1_add(struct x86_cpu *cpu, const struct x86_insn *in) { return grp1_op(cpu, in, 0); }
static int fast_grp1_and(struct x86_cpu *cpu, const struct x86_insn *in) { return grp1_op(cpu, in, 4); }
static int fast_grp1_sub(struct x86_cpu *cpu, const struct x86_insn *in) { return grp1_op(cpu, in, 5); }
static int fast_grp1_cmp(struct x86_cpu *cpu, const struct x86_insn *in) { return grp1_op(cpu, in, 7); }

static int fast_test(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const unsigned size = osize(in);
	alu(cpu, 4, size, rm_read(cpu, in, size), x86_reg_read(cpu, in, in->reg, size));
	return 0;
}

static int fast_mov_store(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const unsigned size = osize(in);
	rm_write(cpu, in, size, x86_reg_read(cpu, in, in->reg, size));
	return 0;
}

static int fast_mov_load(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const unsigned size = osize(in);
	x86_reg_write(cpu, in, in->reg, size, rm_read(cpu, in, size));
	return 0;
}

/* mov with the operand size fixed at translation, so the size switches
 * of the register and memory helpers fold away: the 32- and 64-bit forms
 * are most moves in 64-bit code */
static int fast_mov_store4(struct x86_cpu *cpu, const struct x86_insn *in)
{
	rm_write(cpu, in, 4, x86_reg_read(cpu, in, in->reg, 4));
	return 0;
}

static int fast_mov_store8(struct x86_cpu *cpu, const struct x86_insn *in)
{
	rm_write(cpu, in, 8, x86_reg_read(cpu, in, in->reg, 8));
	return 0;
}

static int fast_mov_load4(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, in->reg, 4, rm_read(cpu, in, 4));
	return 0;
}

static int fast_mov_load8(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, in->reg, 8, rm_read(cpu, in, 8));
	return 0;
}

static int fast_lea(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, in->reg, in->opsize, x86_ea(cpu, in));
	return 0;
}

static int fast_mov_imm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, (in->opcode & 7) | (in->rex & X86_REX_B ? 8 : 0), osize(in), in->imm);
	return 0;
}

static int fast_push(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned reg = (in->opcode & 7) | (in->rex & X86_REX_B ? 8 : 0);
	x86_push(cpu, in->opsize, x86_reg_read(cpu, in, reg, in->opsize));
	return 0;
}

static int fast_pop(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = x86_pop(cpu, in->opsize);
	x86_reg_write(cpu, in, (in->opcode & 7) | (in->rex & X86_REX_B ? 8 : 0), in->opsize, v);
	return 0;
}

static int fast_jcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (x86_cond(cpu, in->opcode & 15))
		near_branch(cpu, in, cpu->next_rip + in->imm);
	return X86_EXEC_END_BLOCK;
}

/* jcc after cmp or sub, with the condition fixed at translation: most
 * conditional branches, decided from the operands without building the
 * flags or calling x86_cond */
static inline __attribute__((always_inline)) int jcc_op(struct x86_cpu *cpu,
							const struct x86_insn *in, unsigned cc)
{
	bool taken;
	if (cpu->cc_op == X86_CC_SUB) {
		const unsigned bits = cpu->cc_size * 8u;
		const uint64_t m = x86_mask(cpu->cc_size);
		const uint64_t a = cpu->cc_src & m, b = cpu->cc_src2 & m;
		const int64_t sa = (int64_t)(a << (64 - bits)), sb = (int64_t)(b << (64 - bits));
		switch (cc >> 1) {
		case 1: taken = a < b; break;
		case 2: taken = a == b; break;
		case 3: taken = a <= b; break;
		case 6: taken = sa < sb; break;
		default: taken = sa <= sb; break;
		}
		if (cc & 1)
			taken = !taken;
	} else {
		taken = x86_cond(cpu, cc);
	}
	if (taken)
		near_branch(cpu, in, cpu->next_rip + in->imm);
	return X86_EXEC_END_BLOCK;
}

#define FAST_JCC(cc, name) \
	static int fast_##name(struct x86_cpu *cpu, const struct x86_insn *in) \
	{ return jcc_op(cpu, in, cc); }
FAST_JCC(0x2, jb)
FAST_JCC(0x3, jae)
FAST_JCC(0x4, je)
FAST_JCC(0x5, jne)
FAST_JCC(0x6, jbe)
FAST_JCC(0x7, ja)
FAST_JCC(0xc, jl)
FAST_JCC(0xd, jge)
FAST_JCC(0xe, jle)
FAST_JCC(0xf, jg)
#undef FAST_JCC

/* The executor of jcc (70-7F, 0F 80-8F) by condition */
static x86_exec_fn select_jcc(unsigned cc)
{
	switch (cc) {
	case 0x2: return fast_jb;
	case 0x3: return fast_jae;
	case 0x4: return fast_je;
	case 0x5: return fast_jne;
	case 0x6: return fast_jbe;
	case 0x7: return fast_ja;
	case 0xc: return fast_jl;
	case 0xd: return fast_jge;
	case 0xe: return fast_jle;
	case 0xf: return fast_jg;
	default: return fast_jcc;	/* o, no, s, ns, p, np: from the flags */
	}
}

static int fast_jmp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	near_branch(cpu, in, cpu->next_rip + in->imm);
	return X86_EXEC_END_BLOCK;
}

static int fast_call(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ret = cpu->next_rip;
	near_branch(cpu, in, cpu->next_rip + in->imm);
	x86_push(cpu, in->opsize, ret);
	return X86_EXEC_END_BLOCK;
}

static int fast_ret(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t sp = x86_get_sp(cpu);
	near_branch(cpu, in, x86_mem_read(cpu, X86_SS, sp, in->opsize));
	x86_set_sp(cpu, sp + in->opsize);
	return X86_EXEC_END_BLOCK;
}

/* movzx/movsx (0F B6, B7, BE, BF), one executor per source size and
 * signedness so the source read is a fixed-size load */
static inline __attribute__((always_inline)) int movx_op(struct x86_cpu *cpu,
							 const struct x86_insn *in, unsigned ss,
							 bool sign)
{
	uint64_t r = rm_read(cpu, in, ss);
	if (sign)
		r = x86_sext(r, ss);
	x86_reg_write(cpu, in, in->reg, in->opsize, r);
	return 0;
}

static int fast_movzx8(struct x86_cpu *cpu, const struct x86_insn *in) { return movx_op(cpu, in, 1, false); }
static int fast_movzx16(struct x86_cpu *cpu, const struct x86_insn *in) { return movx_op(cpu, in, 2, false); }
static int fast_movsx8(struct x86_cpu *cpu, const struct x86_insn *in) { return movx_op(cpu, in, 1, true); }
static int fast_movsx16(struct x86_cpu *cpu, const struct x86_insn *in) { return movx_op(cpu, in, 2, true); }

/* movsxd: only chosen with a REX prefix, which exists only in 64-bit
 * mode (elsewhere 63 is arpl) */
static int fast_movsxd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, in->reg, in->opsize, x86_sext(rm_read(cpu, in, 4), 4));
	return 0;
}

/* FF /4: the indirect jump of every switch and interpreter loop */
static int fast_jmp_ind(struct x86_cpu *cpu, const struct x86_insn *in)
{
	near_branch(cpu, in, rm_read(cpu, in, in->opsize));
	return X86_EXEC_END_BLOCK;
}

/* FF /2 */
static int fast_call_ind(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t target = rm_read(cpu, in, in->opsize);
	uint64_t ret = cpu->next_rip;
	near_branch(cpu, in, target);
	x86_push(cpu, in->opsize, ret);
	return X86_EXEC_END_BLOCK;
}

static int fast_cmov(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t r = rm_read(cpu, in, in->opsize);
	if (x86_cond(cpu, in->opcode & 15))
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
	else if (in->opsize == 4)
		x86_reg_write(cpu, in, in->reg, 4, x86_reg_read(cpu, in, in->reg, 4));
	return 0;
}

static int fast_setcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	rm_write(cpu, in, 1, x86_cond(cpu, in->opcode & 15));
	return 0;
}

x86_exec_fn x86_select_exec(const struct x86_insn *in)
{
	if (in->prefixes & X86_PFX_LOCK)
		return x86_exec;	/* checks whether LOCK is allowed */
	if (in->map == X86_MAP_1B) {
		uint8_t op = in->opcode;
		if (op < 0x40 && (op & 7) < 6) {
			static const x86_exec_fn by_op[8] = {
				fast_alu_add, fast_alu_or, fast_alu, fast_alu,
				fast_alu_and, fast_alu_sub, fast_alu_xor, fast_alu_cmp,
			};
			return by_op[op >> 3];
		}
		switch (op) {
		case 0x50 ... 0x57: return fast_push;
		case 0x58 ... 0x5f: return fast_pop;
		case 0x70 ... 0x7f: return select_jcc(op & 15);
		case 0x80 ... 0x83:
			switch (in->reg & 7) {
			case 0: return fast_grp1_add;
			case 4: return fast_grp1_and;
			case 5: return fast_grp1_sub;
			case 7: return fast_grp1_cmp;
			default: return fast_grp1;
			}
		case 0x84: case 0x85: return fast_test;
		case 0x89:
			if (in->opsize == 8)
				return fast_mov_store8;
			return in->opsize == 4 ? fast_mov_store4 : fast_mov_store;
		case 0x8b:
			if (in->opsize == 8)
				return fast_mov_load8;
			return in->opsize == 4 ? fast_mov_load4 : fast_mov_load;
		case 0x88: return fast_mov_store;
		case 0x8a: return fast_mov_load;
		case 0x8d: return in->mod == 3 ? x86_exec : fast_lea;
		case 0xb0 ... 0xbf: return fast_mov_imm;
		case 0xc3: return fast_ret;
		case 0xe8: return fast_call;
		case 0xe9: case 0xeb: return fast_jmp;
		case 0x63: return in->rex ? fast_movsxd : exec_1b;
		case 0xff:
			if ((in->reg & 7) == 2)
				return fast_call_ind;
			if ((in->reg & 7) == 4)
				return fast_jmp_ind;
			return exec_1b;
		default: return exec_1b;
		}
	}
	if (in->map == X86_MAP_0F) {
		switch (in->opcode) {
		case 0x40 ... 0x4f: return fast_cmov;
		case 0x80 ... 0x8f: return select_jcc(in->opcode & 15);
		case 0x90 ... 0x9f: return fast_setcc;
		case 0xb6: return fast_movzx8;
		case 0xb7: return fast_movzx16;
		case 0xbe: return fast_movsx8;
		case 0xbf: return fast_movsx16;
		default: return exec_0f;
		}
	}
	return x86_exec;
}
