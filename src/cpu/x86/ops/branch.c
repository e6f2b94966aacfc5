/* Control transfer: jcc, jmp, call and ret (near, indirect and far),
 * loop/jcxz, int/int3/into/int1 and iret.  Every one ends its block. */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

void x86_near_branch(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t target)
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

static int jump_rel(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_near_branch(cpu, in, cpu->next_rip + in->imm);
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

/* A software interrupt: delivered as a trap, RIP after the instruction */
static int soft_int(struct x86_cpu *cpu, int vector, enum x86_event_kind kind)
{
	x86_deliver(cpu, vector, kind, false, 0, cpu->next_rip);
	cpu->next_rip = cpu->rip;
	return X86_EXEC_END_BLOCK;
}

/* FF /2 /3 /4 /5 */
static int group5_branch(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned sub = in->reg & 7;
	if (sub == 2 || sub == 4) {
		uint64_t target = rm_read(cpu, in, in->opsize);
		uint64_t ret = cpu->next_rip;
		x86_near_branch(cpu, in, target);
		if (sub == 2)
			x86_push(cpu, in->opsize, ret);
		return X86_EXEC_END_BLOCK;
	}
	if (in->mod == 3)
		ud(cpu);
	uint64_t ea = x86_ea(cpu, in);
	unsigned s = in->opsize;
	uint64_t off = x86_mem_read(cpu, in->seg, ea, s);
	uint16_t sel = (uint16_t)x86_mem_read(cpu, in->seg, (ea + s) & x86_mask(in->addrsize), 2);
	if (sub == 3)
		x86_far_call(cpu, sel, off, s);
	else
		x86_far_jump(cpu, sel, off, s);
	return X86_EXEC_END_BLOCK;
}

int x86_exec_branch(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	if (in->map == X86_MAP_0F) { /* 80-8F */
		if (x86_cond(cpu, op & 15))
			return jump_rel(cpu, in);
		return X86_EXEC_END_BLOCK;
	}
	switch (op) {
	case 0x70 ... 0x7f:
		if (x86_cond(cpu, op & 15))
			return jump_rel(cpu, in);
		return X86_EXEC_END_BLOCK;
	case 0x9a:
		x86_far_call(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
		return X86_EXEC_END_BLOCK;
	case 0xc2:
	case 0xc3: {
		uint64_t sp = x86_get_sp(cpu);
		uint64_t target = x86_mem_read(cpu, X86_SS, sp, in->opsize);
		x86_near_branch(cpu, in, target);
		x86_set_sp(cpu, sp + in->opsize + (op == 0xc2 ? (uint16_t)in->imm : 0));
		return X86_EXEC_END_BLOCK;
	}
	case 0xca:
	case 0xcb:
		x86_far_ret(cpu, in->opsize, op == 0xca ? (uint16_t)in->imm : 0);
		return X86_EXEC_END_BLOCK;
	case 0xcc: return soft_int(cpu, X86_EXC_BP, X86_EV_SOFT_INT);
	case 0xcd: return soft_int(cpu, (uint8_t)in->imm, X86_EV_SOFT_INT);
	case 0xce:
		if (!(x86_compute_arith_flags(cpu) & X86_RFLAGS_OF))
			return 0;
		return soft_int(cpu, X86_EXC_OF, X86_EV_SOFT_INT);
	case 0xf1: /* int1: a trap like a debug exception, no gate DPL check */
		return soft_int(cpu, X86_EXC_DB, X86_EV_EXCEPTION);
	case 0xcf:
		x86_iret(cpu, in->opsize);
		return X86_EXEC_END_BLOCK;
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
	case 0xe8: {
		uint64_t ret = cpu->next_rip;
		x86_near_branch(cpu, in, cpu->next_rip + in->imm);
		x86_push(cpu, in->opsize, ret);
		return X86_EXEC_END_BLOCK;
	}
	case 0xe9:
	case 0xeb:
		return jump_rel(cpu, in);
	case 0xea:
		x86_far_jump(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
		return X86_EXEC_END_BLOCK;
	default: /* FF /2-5 */
		return group5_branch(cpu, in);
	}
}

/* ---- specialised executors ---- */

static int fast_jcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (x86_cond(cpu, in->opcode & 15))
		x86_near_branch(cpu, in, cpu->next_rip + in->imm);
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
		x86_near_branch(cpu, in, cpu->next_rip + in->imm);
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
	x86_near_branch(cpu, in, cpu->next_rip + in->imm);
	return X86_EXEC_END_BLOCK;
}

static int fast_call(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ret = cpu->next_rip;
	x86_near_branch(cpu, in, cpu->next_rip + in->imm);
	x86_push(cpu, in->opsize, ret);
	return X86_EXEC_END_BLOCK;
}

static int fast_ret(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t sp = x86_get_sp(cpu);
	x86_near_branch(cpu, in, x86_mem_read(cpu, X86_SS, sp, in->opsize));
	x86_set_sp(cpu, sp + in->opsize);
	return X86_EXEC_END_BLOCK;
}

/* FF /4: the indirect jump of every switch and interpreter loop */
static int fast_jmp_ind(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_near_branch(cpu, in, rm_read(cpu, in, in->opsize));
	return X86_EXEC_END_BLOCK;
}

/* FF /2 */
static int fast_call_ind(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t target = rm_read(cpu, in, in->opsize);
	uint64_t ret = cpu->next_rip;
	x86_near_branch(cpu, in, target);
	x86_push(cpu, in->opsize, ret);
	return X86_EXEC_END_BLOCK;
}

x86_exec_fn x86_select_branch(const struct x86_insn *in)
{
	if (in->map == X86_MAP_0F)
		return select_jcc(in->opcode & 15);
	switch (in->opcode) {
	case 0x70 ... 0x7f: return select_jcc(in->opcode & 15);
	case 0xc3: return fast_ret;
	case 0xe8: return fast_call;
	case 0xe9: case 0xeb: return fast_jmp;
	case 0xff:
		if ((in->reg & 7) == 2)
			return fast_call_ind;
		if ((in->reg & 7) == 4)
			return fast_jmp_ind;
		return NULL;
	default: return NULL;
	}
}

/* ---- translation (64-bit mode, 64-bit operand size) ----
 * Direct branches become exits the run loop links to the target block;
 * indirect ones probe the jump cache inline.  A target that is not
 * canonical raises #GP: a direct one is left to the interpreter, an
 * indirect one is caught by the run loop on the jump cache miss. */

/* the target of an indirect branch (register or memory) into r11 */
static void body_target(struct jit *j, struct emit *e, const struct x86_insn *in, struct hrm m)
{
	(void)j;
	(void)in;
	e_load(e, 8, HR_RAX, m);
}

static bool target_to_t2(struct jit *j, const struct x86_insn *in)
{
	if (in->mod != 3) {
		if (!jit_emit_memop(j, in, 8, JIT_LOAD, body_target))
			return false;
		e_mov_rr(&j->e, 8, JIT_T2, HR_RAX);
		return true;
	}
	int h = jit_host_reg[in->rm];
	if (h != HR_NONE)
		e_mov_rr(&j->e, 8, JIT_T2, h);
	else
		e_load(&j->e, 8, JIT_T2, jit_gpr_slot(in->rm));
	return true;
}

bool x86_emit_branch(struct jit *j, const struct x86_insn *in)
{
	if (j->mode != X86_MODE_LONG64 || in->opsize != 8)
		return false;
	const uint64_t target = j->next_rip + in->imm;
	const uint8_t op = in->opcode;
	if (in->map == X86_MAP_0F || (op >= 0x70 && op <= 0x7f)) {
		if (!x86_canonical(target))
			return false;
		jit_exit_jcc(j, op & 15, target);
		jit_exit_direct(j, j->next_rip);
		return true;
	}
	switch (op) {
	case 0xe9:
	case 0xeb:
		if (!x86_canonical(target))
			return false;
		jit_exit_direct(j, target);
		return true;
	case 0xe8:
		if (!x86_canonical(target) || !jit_emit_push(j, JIT_PUSH_IMM, j->next_rip, 8))
			return false;
		jit_exit_direct(j, target);
		return true;
	case 0xc2:
	case 0xc3: {
		int32_t extra = op == 0xc2 ? (uint16_t)in->imm : 0;
		if (!jit_emit_pop(j, HR_NONE, 8, extra))
			return false;
		e_mov_rr(&j->e, 8, JIT_T2, HR_RAX);
		jit_exit_indirect(j, 8 + extra);
		return true;
	}
	case 0xff:
		if ((in->reg & 7) == 4) {
			if (!target_to_t2(j, in))
				return false;
			jit_exit_indirect(j, 0);
			return true;
		}
		if ((in->reg & 7) == 2) {
			/* the target first (its load may fault), kept over the push */
			if (!target_to_t2(j, in))
				return false;
			e_store(&j->e, 8, js_mem(JS(jit.scratch[1])), JIT_T2);
			if (!jit_emit_push(j, JIT_PUSH_IMM, j->next_rip, 8))
				return false;
			e_load(&j->e, 8, JIT_T2, js_mem(JS(jit.scratch[1])));
			jit_exit_indirect(j, -8);
			return true;
		}
		return false;
	default:
		return false;
	}
}
