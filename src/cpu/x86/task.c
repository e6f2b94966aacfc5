/* Hardware task switching (Intel SDM vol. 3, ch. 7; AMD APM vol. 2, 12.3):
 * a far JMP or CALL to a TSS or a task gate, a task gate in the IDT, and
 * IRET with NT set.  Legacy protected mode only: long mode has no task
 * switches.  Every check on the new TSS, and the reads of it, come before
 * the outgoing task's state is saved, so such faults leave the old task
 * intact; faults on the new task's segments come after the switch, in the
 * new task's context, as the SDM specifies. */
#include "cpu/x86/internal.h"

#include <string.h>

#define TSS32_MIN_LIMIT 0x67
#define TSS16_MIN_LIMIT 0x2b
#define DESC_BUSY 0x200		/* in a TSS descriptor's high word */

/* The part of a TSS a switch loads, in either format */
struct tss_image {
	uint32_t cr3, eip, eflags;
	uint32_t gpr[8];
	uint16_t seg[6];	/* ES, CS, SS, DS, FS, GS */
	uint16_t ldt;
	bool trap;		/* the T bit: #DB once the switch is done */
};

static bool tss32(unsigned type)
{
	return (type & 8) != 0;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static void read_tss(struct x86_cpu *cpu, uint32_t base, bool wide, struct tss_image *t)
{
	uint8_t b[TSS32_MIN_LIMIT + 1];
	x86_read_lin(cpu, base, b, wide ? TSS32_MIN_LIMIT + 1 : TSS16_MIN_LIMIT + 1, false);
	memset(t, 0, sizeof(*t));
	if (wide) {
		t->cr3 = rd32(b + 0x1c);
		t->eip = rd32(b + 0x20);
		t->eflags = rd32(b + 0x24);
		for (int i = 0; i < 8; i++)
			t->gpr[i] = rd32(b + 0x28 + 4 * i);
		for (int i = 0; i < 6; i++)
			t->seg[i] = rd16(b + 0x48 + 4 * i);
		t->ldt = rd16(b + 0x60);
		t->trap = b[0x64] & 1;
	} else {
		/* a 16-bit TSS loads the low halves; the high halves become
		 * all ones, as both Bochs and QEMU model the hardware */
		t->eip = rd16(b + 0x0e);
		t->eflags = rd16(b + 0x10);
		for (int i = 0; i < 8; i++)
			t->gpr[i] = 0xffff0000u | rd16(b + 0x12 + 2 * i);
		for (int i = 0; i < 4; i++)
			t->seg[i] = rd16(b + 0x22 + 2 * i);
		t->ldt = rd16(b + 0x2a);
	}
}

/* The outgoing task's dynamic fields: EIP, EFLAGS, the GPRs and the
 * segment selectors (CR3 and the LDT selector are static: not written) */
static void save_tss(struct x86_cpu *cpu, uint32_t base, bool wide, uint32_t eip, uint32_t eflags)
{
	/* read first: the reserved halves around the selectors stay as they are */
	uint8_t b[0x60 - 0x20];
	x86_read_lin(cpu, base + (wide ? 0x20 : 0x0e), b, wide ? sizeof(b) : 0x1c, false);
	if (wide) {
		wr32(b, eip);
		wr32(b + 4, eflags);
		for (int i = 0; i < 8; i++)
			wr32(b + 8 + 4 * i, (uint32_t)cpu->gpr[i]);
		for (int i = 0; i < 6; i++)
			wr16(b + 0x28 + 4 * i, cpu->seg[i].selector);
		x86_write_lin(cpu, base + 0x20, b, sizeof(b), false);
	} else {
		wr16(b, (uint16_t)eip);
		wr16(b + 2, (uint16_t)eflags);
		for (int i = 0; i < 8; i++)
			wr16(b + 4 + 2 * i, (uint16_t)cpu->gpr[i]);
		for (int i = 0; i < 4; i++)
			wr16(b + 0x14 + 2 * i, cpu->seg[i].selector);
		x86_write_lin(cpu, base + 0x0e, b, 0x1c, false);
	}
}

static void set_busy(struct x86_cpu *cpu, uint16_t sel, bool busy)
{
	uint32_t hi;
	uint32_t lin = (uint32_t)(cpu->gdtr.base + (sel & 0xfff8u) + 4);
	x86_read_lin(cpu, lin, &hi, 4, false);
	hi = busy ? hi | DESC_BUSY : hi & ~DESC_BUSY;
	x86_write_lin(cpu, lin, &hi, 4, false);
}

/* A descriptor of the new task's; past the table's limit is #TS */
static void read_new_desc(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d)
{
	const struct x86_segment *ldt = &cpu->seg[X86_LDTR];
	uint32_t limit = (sel & 4) ? (ldt->unusable ? 0 : ldt->limit) : cpu->gdtr.limit;
	if ((sel & 4) && ldt->unusable)
		x86_raise_exception(cpu, X86_EXC_TS, sel & 0xfffc);
	if ((sel & 0xfff8u) + 7u > limit)
		x86_raise_exception(cpu, X86_EXC_TS, sel & 0xfffc);
	x86_read_desc(cpu, sel, d, false);
}

#define D_S(d) (((d)->hi >> 12) & 1)
#define D_TYPE(d) (((d)->hi >> 8) & 15)
#define D_DPL(d) (((d)->hi >> 13) & 3)
#define D_P(d) (((d)->hi >> 15) & 1)

static void load_new_ldt(struct x86_cpu *cpu, uint16_t sel)
{
	struct x86_segment *s = &cpu->seg[X86_LDTR];
	if ((sel & 0xfffc) == 0) {
		memset(s, 0, sizeof(*s));
		s->selector = sel;
		s->unusable = 1;
		return;
	}
	struct x86_desc d;
	if (sel & 4)
		x86_raise_exception(cpu, X86_EXC_TS, sel & 0xfffc);
	read_new_desc(cpu, sel, &d);
	if (D_S(&d) || D_TYPE(&d) != 2 || !D_P(&d))
		x86_raise_exception(cpu, X86_EXC_TS, sel & 0xfffc);
	x86_desc_to_seg(&d, sel, s);
}

/* The new task's CS: its RPL is the new CPL */
static void load_new_cs(struct x86_cpu *cpu, uint16_t sel)
{
	struct x86_desc d;
	struct x86_segment cs;
	unsigned cpl = sel & 3;
	if ((sel & 0xfffc) == 0)
		x86_raise_exception(cpu, X86_EXC_TS, 0);
	read_new_desc(cpu, sel, &d);
	unsigned type = D_TYPE(&d);
	if (!D_S(&d) || !(type & 8) || ((type & 4) ? D_DPL(&d) > cpl : D_DPL(&d) != cpl))
		x86_raise_exception(cpu, X86_EXC_TS, sel & 0xfffc);
	if (!D_P(&d))
		x86_raise_exception(cpu, X86_EXC_NP, sel & 0xfffc);
	x86_cs_prepare(cpu, sel, &d, cpl, &cs);
	x86_cs_commit(cpu, &cs, cpl);
}

/* SS and the data segments get the task switch's #TS checks first;
 * x86_load_seg, whose checks they then pass, loads them */
static void load_new_seg(struct x86_cpu *cpu, int seg, uint16_t sel)
{
	unsigned cpl = cpu->cpl, rpl = sel & 3;
	struct x86_desc d;
	if ((sel & 0xfffc) == 0) {
		if (seg == X86_SS)
			x86_raise_exception(cpu, X86_EXC_TS, 0);
		x86_load_seg(cpu, seg, sel);
		return;
	}
	read_new_desc(cpu, sel, &d);
	unsigned type = D_TYPE(&d);
	if (seg == X86_SS) {
		if (!D_S(&d) || (type & 8) || !(type & 2) || rpl != cpl || D_DPL(&d) != cpl)
			x86_raise_exception(cpu, X86_EXC_TS, sel & 0xfffc);
		if (!D_P(&d))
			x86_raise_exception(cpu, X86_EXC_SS, sel & 0xfffc);
	} else {
		bool conforming_code = (type & 8) && (type & 4);
		if (!D_S(&d) || ((type & 8) && !(type & 2)) ||
		    (!conforming_code && (D_DPL(&d) < cpl || D_DPL(&d) < rpl)))
			x86_raise_exception(cpu, X86_EXC_TS, sel & 0xfffc);
		if (!D_P(&d))
			x86_raise_exception(cpu, X86_EXC_NP, sel & 0xfffc);
	}
	x86_load_seg(cpu, seg, sel);
}

void x86_task_switch(struct x86_cpu *cpu, uint16_t sel, const struct x86_desc *d,
		     enum x86_task_source src, uint64_t ret_rip)
{
	struct x86_segment nts;
	x86_desc_to_seg(d, sel, &nts);
	const bool new32 = tss32(nts.type);
	const struct x86_segment old = cpu->seg[X86_TR];
	const bool old32 = tss32(old.type);

	/* the checks on both TSSs (SDM table 7-1), then the new TSS read */
	if (!nts.present)
		x86_raise_exception(cpu, X86_EXC_NP, sel & 0xfffc);
	if (nts.limit < (new32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT))
		x86_raise_exception(cpu, X86_EXC_TS, sel & 0xfffc);
	if (old.limit < (old32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT))
		x86_raise_exception(cpu, X86_EXC_TS, old.selector & 0xfffc);
	struct tss_image t;
	read_tss(cpu, (uint32_t)nts.base, new32, &t);

	/* the outgoing task */
	uint32_t eflags = (uint32_t)x86_cpu_get_rflags(cpu);
	if (src == X86_TASK_IRET)
		eflags &= ~(uint32_t)X86_RFLAGS_NT;
	if (src == X86_TASK_JMP || src == X86_TASK_IRET)
		set_busy(cpu, old.selector, false);
	save_tss(cpu, (uint32_t)old.base, old32, (uint32_t)ret_rip, eflags);

	/* the incoming one: back link, busy bit, TR, CR0.TS */
	if (src == X86_TASK_CALL || src == X86_TASK_INT) {
		uint16_t link = old.selector;
		x86_write_lin(cpu, (uint32_t)nts.base, &link, 2, false);
		t.eflags |= X86_RFLAGS_NT;
	}
	if (src != X86_TASK_IRET)
		set_busy(cpu, sel, true);
	nts.type |= 2;
	cpu->seg[X86_TR] = nts;
	cpu->cr0 |= X86_CR0_TS;

	/* from here on, faults belong to the new task */
	if (new32 && (cpu->cr0 & X86_CR0_PG))
		x86_write_cr(cpu, 3, t.cr3);
	for (int i = 0; i < 8; i++)
		cpu->gpr[i] = t.gpr[i];
	x86_cpu_set_rflags(cpu, t.eflags | X86_RFLAGS_FIXED);
	cpu->rip = cpu->next_rip = t.eip;
	/* local breakpoints belong to the task that set them */
	cpu->dr[7] &= ~0x55ull;
	x86_debug_update(cpu);

	/* selectors first, so that a fault below shows the new task's */
	const int nseg = new32 ? 6 : 4;
	for (int i = 0; i < 6; i++) {
		cpu->seg[i].selector = i < nseg ? t.seg[i] : 0;
		if (i >= nseg)
			cpu->seg[i].unusable = 1;
	}
	cpu->seg[X86_LDTR].selector = t.ldt;
	if (t.eflags & X86_RFLAGS_VM) {
		/* a virtual-8086 task: segments as in real mode, CPL 3 */
		for (int i = 0; i < 6; i++)
			x86_set_seg_real(cpu, i, t.seg[i]);
		cpu->cpl = 3;
		x86_update_mode(cpu);
		load_new_ldt(cpu, t.ldt);
	} else {
		load_new_ldt(cpu, t.ldt);
		load_new_cs(cpu, t.seg[X86_CS]);
		load_new_seg(cpu, X86_SS, t.seg[X86_SS]);
		static const int data[] = { X86_ES, X86_DS, X86_FS, X86_GS };
		for (int i = 0; i < 4; i++)
			load_new_seg(cpu, data[i], data[i] < nseg ? t.seg[data[i]] : 0);
	}
	if (t.eip > cpu->seg[X86_CS].limit)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	/* the T bit: a debug trap before the new task's first instruction,
	 * DR6.BT saying why.  A switch an interrupt made still has the error
	 * code to push; there the delivery raises it (intr.c,
	 * deliver_task_gate).  QEMU has no T bit at all. */
	if (t.trap && src != X86_TASK_INT) {
		cpu->dr[6] |= 1ull << 15;
		x86_raise_exception(cpu, X86_EXC_DB, 0);
	}
}

/* A far JMP/CALL's or an interrupt's system-descriptor target: an
 * available TSS (JMP/CALL only) or a task gate; anything else is #GP */
void x86_task_gate_or_tss(struct x86_cpu *cpu, uint16_t sel, const struct x86_desc *d,
			  enum x86_task_source src, uint64_t ret_rip)
{
	unsigned type = D_TYPE(d);
	unsigned rpl = src == X86_TASK_INT ? 0 : sel & 3;
	if (x86_long_mode(cpu) || D_S(d) || (type != 5 && (type & 7) != 1) ||
	    (type != 5 && src == X86_TASK_INT))
		x86_raise_exception(cpu, X86_EXC_GP, sel & 0xfffc);
	if (src != X86_TASK_INT && (D_DPL(d) < cpu->cpl || D_DPL(d) < rpl))
		x86_raise_exception(cpu, X86_EXC_GP, sel & 0xfffc);
	struct x86_desc tss = *d;
	uint16_t tsel = sel;
	if (type == 5) {
		if (!D_P(d))
			x86_raise_exception(cpu, X86_EXC_NP, sel & 0xfffc);
		tsel = (uint16_t)(d->lo >> 16);
		if ((tsel & 4) || (tsel & 0xfffc) == 0)
			x86_raise_exception(cpu, X86_EXC_GP, tsel & 0xfffc);
		x86_read_desc(cpu, tsel, &tss, false);
		if (D_S(&tss) || (D_TYPE(&tss) & 7) != 1)
			x86_raise_exception(cpu, X86_EXC_GP, tsel & 0xfffc);
	}
	x86_task_switch(cpu, tsel, &tss, src, ret_rip);
}

/* IRET with NT: back to the task whose TSS selector the current TSS's
 * back link holds, which must be busy */
void x86_task_return(struct x86_cpu *cpu, uint64_t ret_rip)
{
	if (x86_long_mode(cpu))
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	uint16_t link;
	x86_read_lin(cpu, (uint32_t)cpu->seg[X86_TR].base, &link, 2, false);
	if ((link & 4) || (link & 0xfffc) == 0)
		x86_raise_exception(cpu, X86_EXC_TS, link & 0xfffc);
	struct x86_desc d;
	if ((link & 0xfff8u) + 7u > cpu->gdtr.limit)
		x86_raise_exception(cpu, X86_EXC_TS, link & 0xfffc);
	x86_read_desc(cpu, link, &d, false);
	if (D_S(&d) || (D_TYPE(&d) & 7) != 3)
		x86_raise_exception(cpu, X86_EXC_TS, link & 0xfffc);
	x86_task_switch(cpu, link, &d, X86_TASK_IRET, ret_rip);
}
