/* Segmentation: descriptor tables, segment register loads with their
 * protected-mode checks, far jumps, calls and returns, and iret. */
#include "cpu/x86/internal.h"

#define DESC_S(d) (((d)->hi >> 12) & 1)
#define DESC_TYPE(d) (((d)->hi >> 8) & 15)
#define DESC_DPL(d) (((d)->hi >> 13) & 3)
#define DESC_P(d) (((d)->hi >> 15) & 1)
#define DESC_L(d) (((d)->hi >> 21) & 1)
#define DESC_DB(d) (((d)->hi >> 22) & 1)
#define TYPE_CODE 8
#define TYPE_CONFORMING 4
#define TYPE_READABLE 2	/* code */
#define TYPE_WRITABLE 2	/* data */

static __attribute__((noreturn)) void fault_sel(struct x86_cpu *cpu, int vec, uint16_t sel)
{
	x86_raise_exception(cpu, vec, sel & 0xfffc);
}

void x86_read_desc(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d, bool wide)
{
	uint64_t base;
	uint32_t limit;
	if (sel & 4) {
		if (cpu->seg[X86_LDTR].unusable || !cpu->seg[X86_LDTR].present)
			fault_sel(cpu, X86_EXC_GP, sel);
		base = cpu->seg[X86_LDTR].base;
		limit = cpu->seg[X86_LDTR].limit;
	} else {
		base = cpu->gdtr.base;
		limit = cpu->gdtr.limit;
	}
	uint32_t off = sel & 0xfff8u;
	if (off + (wide ? 15u : 7u) > limit)
		fault_sel(cpu, X86_EXC_GP, sel);
	uint64_t lin = base + off;
	if (!x86_long_mode(cpu))
		lin = (uint32_t)lin;
	uint32_t w[2];
	x86_read_lin(cpu, lin, w, 8, false);
	d->lo = w[0];
	d->hi = w[1];
	d->hi64 = 0;
	if (wide)
		x86_read_lin(cpu, lin + 8, &d->hi64, 8, false);
}

static void desc_set_accessed(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d)
{
	if (d->hi & 0x100)
		return;
	d->hi |= 0x100;
	uint64_t base = (sel & 4) ? cpu->seg[X86_LDTR].base : cpu->gdtr.base;
	uint64_t lin = base + (sel & 0xfff8u) + 4;
	if (!x86_long_mode(cpu))
		lin = (uint32_t)lin;
	x86_write_lin(cpu, lin, &d->hi, 4, false);
}

void x86_desc_to_seg(const struct x86_desc *d, uint16_t sel, struct x86_segment *s)
{
	uint32_t limit = (d->lo & 0xffff) | (d->hi & 0xf0000);
	s->g = (d->hi >> 23) & 1;
	if (s->g)
		limit = (limit << 12) | 0xfff;
	s->limit = limit;
	s->base = (d->lo >> 16) | ((uint64_t)(d->hi & 0xff) << 16) | (d->hi & 0xff000000u);
	if (!DESC_S(d))
		s->base |= (d->hi64 & 0xffffffffull) << 32;
	s->selector = sel;
	s->type = DESC_TYPE(d);
	s->s = DESC_S(d);
	s->dpl = DESC_DPL(d);
	s->present = DESC_P(d);
	s->avl = (d->hi >> 20) & 1;
	s->l = DESC_L(d);
	s->db = DESC_DB(d);
	s->unusable = 0;
}

void x86_set_seg_real(struct x86_cpu *cpu, int seg, uint16_t sel)
{
	struct x86_segment *s = &cpu->seg[seg];
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	if (cpu->rflags & X86_RFLAGS_VM) {
		s->limit = 0xffff;
		s->type = seg == X86_CS ? 0xb : 3;
		s->s = 1;
		s->dpl = 3;
		s->present = 1;
		s->db = 0;
		s->g = 0;
		s->l = 0;
	}
	s->unusable = 0;
}

static void set_null_seg(struct x86_segment *s, uint16_t sel)
{
	s->selector = sel;
	s->base = 0;
	s->limit = 0;
	s->type = 0;
	s->present = 0;
	s->unusable = 1;
}

void x86_load_seg(struct x86_cpu *cpu, int seg, uint16_t sel)
{
	struct x86_desc d;
	unsigned rpl = sel & 3, cpl = cpu->cpl;

	if (!x86_prot_mode(cpu)) {
		x86_set_seg_real(cpu, seg, sel);
		return;
	}
	if (seg == X86_SS) {
		if ((sel & 0xfffc) == 0) {
			if (cpu->mode == X86_MODE_LONG64 && cpl != 3 && rpl == cpl) {
				set_null_seg(&cpu->seg[X86_SS], sel);
				cpu->seg[X86_SS].dpl = (uint8_t)cpl;
				cpu->seg[X86_SS].db = 1;
				return;
			}
			x86_raise_exception(cpu, X86_EXC_GP, 0);
		}
		x86_read_desc(cpu, sel, &d, false);
		if (rpl != cpl || !DESC_S(&d) || (DESC_TYPE(&d) & TYPE_CODE) ||
		    !(DESC_TYPE(&d) & TYPE_WRITABLE) || DESC_DPL(&d) != cpl)
			fault_sel(cpu, X86_EXC_GP, sel);
		if (!DESC_P(&d))
			fault_sel(cpu, X86_EXC_SS, sel);
	} else {
		if ((sel & 0xfffc) == 0) {
			set_null_seg(&cpu->seg[seg], sel);
			return;
		}
		x86_read_desc(cpu, sel, &d, false);
		unsigned type = DESC_TYPE(&d);
		if (!DESC_S(&d) || ((type & TYPE_CODE) && !(type & TYPE_READABLE)))
			fault_sel(cpu, X86_EXC_GP, sel);
		if (!((type & TYPE_CODE) && (type & TYPE_CONFORMING)) &&
		    (rpl > DESC_DPL(&d) || cpl > DESC_DPL(&d)))
			fault_sel(cpu, X86_EXC_GP, sel);
		if (!DESC_P(&d))
			fault_sel(cpu, X86_EXC_NP, sel);
	}
	desc_set_accessed(cpu, sel, &d);
	x86_desc_to_seg(&d, sel, &cpu->seg[seg]);
}

/* Check a code segment descriptor as a far jump/call target */
static void check_code_target(struct x86_cpu *cpu, uint16_t sel, const struct x86_desc *d,
			      unsigned cpl)
{
	unsigned type = DESC_TYPE(d);
	if (!DESC_S(d) || !(type & TYPE_CODE))
		fault_sel(cpu, X86_EXC_GP, sel);
	if (type & TYPE_CONFORMING) {
		if (DESC_DPL(d) > cpl)
			fault_sel(cpu, X86_EXC_GP, sel);
	} else if ((sel & 3) > cpl || DESC_DPL(d) != cpl) {
		fault_sel(cpu, X86_EXC_GP, sel);
	}
	if (!DESC_P(d))
		fault_sel(cpu, X86_EXC_NP, sel);
	if (x86_long_mode(cpu) && DESC_L(d) && DESC_DB(d))
		fault_sel(cpu, X86_EXC_GP, sel);
}

void x86_load_cs_checked(struct x86_cpu *cpu, uint16_t sel, const struct x86_desc *d, unsigned cpl)
{
	struct x86_desc dd = *d;
	desc_set_accessed(cpu, sel, &dd);
	x86_desc_to_seg(&dd, (uint16_t)((sel & 0xfffc) | cpl), &cpu->seg[X86_CS]);
	cpu->cpl = (uint8_t)cpl;
	x86_update_mode(cpu);
}

static uint64_t target_rip(struct x86_cpu *cpu, uint64_t off, unsigned opsize)
{
	if (cpu->mode == X86_MODE_LONG64)
		return off;
	return off & x86_mask(opsize == 8 ? 4 : opsize);
}

static void set_cs_real(struct x86_cpu *cpu, uint16_t sel)
{
	x86_set_seg_real(cpu, X86_CS, sel);
	x86_update_mode(cpu);
}

/* Gates for far jmp/call: only code segments are supported as targets;
 * call gates and task switches raise #GP (no OS we run uses them). */
static void far_target(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d)
{
	if ((sel & 0xfffc) == 0)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	x86_read_desc(cpu, sel, d, false);
	if (!DESC_S(d))
		fault_sel(cpu, X86_EXC_GP, sel);
	check_code_target(cpu, sel, d, cpu->cpl);
}

void x86_far_jump(struct x86_cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize)
{
	if (!x86_prot_mode(cpu)) {
		set_cs_real(cpu, sel);
		cpu->next_rip = off & x86_mask(opsize == 8 ? 4 : opsize);
		return;
	}
	struct x86_desc d;
	far_target(cpu, sel, &d);
	x86_load_cs_checked(cpu, sel, &d, cpu->cpl);
	cpu->next_rip = target_rip(cpu, off, opsize);
	if (cpu->mode != X86_MODE_LONG64 && cpu->next_rip > cpu->seg[X86_CS].limit)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
}

void x86_far_call(struct x86_cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize)
{
	uint16_t old_cs = cpu->seg[X86_CS].selector;
	uint64_t ret = cpu->next_rip;
	if (!x86_prot_mode(cpu)) {
		uint64_t sp = x86_get_sp(cpu);
		uint64_t m = x86_mask(x86_stack_size(cpu));
		x86_mem_write(cpu, X86_SS, (sp - opsize) & m, opsize, old_cs);
		x86_mem_write(cpu, X86_SS, (sp - 2 * opsize) & m, opsize, ret);
		x86_set_sp(cpu, sp - 2 * opsize);
		set_cs_real(cpu, sel);
		cpu->next_rip = off & x86_mask(opsize);
		return;
	}
	struct x86_desc d;
	far_target(cpu, sel, &d);
	/* push on the current stack before CS changes the stack size */
	uint64_t sp = x86_get_sp(cpu);
	uint64_t m = x86_mask(x86_stack_size(cpu));
	x86_mem_write(cpu, X86_SS, (sp - opsize) & m, opsize, old_cs);
	x86_mem_write(cpu, X86_SS, (sp - 2 * opsize) & m, opsize, ret);
	unsigned ss_size = x86_stack_size(cpu);
	struct x86_segment saved = cpu->seg[X86_CS];
	uint8_t saved_mode = cpu->mode, saved_cpl = cpu->cpl;
	x86_load_cs_checked(cpu, sel, &d, cpu->cpl);
	uint64_t rip = target_rip(cpu, off, opsize);
	if (cpu->mode != X86_MODE_LONG64 && rip > cpu->seg[X86_CS].limit) {
		cpu->seg[X86_CS] = saved;
		cpu->mode = saved_mode;
		cpu->cpl = saved_cpl;
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	}
	sp = (sp - 2 * opsize) & m;
	if (ss_size == 8)
		cpu->gpr[X86_RSP] = sp;
	else if (ss_size == 4)
		cpu->gpr[X86_RSP] = (uint32_t)sp;
	else
		cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~0xffffull) | sp;
	cpu->next_rip = rip;
}

/* After a return to an outer ring, data segments the new CPL may not use
 * become null */
static void invalidate_outer_segs(struct x86_cpu *cpu)
{
	static const int segs[] = { X86_ES, X86_DS, X86_FS, X86_GS };
	for (int i = 0; i < 4; i++) {
		struct x86_segment *s = &cpu->seg[segs[i]];
		bool conforming_code = (s->type & (TYPE_CODE | TYPE_CONFORMING)) ==
				       (TYPE_CODE | TYPE_CONFORMING);
		if (!s->unusable && (s->selector & 0xfffc) && !conforming_code &&
		    s->dpl < cpu->cpl)
			set_null_seg(s, 0);
		else if (!s->unusable && !(s->selector & 0xfffc) && !s->s)
			set_null_seg(s, 0);
	}
}

void x86_far_ret(struct x86_cpu *cpu, unsigned opsize, uint16_t pop_bytes)
{
	uint64_t sp = x86_get_sp(cpu);
	uint64_t m = x86_mask(x86_stack_size(cpu));
	uint64_t rip = x86_mem_read(cpu, X86_SS, sp, opsize);
	uint16_t sel = (uint16_t)x86_mem_read(cpu, X86_SS, (sp + opsize) & m, opsize);

	if (!x86_prot_mode(cpu)) {
		set_cs_real(cpu, sel);
		x86_set_sp(cpu, sp + 2 * opsize + pop_bytes);
		cpu->next_rip = rip & x86_mask(opsize);
		return;
	}
	unsigned rpl = sel & 3;
	if ((sel & 0xfffc) == 0)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	if (rpl < cpu->cpl)
		fault_sel(cpu, X86_EXC_GP, sel);
	struct x86_desc d;
	x86_read_desc(cpu, sel, &d, false);
	unsigned type = DESC_TYPE(&d);
	if (!DESC_S(&d) || !(type & TYPE_CODE))
		fault_sel(cpu, X86_EXC_GP, sel);
	if ((type & TYPE_CONFORMING) ? DESC_DPL(&d) > rpl : DESC_DPL(&d) != rpl)
		fault_sel(cpu, X86_EXC_GP, sel);
	if (!DESC_P(&d))
		fault_sel(cpu, X86_EXC_NP, sel);

	if (rpl == cpu->cpl) {
		x86_load_cs_checked(cpu, sel, &d, rpl);
		x86_set_sp(cpu, sp + 2 * opsize + pop_bytes);
		cpu->next_rip = target_rip(cpu, rip, opsize);
		return;
	}
	/* to an outer ring: SS:SP follow the parameters */
	uint64_t p = (sp + 2 * opsize + pop_bytes) & m;
	uint64_t new_sp = x86_mem_read(cpu, X86_SS, p, opsize);
	uint16_t new_ss = (uint16_t)x86_mem_read(cpu, X86_SS, (p + opsize) & m, opsize);
	x86_load_cs_checked(cpu, sel, &d, rpl);
	x86_load_seg(cpu, X86_SS, new_ss);
	x86_set_sp(cpu, new_sp + pop_bytes);
	cpu->next_rip = target_rip(cpu, rip, opsize);
	invalidate_outer_segs(cpu);
}

static void iret_set_flags(struct x86_cpu *cpu, uint64_t newf, unsigned opsize, unsigned cpl)
{
	uint64_t old = x86_cpu_get_rflags(cpu);
	uint64_t mask = X86_ARITH_FLAGS | X86_RFLAGS_TF | X86_RFLAGS_DF | X86_RFLAGS_NT |
			X86_RFLAGS_RF | X86_RFLAGS_AC | X86_RFLAGS_ID;
	unsigned iopl = (old >> 12) & 3;
	if (cpl == 0)
		mask |= X86_RFLAGS_IOPL | X86_RFLAGS_VIF | X86_RFLAGS_VIP;
	if (cpl <= iopl)
		mask |= X86_RFLAGS_IF;
	if (opsize == 2)
		mask &= 0xffff;
	x86_cpu_set_rflags(cpu, (old & ~mask) | (newf & mask));
}

void x86_iret(struct x86_cpu *cpu, unsigned opsize)
{
	uint64_t sp = x86_get_sp(cpu);
	uint64_t m = x86_mask(x86_stack_size(cpu));
	uint64_t rip = x86_mem_read(cpu, X86_SS, sp, opsize);
	uint16_t sel = (uint16_t)x86_mem_read(cpu, X86_SS, (sp + opsize) & m, opsize);
	uint64_t flags = x86_mem_read(cpu, X86_SS, (sp + 2 * opsize) & m, opsize);

	cpu->nmi_blocked = false;
	if (!(cpu->cr0 & X86_CR0_PE)) {
		uint64_t old = x86_cpu_get_rflags(cpu);
		uint64_t mask = opsize == 2 ? 0xffffull : 0x257fd5ull;
		x86_cpu_set_rflags(cpu, (old & ~mask) | (flags & mask));
		set_cs_real(cpu, sel);
		x86_set_sp(cpu, sp + 3 * opsize);
		cpu->next_rip = rip & x86_mask(opsize);
		return;
	}
	if (cpu->rflags & X86_RFLAGS_VM) {
		/* virtual-8086 mode: iret is IOPL-sensitive */
		if (((cpu->rflags >> 12) & 3) != 3)
			x86_raise_exception(cpu, X86_EXC_GP, 0);
		uint64_t old = x86_cpu_get_rflags(cpu);
		uint64_t mask = (opsize == 2 ? 0xffffull : 0x3fffffull) &
				~(X86_RFLAGS_IOPL | X86_RFLAGS_VM | X86_RFLAGS_VIP | X86_RFLAGS_VIF);
		x86_cpu_set_rflags(cpu, (old & ~mask) | (flags & mask));
		set_cs_real(cpu, sel);
		x86_set_sp(cpu, sp + 3 * opsize);
		cpu->next_rip = rip & x86_mask(opsize);
		return;
	}
	if ((cpu->rflags & X86_RFLAGS_NT) && !x86_long_mode(cpu))
		x86_raise_exception(cpu, X86_EXC_GP, 0);	/* task return: no task switching */

	if (opsize != 2 && (flags & X86_RFLAGS_VM) && cpu->cpl == 0 && !x86_long_mode(cpu)) {
		/* return to virtual-8086 mode */
		uint32_t v[6];
		for (int i = 0; i < 6; i++)
			v[i] = (uint32_t)x86_mem_read(cpu, X86_SS, (sp + (3u + (unsigned)i) * 4) & m, 4);
		x86_cpu_set_rflags(cpu, flags);
		cpu->cpl = 3;
		set_cs_real(cpu, sel);
		x86_set_seg_real(cpu, X86_SS, (uint16_t)v[1]);
		x86_set_seg_real(cpu, X86_ES, (uint16_t)v[2]);
		x86_set_seg_real(cpu, X86_DS, (uint16_t)v[3]);
		x86_set_seg_real(cpu, X86_FS, (uint16_t)v[4]);
		x86_set_seg_real(cpu, X86_GS, (uint16_t)v[5]);
		cpu->gpr[X86_RSP] = v[0];
		cpu->next_rip = rip & 0xffff;
		x86_update_mode(cpu);
		return;
	}

	unsigned rpl = sel & 3;
	if ((sel & 0xfffc) == 0)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	if (rpl < cpu->cpl)
		fault_sel(cpu, X86_EXC_GP, sel);
	struct x86_desc d;
	x86_read_desc(cpu, sel, &d, false);
	unsigned type = DESC_TYPE(&d);
	if (!DESC_S(&d) || !(type & TYPE_CODE))
		fault_sel(cpu, X86_EXC_GP, sel);
	if ((type & TYPE_CONFORMING) ? DESC_DPL(&d) > rpl : DESC_DPL(&d) != rpl)
		fault_sel(cpu, X86_EXC_GP, sel);
	if (!DESC_P(&d))
		fault_sel(cpu, X86_EXC_NP, sel);
	if (x86_long_mode(cpu) && DESC_L(&d) && DESC_DB(&d))
		fault_sel(cpu, X86_EXC_GP, sel);

	unsigned old_cpl = cpu->cpl;
	bool pop_ss = rpl > old_cpl || cpu->mode == X86_MODE_LONG64;
	uint64_t new_sp = 0;
	uint16_t new_ss = 0;
	if (pop_ss) {
		new_sp = x86_mem_read(cpu, X86_SS, (sp + 3 * opsize) & m, opsize);
		new_ss = (uint16_t)x86_mem_read(cpu, X86_SS, (sp + 4 * opsize) & m, opsize);
	}
	iret_set_flags(cpu, flags, opsize, old_cpl);
	x86_load_cs_checked(cpu, sel, &d, rpl);
	if (pop_ss) {
		x86_load_seg(cpu, X86_SS, new_ss);
		if (opsize == 8 || cpu->mode == X86_MODE_LONG64)
			cpu->gpr[X86_RSP] = new_sp;
		else
			x86_set_sp(cpu, new_sp);
	} else {
		x86_set_sp(cpu, sp + 3 * opsize);
	}
	cpu->next_rip = target_rip(cpu, rip, opsize);
	if (rpl > old_cpl)
		invalidate_outer_segs(cpu);
}
