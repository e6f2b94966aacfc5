/* The generic form: a guest instruction emitted as the same host
 * instruction.  Host and guest are both x86-64, so an integer
 * instruction computes the same result and the same flags on the host
 * once its operands are mapped: a guest register to its host register,
 * or, for the five kept in the state block, to its slot there (or to a
 * scratch register where the form needs a register, or where a 32-bit
 * write must clear the upper half); a memory operand to the host address
 * the TLB gives. */
#include "cpu/x86/jit/jit.h"

static bool high_byte(const struct x86_insn *in, unsigned reg)
{
	return !in->rex && reg >= 4 && reg < 8;
}

static unsigned rm_size(const struct x86_insn *in, unsigned opts)
{
	if (opts & JS_RM_SIZE1)
		return 1;
	if (opts & JS_RM_SIZE2)
		return 2;
	if (opts & JS_RM_SIZE4)
		return 4;
	return in->byte_op ? 1 : in->opsize;
}

void jit_same_op(struct emit *e, const struct x86_insn *in, unsigned opts, int reg, struct hrm rm)
{
	uint8_t ops[3];
	unsigned n = 0;
	if (in->map != X86_MAP_1B)
		ops[n++] = 0x0f;
	if (in->map == X86_MAP_0F38)
		ops[n++] = 0x38;
	else if (in->map == X86_MAP_0F3A)
		ops[n++] = 0x3a;
	ops[n++] = in->opcode;
	unsigned flags = 0;
	if ((in->byte_op || (opts & JS_RM_SIZE1)) && !(opts & JS_NO_REX))
		flags |= E_BYTEREGS;
	if ((opts & JS_LOCK) && (in->prefixes & X86_PFX_LOCK))
		flags |= E_LOCK;
	if ((opts & JS_F3) && in->mandatory == 0xf3)
		flags |= E_REP;
	e_insn(e, flags, in->byte_op ? 1 : in->opsize, ops, n, (unsigned)reg, &rm, in->imm_size,
	       in->imm);
}

/* The reg operand: its host register, or tmp loaded from its slot */
static int reg_operand(struct emit *e, const struct x86_insn *in, unsigned opts, int tmp,
		       bool *in_tmp)
{
	*in_tmp = false;
	if (opts & JS_NO_REG)
		return in->reg & 7;
	int h = jit_host_reg[in->reg];
	if (h != HR_NONE)
		return h;
	*in_tmp = true;
	e_load(e, 8, tmp, jit_gpr_slot(in->reg));
	return tmp;
}

static void reg_writeback(struct emit *e, const struct x86_insn *in, unsigned opts, bool in_tmp,
			  int tmp)
{
	if (in_tmp && (opts & JS_WRITE_REG))
		e_store(e, 8, jit_gpr_slot(in->reg), tmp);
}

/* jit_body_fn for the memory form; j->aux holds the options */
static void body_same(struct jit *j, struct emit *e, const struct x86_insn *in, struct hrm m)
{
	const unsigned opts = (unsigned)j->aux;
	if (opts & (JS_FLAGS_IN | JS_FLAGS_SOME))
		jit_flags_need(j, e);
	bool tmp;
	int reg = reg_operand(e, in, opts, HR_RAX, &tmp);
	jit_same_op(e, in, opts, reg, m);
	reg_writeback(e, in, opts, tmp, HR_RAX);
	if (opts & (JS_FLAGS_OUT | JS_FLAGS_SOME))
		jit_flags_set(j);
}

/* A byte register operand of an instruction that names AH..BH, so has
 * no REX: the host byte register for guest byte register n, or -1.
 * The guest's AL/AH are the host's, copied in and out of RAX. */
static int legacy_byte_reg(unsigned n)
{
	static const int8_t map[8] = {
		HR_RAX, HR_RCX, HR_RDX, HR_RBX,		/* al cl dl bl */
		4, 5, 6, 7,				/* ah ch dh bh */
	};
	return n < 8 ? map[n] : -1;
}

/* Register-only byte instructions with AH, CH, DH or BH */
static bool same_high_byte(struct jit *j, const struct x86_insn *in, unsigned opts)
{
	int reg = (opts & JS_NO_REG) ? in->reg & 7 : legacy_byte_reg(in->reg);
	int rm = legacy_byte_reg(in->rm);
	if (reg < 0 || rm < 0)
		return false;
	/* uses the guest's RAX (AL or AH)? */
	bool rax = rm == 0 || rm == 4 || (!(opts & JS_NO_REG) && (reg == 0 || reg == 4));
	struct emit *e = &j->e;
	if (opts & (JS_FLAGS_IN | JS_FLAGS_SOME))
		jit_flags_need(j, e);
	if (rax)
		e_mov_rr(e, 8, HR_RAX, jit_host_reg[X86_RAX]);
	jit_same_op(e, in, (opts & ~JS_LOCK) | JS_NO_REX, reg, hrm_reg(rm));
	if (rax && (opts & (JS_WRITE_REG | JS_WRITE_RM)))
		e_mov_rr(e, 8, jit_host_reg[X86_RAX], HR_RAX);
	if (opts & (JS_FLAGS_OUT | JS_FLAGS_SOME))
		jit_flags_set(j);
	return true;
}

/* movzx/movsx r16/r32, AH..BH (setcc does not get here: its r/m is
 * written, and a high byte set is rare enough to interpret) */
static bool movx_high_byte(struct jit *j, const struct x86_insn *in, unsigned opts)
{
	if (!(opts & JS_RM_SIZE1) || (opts & JS_WRITE_RM) || in->opsize == 8)
		return false;
	int rm = legacy_byte_reg(in->rm);
	/* the destination: a register a no-REX encoding reaches, or RAX's copy */
	int dst = in->reg == X86_RAX ? HR_RAX : jit_host_reg[in->reg];
	if (dst < 0 || dst >= 8)
		return false;
	struct emit *e = &j->e;
	const bool rax = in->rm == 4 || dst == HR_RAX;
	if (rax)
		e_mov_rr(e, 8, HR_RAX, jit_host_reg[X86_RAX]);
	jit_same_op(e, in, opts | JS_NO_REX, dst, hrm_reg(rm));
	if (dst == HR_RAX)
		e_mov_rr(e, 8, jit_host_reg[X86_RAX], HR_RAX);
	return true;
}

bool jit_emit_same(struct jit *j, const struct x86_insn *in, unsigned opts)
{
	if (!in->has_modrm)
		return false;
	const bool byte_regs = in->byte_op;
	const bool high_reg = !(opts & JS_NO_REG) && byte_regs && high_byte(in, in->reg);
	const bool high_rm = in->mod == 3 && (byte_regs || (opts & JS_RM_SIZE1)) && high_byte(in, in->rm);
	if (high_reg || high_rm) {
		/* AH..BH exist only without REX */
		if (in->mod != 3)
			return false;
		if (!byte_regs)
			return movx_high_byte(j, in, opts);
		return same_high_byte(j, in, opts);
	}

	if (in->mod != 3) {
		enum jit_access acc = (opts & JS_WRITE_RM) ? ((opts & JS_READ_RM) ? JIT_RMW : JIT_STORE) :
					JIT_LOAD;
		j->aux = opts;
		return jit_emit_memop(j, in, rm_size(in, opts), acc, body_same);
	}

	/* register operands only: r10 and r11 are free for the ones in the state */
	struct emit *e = &j->e;
	if (opts & (JS_FLAGS_IN | JS_FLAGS_SOME))
		jit_flags_need(j, e);
	const unsigned size = in->byte_op ? 1 : in->opsize;
	int rm = jit_host_reg[in->rm];
	bool rm_tmp = false;
	if (rm == HR_NONE && (((opts & JS_WRITE_RM) && size == 4) || (opts & JS_RM_REG))) {
		/* a 32-bit write clears the upper half: not a 32-bit store */
		rm_tmp = true;
		rm = JIT_T1;
		e_load(e, 8, rm, jit_gpr_slot(in->rm));
	}
	bool reg_tmp;
	int reg = reg_operand(e, in, opts, JIT_T2, &reg_tmp);
	jit_same_op(e, in, opts, reg, rm == HR_NONE ? jit_gpr_slot(in->rm) : hrm_reg(rm));
	reg_writeback(e, in, opts, reg_tmp, JIT_T2);
	if (rm_tmp)
		e_store(e, 8, jit_gpr_slot(in->rm), rm);
	if (opts & (JS_FLAGS_OUT | JS_FLAGS_SOME))
		jit_flags_set(j);
	return true;
}
