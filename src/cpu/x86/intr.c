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

struct stack_writer {
	uint64_t base;
	uint64_t sp;
	uint64_t mask;
	bool user;
	bool wrap32;
};

static void sw_push(struct x86_cpu *cpu, struct stack_writer *w, unsigned size, uint64_t v)
{
	w->sp = (w->sp - size) & w->mask;
	uint64_t lin = w->base + w->sp;
	if (w->wrap32)
		lin = (uint32_t)lin;
	x86_write_lin(cpu, lin, &v, size, w->user);
}

static void deliver_real(struct x86_cpu *cpu, int vector, uint64_t return_rip)
{
	uint32_t off = (uint32_t)vector * 4;
	if (off + 3 > cpu->idtr.limit)
		x86_raise_exception(cpu, X86_EXC_GP, (uint32_t)vector * 8 + 2);
	uint32_t ent;
	x86_read_lin(cpu, (uint32_t)(cpu->idtr.base + off), &ent, 4, false);
	uint16_t flags = (uint16_t)x86_cpu_get_rflags(cpu);
	x86_push(cpu, 2, flags);
	x86_push(cpu, 2, cpu->seg[X86_CS].selector);
	x86_push(cpu, 2, return_rip & 0xffff);
	cpu->rflags &= ~(X86_RFLAGS_IF | X86_RFLAGS_TF | X86_RFLAGS_AC | X86_RFLAGS_RF);
	x86_set_seg_real(cpu, X86_CS, (uint16_t)(ent >> 16));
	cpu->rip = ent & 0xffff;
	x86_update_mode(cpu);
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
		if (gtype != 0xe && gtype != 0xf && gtype != 0x6 && gtype != 0x7)
			x86_raise_exception(cpu, X86_EXC_GP, idt_err);	/* task gates: unsupported */
		gate32 = gtype & 8;
	}
	bool trap_gate = gtype & 1;
	if (kind == X86_EV_SOFT_INT && gdpl < cpu->cpl)
		x86_raise_exception(cpu, X86_EXC_GP, (uint32_t)vector * 8 + 2);
	if (!((g[1] >> 15) & 1))
		x86_raise_exception(cpu, X86_EXC_NP, idt_err);
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
	struct stack_writer w;
	struct x86_segment new_ss = cpu->seg[X86_SS];
	bool switch_stack = new_cpl < cpu->cpl;
	unsigned psize = lm ? 8 : gate32 ? 4 : 2;

	w.user = new_cpl == 3;
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
		w.base = 0;
		w.sp = rsp & ~15ull;
		w.mask = ~0ull;
		w.wrap32 = false;
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
		w.base = new_ss.base;
		w.mask = new_ss.db ? 0xffffffffull : 0xffffull;
		w.sp = nsp & w.mask;
		w.wrap32 = true;
	} else {
		w.base = cpu->seg[X86_SS].base;
		w.mask = x86_mask(x86_stack_size(cpu));
		w.sp = old_rsp & w.mask;
		w.wrap32 = true;
	}

	/* pushes go to the new stack before any register changes, so a
	 * fault here leaves the interrupted state for #DF */
	if (from_vm86) {
		sw_push(cpu, &w, psize, cpu->seg[X86_GS].selector);
		sw_push(cpu, &w, psize, cpu->seg[X86_FS].selector);
		sw_push(cpu, &w, psize, cpu->seg[X86_DS].selector);
		sw_push(cpu, &w, psize, cpu->seg[X86_ES].selector);
	}
	if (lm || switch_stack) {
		sw_push(cpu, &w, psize, old_ss);
		sw_push(cpu, &w, psize, old_rsp);
	}
	sw_push(cpu, &w, psize, old_flags);
	sw_push(cpu, &w, psize, old_cs);
	sw_push(cpu, &w, psize, return_rip);
	if (has_error)
		sw_push(cpu, &w, psize, error_code);

	/* commit */
	if (switch_stack)
		cpu->seg[X86_SS] = new_ss;
	if (lm)
		cpu->gpr[X86_RSP] = w.sp;
	else if (w.mask == 0xffff)
		cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~0xffffull) | w.sp;
	else
		cpu->gpr[X86_RSP] = (uint32_t)w.sp;
	uint64_t f = old_flags & ~(X86_RFLAGS_TF | X86_RFLAGS_NT | X86_RFLAGS_RF | X86_RFLAGS_VM);
	if (!trap_gate)
		f &= ~X86_RFLAGS_IF;
	x86_cpu_set_rflags(cpu, f);
	if (from_vm86) {
		static const int segs[] = { X86_ES, X86_DS, X86_FS, X86_GS };
		for (int i = 0; i < 4; i++) {
			memset(&cpu->seg[segs[i]], 0, sizeof(cpu->seg[0]));
			cpu->seg[segs[i]].unusable = 1;
		}
	}
	x86_load_cs_checked(cpu, sel, &d, new_cpl);
	cpu->rip = target;
	if (vector == X86_EXC_NMI && kind == X86_EV_NMI)
		cpu->nmi_blocked = true;
}
