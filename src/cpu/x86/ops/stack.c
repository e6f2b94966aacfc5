/* The stack: push and pop of registers, immediates, memory, segment
 * registers and flags, pusha/popa, enter and leave. */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

static int pop_seg(struct x86_cpu *cpu, const struct x86_insn *in, int seg)
{
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

static int pop_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->reg & 7)
		ud(cpu);
	uint64_t sp = x86_get_sp(cpu);
	uint64_t r = x86_mem_read(cpu, X86_SS, sp, in->opsize);
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

static void pusha(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t sp = x86_get_sp(cpu), m = x86_mask(x86_stack_size(cpu));
	unsigned s = in->opsize;
	for (unsigned i = 0; i < 8; i++)
		x86_mem_write(cpu, X86_SS, (sp - (i + 1) * s) & m, s, i == 4 ? sp : cpu->gpr[i]);
	x86_set_sp(cpu, sp - 8 * s);
}

static void popa(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t sp = x86_get_sp(cpu), m = x86_mask(x86_stack_size(cpu));
	unsigned s = in->opsize;
	uint64_t v[8];
	for (unsigned i = 0; i < 8; i++)
		v[7 - i] = x86_mem_read(cpu, X86_SS, (sp + i * s) & m, s);
	for (unsigned i = 0; i < 8; i++)
		if (i != X86_RSP)
			x86_reg_write(cpu, in, i, s, v[i]);
	x86_set_sp(cpu, sp + 8 * s);
}

static void pushf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if ((cpu->rflags & X86_RFLAGS_VM) && ((cpu->rflags >> 12) & 3) != 3)
		gp0(cpu);
	uint64_t f = x86_cpu_get_rflags(cpu) & ~(X86_RFLAGS_VM | X86_RFLAGS_RF);
	x86_push(cpu, in->opsize, f);
}

static int popf(struct x86_cpu *cpu, const struct x86_insn *in)
{
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

static void enter(struct x86_cpu *cpu, const struct x86_insn *in)
{
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
	x86_reg_write(cpu, in, X86_RBP, s == 2 ? 2 : x86_stack_size(cpu) == 2 ? 2 : s, frame);
	x86_set_sp(cpu, sp);
}

static void leave(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned ss = x86_stack_size(cpu);
	uint64_t bp = cpu->gpr[X86_RBP] & x86_mask(ss);
	uint64_t r = x86_mem_read(cpu, X86_SS, bp, in->opsize);
	x86_set_sp(cpu, bp + in->opsize);
	x86_reg_write(cpu, in, X86_RBP, in->opsize, r);
}

int x86_exec_stack(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	if (in->map == X86_MAP_0F) {
		switch (op) {
		case 0xa0: x86_push(cpu, in->opsize, cpu->seg[X86_FS].selector); return 0;
		case 0xa8: x86_push(cpu, in->opsize, cpu->seg[X86_GS].selector); return 0;
		case 0xa1: return pop_seg(cpu, in, X86_FS);
		default: return pop_seg(cpu, in, X86_GS);	/* A9 */
		}
	}
	switch (op) {
	case 0x06: x86_push(cpu, in->opsize, cpu->seg[X86_ES].selector); return 0;
	case 0x0e: x86_push(cpu, in->opsize, cpu->seg[X86_CS].selector); return 0;
	case 0x16: x86_push(cpu, in->opsize, cpu->seg[X86_SS].selector); return 0;
	case 0x1e: x86_push(cpu, in->opsize, cpu->seg[X86_DS].selector); return 0;
	case 0x07: return pop_seg(cpu, in, X86_ES);
	case 0x17: return pop_seg(cpu, in, X86_SS);
	case 0x1f: return pop_seg(cpu, in, X86_DS);
	case 0x50 ... 0x57:
		x86_push(cpu, in->opsize, x86_reg_read(cpu, in, opcode_reg(in), in->opsize));
		return 0;
	case 0x58 ... 0x5f: {
		uint64_t r = x86_pop(cpu, in->opsize);
		x86_reg_write(cpu, in, opcode_reg(in), in->opsize, r);
		return 0;
	}
	case 0x60: pusha(cpu, in); return 0;
	case 0x61: popa(cpu, in); return 0;
	case 0x68:
	case 0x6a:
		x86_push(cpu, in->opsize, in->imm);
		return 0;
	case 0x8f: return pop_rm(cpu, in);
	case 0x9c: pushf(cpu, in); return 0;
	case 0x9d: return popf(cpu, in);
	case 0xc8: enter(cpu, in); return 0;
	case 0xc9: leave(cpu, in); return 0;
	default: /* FF /6 */
		x86_push(cpu, in->opsize, rm_read(cpu, in, in->opsize));
		return 0;
	}
}

/* ---- specialised executors ---- */

static int fast_push(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_push(cpu, in->opsize, x86_reg_read(cpu, in, opcode_reg(in), in->opsize));
	return 0;
}

static int fast_pop(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = x86_pop(cpu, in->opsize);
	x86_reg_write(cpu, in, opcode_reg(in), in->opsize, v);
	return 0;
}

x86_exec_fn x86_select_stack(const struct x86_insn *in)
{
	if (in->map != X86_MAP_1B)
		return NULL;
	switch (in->opcode) {
	case 0x50 ... 0x57: return fast_push;
	case 0x58 ... 0x5f: return fast_pop;
	default: return NULL;
	}
}

/* ---- translation (64-bit mode; RSP stays in the state block) ---- */

static bool emit_push_reg(struct jit *j, unsigned reg, unsigned size)
{
	int h = jit_host_reg[reg];
	return jit_emit_push(j, h == HR_NONE ? JIT_PUSH_SLOT : h, reg, size);
}

/* the popped value, in rax, to guest register reg */
static void pop_to(struct jit *j, unsigned reg, unsigned size)
{
	int h = jit_host_reg[reg];
	if (h != HR_NONE)
		e_mov_rr(&j->e, size == 2 ? 2 : 8, h, HR_RAX);
	else
		e_store(&j->e, size == 2 ? 2 : 8, jit_gpr_slot(reg), HR_RAX);
}

bool x86_emit_stack(struct jit *j, const struct x86_insn *in)
{
	if (j->mode != X86_MODE_LONG64 || in->map != X86_MAP_1B)
		return false;
	const unsigned size = in->opsize;
	switch (in->opcode) {
	case 0x50 ... 0x57:
		return emit_push_reg(j, opcode_reg(in), size);
	case 0x58 ... 0x5f:
		if (!jit_emit_pop(j, HR_NONE, size, 0))
			return false;
		pop_to(j, opcode_reg(in), size);
		return true;
	case 0x68:
	case 0x6a:
		return jit_emit_push(j, JIT_PUSH_IMM, in->imm, size);
	case 0x8f:
		if (in->mod != 3 || (in->reg & 7))
			return false;
		if (!jit_emit_pop(j, HR_NONE, size, 0))
			return false;
		pop_to(j, in->rm, size);
		return true;
	case 0xc9: /* leave: RSP = RBP, pop RBP */
		if (size != 8)
			return false;
		if (!jit_emit_pop(j, jit_host_reg[X86_RBP], 8, 0))
			return false;
		pop_to(j, X86_RBP, 8);
		return true;
	case 0xff: /* /6 */
		if (in->mod != 3)
			return false;
		return emit_push_reg(j, in->rm, size);
	default:
		return false;
	}
}

/* ---- runs of stack instructions ----
 * A function's prologue pushes, its epilogue pops and returns: those
 * instructions touch neighbouring stack slots, so one TLB probe of the
 * whole range serves them all (a hit needs the range within one page).
 * A miss runs them one by one through the interpreter, which takes each
 * fault exactly where it belongs. */

/* The instruction's stack slot relative to RSP before it and what it
 * adds to RSP; false if it is not a plain 64-bit push or pop */
static bool stack_step(const struct x86_insn *in, int32_t *slot, int32_t *delta)
{
	if (in->map != X86_MAP_1B || in->opsize != 8 || (in->prefixes & X86_PFX_LOCK))
		return false;
	switch (in->opcode) {
	case 0x50 ... 0x57:
	case 0x68:
	case 0x6a:
	case 0xe8:
		if (in->opcode < 0x58 && opcode_reg(in) == X86_RSP)
			return false;
		*slot = -8;
		*delta = -8;
		return true;
	case 0x58 ... 0x5f:
		if (opcode_reg(in) == X86_RSP)
			return false;
		*slot = 0;
		*delta = 8;
		return true;
	case 0xc3:
		*slot = 0;
		*delta = 8;
		return true;
	case 0xc2:
		*slot = 0;
		*delta = 8 + (uint16_t)in->imm;
		return true;
	default:
		return false;
	}
}

unsigned x86_emit_stack_run(struct jit *j)
{
	const struct x86_block *b = j->b;
	const unsigned first = j->op_index;
	if (j->mode != X86_MODE_LONG64)
		return 0;
	int32_t d = 0, lo = INT32_MAX, hi = INT32_MIN;
	bool write = false;
	unsigned n = 0;
	while (first + n < b->n) {
		const struct x86_insn *in = &b->ops[first + n].in;
		int32_t slot, delta;
		if (!stack_step(in, &slot, &delta))
			break;
		if (in->opcode == 0xe8 && !x86_canonical(j->rip + in->imm))
			break;
		lo = d + slot < lo ? d + slot : lo;
		hi = d + slot + 8 > hi ? d + slot + 8 : hi;
		write |= slot < 0;
		d += delta;
		n++;
		if (in->opcode == 0xe8 || in->opcode == 0xc2 || in->opcode == 0xc3)
			break;	/* ends the block */
	}
	if (n < 2 || j->nfixups + 4 > JIT_MAX_FIXUPS || j->nrelocs + 2 * n + 4 > JIT_MAX_RELOCS)
		return 0;

	struct emit *e = &j->e;
	const int rsp = jit_host_reg[X86_RSP];
	jit_flags_clobber(j, e);
	e_lea(e, 8, JIT_T1, hrm_mem(rsp, HR_NONE, 1, lo));
	jit_emit_probe(j, (unsigned)(hi - lo), write ? X86_ACC_WRITE : X86_ACC_READ);

	/* out of line: one by one in the interpreter, then back */
	uint64_t rip = j->rip;
	for (unsigned k = 0; k < n; k++) {
		jit_cold_fallback(j, &b->ops[first + k], rip);
		rip += b->ops[first + k].in.len;
	}
	const struct x86_insn *last = &b->ops[first + n - 1].in;
	const bool ends = last->opcode == 0xe8 || last->opcode == 0xc2 || last->opcode == 0xc3;
	uint8_t *back = ends ? NULL : e_jmp(&j->cold, 0);

	/* the fast path: each access at [T1 + T2 + (its slot - lo)] */
	d = 0;
	uint64_t next = j->rip;
	for (unsigned k = 0; k < n; k++) {
		const struct x86_insn *in = &b->ops[first + k].in;
		int32_t slot, delta;
		stack_step(in, &slot, &delta);
		next += in->len;
		struct hrm m = hrm_mem(JIT_T1, JIT_T2, 1, d + slot - lo);
		switch (in->opcode) {
		case 0x50 ... 0x57: {
			int h = jit_host_reg[opcode_reg(in)];
			if (h == HR_NONE) {
				e_load(e, 8, HR_RAX, jit_gpr_slot(opcode_reg(in)));
				h = HR_RAX;
			}
			e_store(e, 8, m, h);
			break;
		}
		case 0x58 ... 0x5f: {
			int h = jit_host_reg[opcode_reg(in)];
			if (h != HR_NONE) {
				e_load(e, 8, h, m);
			} else {
				e_load(e, 8, HR_RAX, m);
				e_store(e, 8, jit_gpr_slot(opcode_reg(in)), HR_RAX);
			}
			break;
		}
		case 0x68:
		case 0x6a:
		case 0xe8: {
			uint64_t v = in->opcode == 0xe8 ? next : in->imm;
			if ((int64_t)v == (int32_t)v) {
				e_store_imm(e, 8, m, (int32_t)v);
			} else {
				e_mov_ri(e, HR_RAX, v);
				e_store(e, 8, m, HR_RAX);
			}
			break;
		}
		default: /* ret */
			e_load(e, 8, HR_RAX, m);
			break;
		}
		d += delta;
	}
	e_lea(e, 8, rsp, hrm_mem(JIT_T1, HR_NONE, 1, d - lo));
	j->next_rip = next;
	j->op = &b->ops[first + n - 1];
	j->rip = next - last->len;
	if (last->opcode == 0xe8) {
		jit_exit_direct(j, next + last->imm);
	} else if (ends) {
		e_mov_rr(e, 8, JIT_T2, HR_RAX);
		jit_exit_indirect(j, 8 + (last->opcode == 0xc2 ? (uint16_t)last->imm : 0));
	} else if (back) {
		/* the slow path rejoins here */
		j->relocs[j->nrelocs++] = (struct jit_reloc){ (uint32_t)(back - j->cold_base),
							      emit_rx(e) };
	} else {
		j->overflow = true;
	}
	return n;
}
