/* Integer arithmetic and logic: add or adc sbb and sub xor cmp (00-3F,
 * 80-83), test, inc/dec, not/neg, and the carry flag instructions. */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

/* always inline where op is a constant (the specialised executors), so
 * the switch folds away; x86_alu is the out-of-line form for the rest */
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

uint64_t x86_alu(struct x86_cpu *cpu, unsigned op, unsigned size, uint64_t a, uint64_t b)
{
	return alu_op(cpu, op, size, a, b);
}

/* 00-3D with the operation fixed at translation (alu_op inlines with a
 * constant op) */
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

static void inc_dec(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size, bool dec)
{
	struct operand o;
	if (in->map == X86_MAP_1B && in->opcode < 0x50) {	/* 40-4F */
		o.mem = false;
		o.reg = in->opcode & 7;
	} else {
		rm_resolve(cpu, in, size, true, &o);
	}
	uint64_t a = op_read(cpu, in, &o, size);
	bool c = x86_get_cf(cpu);
	uint64_t r = (dec ? a - 1 : a + 1) & x86_mask(size);
	cpu->cc_carry = c;
	x86_set_cc(cpu, dec ? X86_CC_DEC : X86_CC_INC, size, r, a, 1);
	op_write(cpu, in, &o, size, r);
}

int x86_exec_alu(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	const unsigned size = osize(in);
	struct operand o;
	uint64_t a, r;

	switch (op) {
	case 0x00 ... 0x3f:
		/* reached with a lock prefix; the plain forms have fast executors */
		return alu_form(cpu, in, op >> 3);
	case 0x40 ... 0x4f:
		inc_dec(cpu, in, size, op >= 0x48);
		return 0;
	case 0x80 ... 0x83: {
		unsigned aop = in->reg & 7;
		rm_resolve(cpu, in, size, aop != 7, &o);
		a = op_read(cpu, in, &o, size);
		r = x86_alu(cpu, aop, size, a, in->imm);
		if (aop != 7)
			op_write(cpu, in, &o, size, r);
		return 0;
	}
	case 0x84:
	case 0x85:
		x86_alu(cpu, 4, size, rm_read(cpu, in, size), x86_reg_read(cpu, in, in->reg, size));
		return 0;
	case 0xa8:
	case 0xa9:
		x86_alu(cpu, 4, size, x86_reg_read(cpu, in, X86_RAX, size), in->imm);
		return 0;
	case 0xf5: set_flags_bits(cpu, x86_get_cf(cpu) ? 0 : X86_RFLAGS_CF, X86_RFLAGS_CF); return 0;
	case 0xf8: set_flags_bits(cpu, 0, X86_RFLAGS_CF); return 0;
	case 0xf9: set_flags_bits(cpu, X86_RFLAGS_CF, 0); return 0;
	case 0xf6:
	case 0xf7:
		switch (in->reg & 7) {
		case 0:
		case 1:
			x86_alu(cpu, 4, size, rm_read(cpu, in, size), in->imm);
			return 0;
		case 2:
			rm_resolve(cpu, in, size, true, &o);
			op_write(cpu, in, &o, size, ~op_read(cpu, in, &o, size));
			return 0;
		default:
			rm_resolve(cpu, in, size, true, &o);
			a = op_read(cpu, in, &o, size);
			r = (0 - a) & x86_mask(size);
			x86_set_cc(cpu, X86_CC_NEG, size, r, a, 0);
			op_write(cpu, in, &o, size, r);
			return 0;
		}
	default: /* FE/FF /0 /1 */
		inc_dec(cpu, in, size, in->reg & 1);
		return 0;
	}
}

/* ---- specialised executors ---- */

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
	uint64_t r = x86_alu(cpu, aop, size, op_read(cpu, in, &o, size), in->imm);
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
	x86_alu(cpu, 4, size, rm_read(cpu, in, size), x86_reg_read(cpu, in, in->reg, size));
	return 0;
}

x86_exec_fn x86_select_alu(const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	if (in->map != X86_MAP_1B)
		return NULL;
	if (op < 0x40 && (op & 7) < 6) {
		static const x86_exec_fn by_op[8] = {
			fast_alu_add, fast_alu_or, fast_alu, fast_alu,
			fast_alu_and, fast_alu_sub, fast_alu_xor, fast_alu_cmp,
		};
		return by_op[op >> 3];
	}
	switch (op) {
	case 0x80 ... 0x83:
		switch (in->reg & 7) {
		case 0: return fast_grp1_add;
		case 4: return fast_grp1_and;
		case 5: return fast_grp1_sub;
		case 7: return fast_grp1_cmp;
		default: return fast_grp1;
		}
	case 0x84: case 0x85: return fast_test;
	default: return NULL;
	}
}

/* ---- translation ----
 * Every one of these is the same instruction on the host, with the same
 * flags: jit_emit_same maps the operands. */

/* op AL/eAX, imm (04, 05, 0C, ... A8, A9) as the r/m form on the guest's RAX */
static bool emit_acc_imm(struct jit *j, const struct x86_insn *in, uint8_t opcode,
			 unsigned digit, unsigned opts)
{
	struct x86_insn t = *in;
	t.opcode = opcode;
	t.has_modrm = 1;
	t.mod = 3;
	t.rm = X86_RAX;
	t.reg = (uint8_t)digit;
	t.rex |= 0x40;	/* AL, not a high byte */
	return jit_emit_same(j, &t, opts | JS_NO_REG);
}

bool x86_emit_alu(struct jit *j, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	if (in->map != X86_MAP_1B)
		return false;
	switch (op) {
	case 0x00 ... 0x3f: {
		const unsigned aop = op >> 3, form = op & 7;
		const unsigned fl = aop == 2 || aop == 3 ? JS_FLAGS_IN | JS_FLAGS_OUT : JS_FLAGS_OUT;
		const unsigned w = aop == 7 ? 0 : 1;
		if (form < 2)
			return jit_emit_same(j, in, fl | JS_READ_REG | JS_READ_RM | JS_LOCK |
						    (w ? JS_WRITE_RM : 0));
		if (form < 4)
			return jit_emit_same(j, in, fl | JS_READ_REG | JS_READ_RM |
						    (w ? JS_WRITE_REG : 0));
		return emit_acc_imm(j, in, in->byte_op ? 0x80 : 0x81, aop,
				    fl | JS_READ_RM | (w ? JS_WRITE_RM : 0));
	}
	case 0x80 ... 0x83: {
		const unsigned aop = in->reg & 7;
		const unsigned fl = aop == 2 || aop == 3 ? JS_FLAGS_IN | JS_FLAGS_OUT : JS_FLAGS_OUT;
		return jit_emit_same(j, in, JS_NO_REG | JS_READ_RM | fl |
					    (aop == 7 ? 0 : JS_WRITE_RM | JS_LOCK));
	}
	case 0x84:
	case 0x85:
		return jit_emit_same(j, in, JS_READ_REG | JS_READ_RM | JS_FLAGS_OUT);
	case 0xa8:
	case 0xa9:
		return emit_acc_imm(j, in, in->byte_op ? 0xf6 : 0xf7, 0, JS_READ_RM | JS_FLAGS_OUT);
	case 0xf6:
	case 0xf7:
		switch (in->reg & 7) {
		case 0:
		case 1: return jit_emit_same(j, in, JS_NO_REG | JS_READ_RM | JS_FLAGS_OUT);
		case 2: return jit_emit_same(j, in, JS_NO_REG | JS_READ_RM | JS_WRITE_RM | JS_LOCK);
		case 3:
			return jit_emit_same(j, in, JS_NO_REG | JS_READ_RM | JS_WRITE_RM | JS_LOCK |
						    JS_FLAGS_OUT);
		default: return false;
		}
	case 0xfe:
	case 0xff:	/* only /0 and /1 come here */
		return jit_emit_same(j, in, JS_NO_REG | JS_READ_RM | JS_WRITE_RM | JS_LOCK |
					    JS_FLAGS_SOME);
	case 0xf5:
	case 0xf8:
	case 0xf9:
		jit_flags_need(j, &j->e);
		e_byte(&j->e, op);
		jit_flags_set(j);
		return true;
	default:
		return false;
	}
}
