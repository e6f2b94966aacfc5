/* Exception and interrupt delivery: the real-mode IVT, protected-mode
 * interrupt and trap gates with the stack switch from the TSS, and
 * long-mode gates with IST. */
#include "cpu/x86/internal.h"

#include <stdlib.h>

static bool vector_has_error(int v)
{
	return v == X86_EXC_DF || (v >= X86_EXC_TS && v <= X86_EXC_PF) || v == X86_EXC_AC ||
	       v == 21;
}

void x86_raise_exception(struct x86_cpu *cpu, int vector, uint32_t error_code)
{
	cpu->exc_vector = vector;
	cpu->exc_error = error_code;
	cpu->exc_has_error = vector_has_error(vector);
	if (!cpu->jmp_valid)
		abort();	/* a CPU bug: an exception outside x86_cpu_run */
	longjmp(cpu->jmp, 1);
}

/* Read a TSS field; #TS(TR) past the limit */
static uint64_t tss_read(struct x86_cpu *cpu, uint32_t off, unsigned size)
{
	const struct x86_segment *tr = &cpu->seg[X86_TR];
	if (tr->unusable || !tr->present || off + size - 1 > tr->limit)
		x86_raise_exception(cpu, X86_EXC_TS, tr->selector & 0xfffc);
	uint64_t v = 0;
	x86_read_lin(cpu, tr->base + off, &v, size, false);
	return v;
}

/* The frame an interrupt pushes, checked in full before the first store */
struct stack_frame {
	uint64_t base;		/* of the stack segment (0 in IA-32e mode) */
	uint64_t sp;		/* offset of the stack top */
	uint64_t mask;		/* offsets wrap at this */
	const struct x86_segment *seg;	/* limits to check, or NULL (IA-32e: canonical) */
	bool user;
	unsigned psize;
	unsigned n;
	uint64_t v[10];		/* in push order */
};

static void frame_add(struct stack_frame *f, uint64_t v)
{
	f->v[f->n++] = v;
}

/* Does every push fit the stack: inside the segment's limits, or at
 * canonical addresses in IA-32e mode? */
static bool frame_fits(const struct stack_frame *f)
{
	uint64_t sp = f->sp;
	for (unsigned i = 0; i < f->n; i++) {
		sp = (sp - f->psize) & f->mask;
		if (!f->seg) {
			if (!x86_canonical(sp) || !x86_canonical(sp + f->psize - 1))
				return false;
		} else {
			if (x86_seg_limit_room(f->seg, sp) < f->psize)
				return false;
		}
	}
	return true;
}

/* Store the frame; returns the new stack top offset */
static uint64_t frame_push(struct x86_cpu *cpu, const struct stack_frame *f)
{
	uint64_t sp = f->sp;
	for (unsigned i = 0; i < f->n; i++) {
		sp = (sp - f->psize) & f->mask;
		uint64_t lin = f->seg ? (uint32_t)(f->base + sp) : sp;
		x86_write_lin(cpu, lin, &f->v[i], f->psize, f->user);
	}
	return sp;
}

static void deliver_real(struct x86_cpu *cpu, int vector, uint64_t return_rip)
{
	uint32_t off = (uint32_t)vector * 4;
	if (off + 3 > cpu->idtr.limit)
		x86_raise_exception(cpu, X86_EXC_GP, (uint32_t)vector * 8 + 2);
	uint32_t ent;
	x86_read_lin(cpu, (uint32_t)(cpu->idtr.base + off), &ent, 4, false);
	/* the three stores, then SP: a fault on one leaves SP as it was */
	const uint64_t frame[3] = { x86_cpu_get_rflags(cpu), cpu->seg[X86_CS].selector, return_rip };
	const uint64_t m = x86_mask(x86_stack_size(cpu));
	uint64_t sp = x86_get_sp(cpu);
	for (int i = 0; i < 3; i++) {
		sp = (sp - 2) & m;
		x86_mem_write(cpu, X86_SS, sp, 2, frame[i]);
	}
	x86_set_sp(cpu, sp);
	cpu->rflags &= ~(X86_RFLAGS_IF | X86_RFLAGS_TF | X86_RFLAGS_AC | X86_RFLAGS_RF);
	x86_set_seg_real(cpu, X86_CS, (uint16_t)(ent >> 16));
	cpu->rip = ent & 0xffff;
	x86_update_mode(cpu);
}

/* Through a task gate: a task switch, then the error code on the new
 * task's stack (as wide as the new TSS) */
static void deliver_task_gate(struct x86_cpu *cpu, int vector, const uint32_t g[2], bool has_error,
			      uint32_t error_code, uint64_t return_rip)
{
	struct x86_desc gate = { .lo = g[0], .hi = g[1] };
	x86_task_gate_or_tss(cpu, (uint16_t)(vector * 8), &gate, X86_TASK_INT, return_rip);
	if (has_error) {
		unsigned size = (cpu->seg[X86_TR].type & 8) ? 4 : 2;
		uint64_t m = x86_mask(x86_stack_size(cpu));
		uint64_t sp = (x86_get_sp(cpu) - size) & m;
		x86_mem_write(cpu, X86_SS, sp, size, error_code);
		x86_set_sp(cpu, sp);
	}
	if (vector == X86_EXC_NMI)
		cpu->nmi_blocked = true;
	/* the new TSS's T bit (task.c leaves it to here): a debug trap before
	 * the task's first instruction, with the error code on its stack.
	 * This delivery is over, so the #DB is not a fault during it. */
	if ((cpu->seg[X86_TR].type & 8) && (tss_read(cpu, 0x64, 2) & 1)) {
		cpu->delivering = -1;
		cpu->dr[6] |= 1ull << 15;
		x86_raise_exception(cpu, X86_EXC_DB, 0);
	}
}

void x86_deliver(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, bool has_error,
		 uint32_t error_code, uint64_t return_rip)
{
	const bool ext = kind == X86_EV_EXT_INT || kind == X86_EV_NMI ||
			 (kind == X86_EV_EXCEPTION && vector != X86_EXC_BP && vector != X86_EXC_OF);
	const uint32_t idt_err = (uint32_t)vector * 8 + 2 + (ext ? 1 : 0);
	const bool lm = x86_long_mode(cpu);
	const bool from_vm86 = (cpu->rflags & X86_RFLAGS_VM) != 0;

	cpu->halted = false;
	if (!(cpu->cr0 & X86_CR0_PE)) {
		deliver_real(cpu, vector, return_rip);
		return;
	}
	if (from_vm86 && kind == X86_EV_SOFT_INT && ((cpu->rflags >> 12) & 3) != 3)
		x86_raise_exception(cpu, X86_EXC_GP, 0);

	/* the gate */
	unsigned gsize = lm ? 16 : 8;
	if ((uint32_t)vector * gsize + gsize - 1 > cpu->idtr.limit)
		x86_raise_exception(cpu, X86_EXC_GP, idt_err);
	uint32_t g[4] = { 0 };
	uint64_t glin = cpu->idtr.base + (uint64_t)vector * gsize;
	x86_read_lin(cpu, lm ? glin : (uint32_t)glin, g, gsize, false);
	unsigned gtype = (g[1] >> 8) & 0x1f;	/* with S */
	unsigned gdpl = (g[1] >> 13) & 3;
	bool gate32;
	if (lm) {
		if (gtype != 0xe && gtype != 0xf)
			x86_raise_exception(cpu, X86_EXC_GP, idt_err);
		gate32 = true;
	} else {
		if (gtype != 0xe && gtype != 0xf && gtype != 0x6 && gtype != 0x7 && gtype != 0x5)
			x86_raise_exception(cpu, X86_EXC_GP, idt_err);
		gate32 = gtype & 8;
	}
	bool trap_gate = gtype & 1;
	if (kind == X86_EV_SOFT_INT && gdpl < cpu->cpl)
		x86_raise_exception(cpu, X86_EXC_GP, (uint32_t)vector * 8 + 2);
	if (!((g[1] >> 15) & 1))
		x86_raise_exception(cpu, X86_EXC_NP, idt_err);
	if (gtype == 0x5) {
		deliver_task_gate(cpu, vector, g, has_error, error_code, return_rip);
		return;
	}
	uint16_t sel = (uint16_t)(g[0] >> 16);
	uint64_t target = (g[0] & 0xffff) | (g[1] & 0xffff0000u);
	if (lm)
		target |= (uint64_t)g[2] << 32;
	else if (!gate32)
		target &= 0xffff;
	unsigned ist = lm ? g[1] & 7 : 0;

	/* the target code segment */
	if ((sel & 0xfffc) == 0)
		x86_raise_exception(cpu, X86_EXC_GP, ext ? 1 : 0);
	struct x86_desc d;
	x86_read_desc(cpu, sel, &d, false);
	unsigned dtype = (d.hi >> 8) & 15, ddpl = (d.hi >> 13) & 3;
	if (!((d.hi >> 12) & 1) || !(dtype & 8) || ddpl > cpu->cpl)
		x86_raise_exception(cpu, X86_EXC_GP, (sel & 0xfffc) + (ext ? 1 : 0));
	if (!((d.hi >> 15) & 1))
		x86_raise_exception(cpu, X86_EXC_NP, (sel & 0xfffc) + (ext ? 1 : 0));
	if (lm && (!((d.hi >> 21) & 1) || ((d.hi >> 22) & 1)))
		x86_raise_exception(cpu, X86_EXC_GP, (sel & 0xfffc) + (ext ? 1 : 0));
	unsigned new_cpl = (dtype & 4) ? cpu->cpl : ddpl;
	if (from_vm86 && new_cpl != 0)
		x86_raise_exception(cpu, X86_EXC_GP, (sel & 0xfffc) + (ext ? 1 : 0));

	const uint64_t old_flags = x86_cpu_get_rflags(cpu);
	const uint16_t old_cs = cpu->seg[X86_CS].selector;
	const uint16_t old_ss = cpu->seg[X86_SS].selector;
	const uint64_t old_rsp = cpu->gpr[X86_RSP];
	const bool switch_stack = new_cpl < cpu->cpl;
	struct stack_frame f = { .user = new_cpl == 3, .psize = lm ? 8 : gate32 ? 4 : 2 };
	struct x86_segment new_ss = cpu->seg[X86_SS];
	uint32_t ss_err = ext ? 1 : 0;	/* #SS when the frame does not fit */

	if (lm) {
		uint64_t rsp;
		if (ist)
			rsp = tss_read(cpu, 0x24 + (ist - 1) * 8, 8);
		else if (switch_stack)
			rsp = tss_read(cpu, 4 + new_cpl * 8, 8);
		else
			rsp = old_rsp;
		if (switch_stack) {
			memset(&new_ss, 0, sizeof(new_ss));
			new_ss.selector = (uint16_t)new_cpl;
			new_ss.unusable = 1;
			new_ss.dpl = (uint8_t)new_cpl;
			new_ss.db = 1;
		}
		f.base = 0;
		f.sp = rsp & ~15ull;
		f.mask = ~0ull;
		f.seg = NULL;
	} else if (switch_stack) {
		bool tss32 = (cpu->seg[X86_TR].type & 8) != 0;
		uint64_t nsp;
		uint16_t nss;
		if (tss32) {
			nsp = tss_read(cpu, 4 + new_cpl * 8, 4);
			nss = (uint16_t)tss_read(cpu, 8 + new_cpl * 8, 2);
		} else {
			nsp = tss_read(cpu, 2 + new_cpl * 4, 2);
			nss = (uint16_t)tss_read(cpu, 4 + new_cpl * 4, 2);
		}
		if ((nss & 0xfffc) == 0)
			x86_raise_exception(cpu, X86_EXC_TS, ext ? 1 : 0);
		struct x86_desc sd;
		x86_read_desc(cpu, nss, &sd, false);
		unsigned st = (sd.hi >> 8) & 15;
		if ((nss & 3) != new_cpl || ((sd.hi >> 13) & 3) != new_cpl || !((sd.hi >> 12) & 1) ||
		    (st & 8) || !(st & 2))
			x86_raise_exception(cpu, X86_EXC_TS, (nss & 0xfffc) + (ext ? 1 : 0));
		if (!((sd.hi >> 15) & 1))
			x86_raise_exception(cpu, X86_EXC_SS, (nss & 0xfffc) + (ext ? 1 : 0));
		x86_desc_to_seg(&sd, nss, &new_ss);
		f.base = new_ss.base;
		f.mask = new_ss.db ? 0xffffffffull : 0xffffull;
		f.sp = nsp & f.mask;
		f.seg = &new_ss;
		ss_err = (nss & 0xfffc) + (ext ? 1 : 0);
	} else {
		f.base = cpu->seg[X86_SS].base;
		f.mask = x86_mask(x86_stack_size(cpu));
		f.sp = old_rsp & f.mask;
		f.seg = &cpu->seg[X86_SS];
	}

	if (from_vm86) {
		frame_add(&f, cpu->seg[X86_GS].selector);
		frame_add(&f, cpu->seg[X86_FS].selector);
		frame_add(&f, cpu->seg[X86_DS].selector);
		frame_add(&f, cpu->seg[X86_ES].selector);
	}
	if (lm || switch_stack) {
		frame_add(&f, old_ss);
		frame_add(&f, old_rsp);
	}
	frame_add(&f, old_flags);
	frame_add(&f, old_cs);
	frame_add(&f, return_rip);
	if (has_error)
		frame_add(&f, error_code);

	/* every check before the first store, every store before the first
	 * register changes: a fault leaves the interrupted state for #DF */
	if (!frame_fits(&f))
		x86_raise_exception(cpu, X86_EXC_SS, ss_err);
	x86_check_new_rip(cpu, &d, target);
	uint64_t sp = frame_push(cpu, &f);
	struct x86_segment cs;
	x86_cs_prepare(cpu, sel, &d, new_cpl, &cs);

	/* commit */
	if (switch_stack)
		cpu->seg[X86_SS] = new_ss;
	if (lm)
		cpu->gpr[X86_RSP] = sp;
	else if (f.mask == 0xffff)
		cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~0xffffull) | sp;
	else
		cpu->gpr[X86_RSP] = (uint32_t)sp;
	uint64_t fl = old_flags & ~(X86_RFLAGS_TF | X86_RFLAGS_NT | X86_RFLAGS_RF | X86_RFLAGS_VM);
	if (!trap_gate)
		fl &= ~X86_RFLAGS_IF;
	x86_cpu_set_rflags(cpu, fl);
	if (from_vm86) {
		static const int segs[] = { X86_ES, X86_DS, X86_FS, X86_GS };
		for (int i = 0; i < 4; i++) {
			memset(&cpu->seg[segs[i]], 0, sizeof(cpu->seg[0]));
			cpu->seg[segs[i]].unusable = 1;
		}
	}
	x86_cs_commit(cpu, &cs, new_cpl);
	cpu->rip = target;
	if (vector == X86_EXC_NMI && kind == X86_EV_NMI)
		cpu->nmi_blocked = true;
}
