/* Translation of SSE/SSE2 instructions: each is the same instruction on
 * the host, on host xmm0 (the ModRM.reg operand) and xmm1 (a register
 * r/m operand) loaded from and stored back to cpu->fpu.xmm, or on the
 * guest memory operand through the TLB.  Floating point runs under the
 * host MXCSR that jit_mxcsr sets up (the guest's rounding and denormal
 * controls, exceptions masked; the flags go back to the guest's MXCSR),
 * so only when the guest has every exception masked (JIT_ENV_SSE_FP);
 * otherwise, and for what the table leaves out (MMX, movlps & co,
 * SSSE3/SSE4), the interpreter (the group files beside this one) runs
 * the instruction. */
#include "cpu/x86/jit/jit.h"

#define SJ_RD 0x01		/* the reg operand is read */
#define SJ_WR 0x02		/* ... written */
#define SJ_RM_DST 0x04		/* the r/m operand is written (and the reg read) */
#define SJ_FP 0x08		/* MXCSR matters */
#define SJ_UNALIGNED 0x10	/* a 16-byte memory operand need not be aligned */
#define SJ_RM_GPR 0x20		/* r/m is a general register (or memory of its size) */
#define SJ_REG_GPR 0x40		/* reg is a general register */
#define SJ_FLAGS 0x80		/* sets the arithmetic flags */
#define SJ_DIGIT 0x100		/* ModRM.reg is an opcode extension; r/m a register, read and written */

struct sse_form {
	uint16_t flags;
	uint8_t msize[4];	/* memory operand bytes by prefix (none, 66, F3, F2); 0: not
				 * translated; 1: a general register's size */
};

#define F(fl, a, b, c, d) { fl, { a, b, c, d } }
static const struct sse_form forms_0f[256] = {
	[0x10] = F(SJ_RD | SJ_WR | SJ_UNALIGNED, 16, 16, 4, 8),
	[0x11] = F(SJ_RM_DST | SJ_UNALIGNED, 16, 16, 4, 8),
	[0x14] = F(SJ_RD | SJ_WR, 16, 16, 0, 0),
	[0x15] = F(SJ_RD | SJ_WR, 16, 16, 0, 0),
	[0x28] = F(SJ_WR, 16, 16, 0, 0),
	[0x29] = F(SJ_RM_DST, 16, 16, 0, 0),
	[0x2a] = F(SJ_RD | SJ_WR | SJ_RM_GPR | SJ_FP, 0, 0, 1, 1),
	[0x2c] = F(SJ_WR | SJ_REG_GPR | SJ_FP, 0, 0, 4, 8),
	[0x2d] = F(SJ_WR | SJ_REG_GPR | SJ_FP, 0, 0, 4, 8),
	[0x2e] = F(SJ_FLAGS | SJ_FP, 4, 8, 0, 0),
	[0x2f] = F(SJ_FLAGS | SJ_FP, 4, 8, 0, 0),
	[0x51] = F(SJ_RD | SJ_WR | SJ_FP, 16, 16, 4, 8),
	[0x54 ... 0x57] = F(SJ_RD | SJ_WR, 16, 16, 0, 0),
	[0x58] = F(SJ_RD | SJ_WR | SJ_FP, 16, 16, 4, 8),
	[0x59] = F(SJ_RD | SJ_WR | SJ_FP, 16, 16, 4, 8),
	[0x5a] = F(SJ_RD | SJ_WR | SJ_FP, 8, 16, 4, 8),
	[0x5b] = F(SJ_WR | SJ_FP, 16, 16, 16, 0),
	[0x5c ... 0x5f] = F(SJ_RD | SJ_WR | SJ_FP, 16, 16, 4, 8),
	[0x60 ... 0x6d] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0x6e] = F(SJ_WR | SJ_RM_GPR, 0, 1, 0, 0),
	[0x6f] = F(SJ_WR, 0, 16, 16, 0),
	[0x70] = F(SJ_WR, 0, 16, 16, 16),
	[0x71 ... 0x73] = F(SJ_DIGIT, 0, 16, 0, 0),
	[0x74 ... 0x76] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0x7f] = F(SJ_RM_DST, 0, 16, 16, 0),
	[0xc2] = F(SJ_RD | SJ_WR | SJ_FP, 16, 16, 4, 8),
	[0xc6] = F(SJ_RD | SJ_WR, 16, 16, 0, 0),
	[0xd1 ... 0xd5] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0xd6] = F(SJ_RM_DST, 0, 8, 0, 0),
	[0xd8 ... 0xdf] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0xe0 ... 0xe5] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0xe6] = F(SJ_RD | SJ_WR | SJ_FP, 0, 16, 8, 16),
	[0xe8 ... 0xef] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0xf1 ... 0xf6] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0xf8 ... 0xfe] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
};

/* SSSE3 and SSE4.1, 66-prefixed (0F38 and 0F3A maps) */
static const struct sse_form forms_0f38[256] = {
	[0x00 ... 0x0b] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0x17] = F(SJ_FLAGS, 0, 16, 0, 0),
	[0x1c ... 0x1e] = F(SJ_WR, 0, 16, 0, 0),
	[0x20] = F(SJ_WR, 0, 8, 0, 0), [0x21] = F(SJ_WR, 0, 4, 0, 0), [0x22] = F(SJ_WR, 0, 2, 0, 0),
	[0x23] = F(SJ_WR, 0, 8, 0, 0), [0x24] = F(SJ_WR, 0, 4, 0, 0), [0x25] = F(SJ_WR, 0, 8, 0, 0),
	[0x28] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0x29] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0x2b] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
	[0x30] = F(SJ_WR, 0, 8, 0, 0), [0x31] = F(SJ_WR, 0, 4, 0, 0), [0x32] = F(SJ_WR, 0, 2, 0, 0),
	[0x33] = F(SJ_WR, 0, 8, 0, 0), [0x34] = F(SJ_WR, 0, 4, 0, 0), [0x35] = F(SJ_WR, 0, 8, 0, 0),
	[0x38 ... 0x40] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
};
static const struct sse_form forms_0f3a[256] = {
	[0x0c ... 0x0f] = F(SJ_RD | SJ_WR, 0, 16, 0, 0),
};
#undef F

/* 66 0F 7E (movd/movq r/m, xmm) and F3 0F 7E (movq xmm, xmm/m64) share an opcode */
static const struct sse_form movd_store = { SJ_RM_DST | SJ_RM_GPR, { 0, 1, 0, 0 } };
static const struct sse_form movq_load = { SJ_WR, { 0, 0, 8, 0 } };

static unsigned prefix_index(const struct x86_insn *in)
{
	switch (in->mandatory) {
	case 0x66: return 1;
	case 0xf3: return 2;
	case 0xf2: return 3;
	default: return 0;
	}
}

static struct hrm xmm_slot(unsigned n)
{
	return js_mem(JS(fpu.xmm[0]) + 16 * (int32_t)n);
}

static void xmm_load(struct emit *e, int host, unsigned guest)
{
	const struct hrm m = xmm_slot(guest);
	e_insn(e, E_NOSIZE, 4, (const uint8_t[]){ 0x0f, 0x10 }, 2, (unsigned)host, &m, 0, 0);
}

static void xmm_store(struct emit *e, int host, unsigned guest)
{
	const struct hrm m = xmm_slot(guest);
	e_insn(e, E_NOSIZE, 4, (const uint8_t[]){ 0x0f, 0x11 }, 2, (unsigned)host, &m, 0, 0);
}

static const struct sse_form *form_of(const struct x86_insn *in)
{
	if (in->map == X86_MAP_0F38)
		return &forms_0f38[in->opcode];
	if (in->map == X86_MAP_0F3A)
		return &forms_0f3a[in->opcode];
	if (in->opcode == 0x7e)
		return in->mandatory == 0x66 ? &movd_store : in->mandatory == 0xf3 ? &movq_load : NULL;
	return &forms_0f[in->opcode];
}

/* The instruction on host xmm0 (or a general register) and rm */
static void sse_op(struct emit *e, const struct x86_insn *in, int reg, struct hrm rm)
{
	unsigned flags = E_NOSIZE;
	if (in->mandatory == 0x66)
		flags |= E_OPSIZE;
	else if (in->mandatory == 0xf3)
		flags |= E_REP;
	else if (in->mandatory == 0xf2)
		flags |= E_REPNE;
	if (in->rex & X86_REX_W)
		flags |= E_REXW;
	uint8_t ops[3] = { 0x0f, in->opcode };
	unsigned n = 2;
	if (in->map != X86_MAP_0F) {
		ops[1] = in->map == X86_MAP_0F38 ? 0x38 : 0x3a;
		ops[2] = in->opcode;
		n = 3;
	}
	e_insn(e, flags, 4, ops, n, (unsigned)reg, &rm, in->imm_size, in->imm);
}

/* jit_body_fn: the reg operand in xmm0 (or its general register), the
 * instruction on m, the result back */
static void body_sse(struct jit *j, struct emit *e, const struct x86_insn *in, struct hrm m)
{
	const struct sse_form *f = form_of(in);
	int reg = 0;
	bool reg_tmp = false;
	if (f->flags & SJ_REG_GPR) {
		reg = jit_host_reg[in->reg];
		if (reg == HR_NONE) {
			reg = HR_RAX;
			reg_tmp = true;
		}
	} else if (f->flags & (SJ_RD | SJ_RM_DST | SJ_FLAGS)) {
		xmm_load(e, 0, in->reg);
	}
	sse_op(e, in, reg, m);
	if (reg_tmp)
		e_store(e, 8, jit_gpr_slot(in->reg), HR_RAX);
	else if ((f->flags & SJ_WR) && !(f->flags & SJ_REG_GPR))
		xmm_store(e, 0, in->reg);
	if (f->flags & SJ_FLAGS)
		jit_flags_set(j);
}

bool x86_emit_sse(struct jit *j, const struct x86_insn *in)
{
	if (!(j->env & JIT_ENV_SSE) || (in->prefixes & X86_PFX_LOCK) || j->mode != X86_MODE_LONG64)
		return false;
	if (in->map == X86_MAP_0F38 && !__builtin_cpu_supports("sse4.1"))
		return false;
	if (in->map == X86_MAP_0F3A && !__builtin_cpu_supports("sse4.1"))
		return false;
	const struct sse_form *f = form_of(in);
	if (!f || !f->flags)
		return false;
	if (f->flags & SJ_DIGIT) {
		/* psrl/psra/psll by an immediate: /2 /4 /6 (and /3 /7 of 73) */
		unsigned d = in->reg & 7;
		if (in->mod != 3 || in->mandatory != 0x66 ||
		    !(d == 2 || d == 6 || (d == 4 && in->opcode != 0x73) ||
		      ((d == 3 || d == 7) && in->opcode == 0x73)))
			return false;
		xmm_load(&j->e, 1, in->rm);
		sse_op(&j->e, in, (int)d, hrm_reg(1));
		xmm_store(&j->e, 1, in->rm);
		return true;
	}
	unsigned msize = f->msize[prefix_index(in)];
	if (!msize || ((f->flags & SJ_FP) && !(j->env & JIT_ENV_SSE_FP)))
		return false;
	if (msize == 1)
		msize = in->rex & X86_REX_W ? 8 : 4;
	if (in->mod != 3) {
		unsigned acc = (f->flags & SJ_RM_DST) ? JIT_STORE : JIT_LOAD;
		if (msize == 16 && !(f->flags & SJ_UNALIGNED) &&
		    !(in->opcode == 0x6f && in->mandatory == 0xf3) &&
		    !(in->opcode == 0x7f && in->mandatory == 0xf3))
			acc |= JIT_ALIGN16;
		if (f->flags & SJ_FLAGS)
			jit_flags_clobber(j, &j->e);
		return jit_emit_memop(j, in, msize, acc, body_sse);
	}

	/* register operands */
	struct emit *e = &j->e;
	struct hrm rm;
	int rm_tmp = HR_NONE;
	if (f->flags & SJ_RM_GPR) {
		int h = jit_host_reg[in->rm];
		if (f->flags & SJ_RM_DST) {
			rm_tmp = JIT_T1;	/* a 32-bit write clears the upper half */
			rm = hrm_reg(JIT_T1);
		} else {
			rm = h == HR_NONE ? jit_gpr_slot(in->rm) : hrm_reg(h);
		}
	} else {
		xmm_load(e, 1, in->rm);
		rm = hrm_reg(1);
	}
	body_sse(j, e, in, rm);
	if (rm_tmp != HR_NONE) {
		int h = jit_host_reg[in->rm];
		if (h == HR_NONE)
			e_store(e, 8, jit_gpr_slot(in->rm), rm_tmp);
		else
			e_mov_rr(e, 8, h, rm_tmp);
	} else if ((f->flags & SJ_RM_DST) && !(f->flags & SJ_RM_GPR)) {
		xmm_store(e, 1, in->rm);
	}
	return true;
}
