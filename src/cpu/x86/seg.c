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

/* The byte-granular limit */
static uint32_t desc_limit(const struct x86_desc *d)
{
	uint32_t limit = (d->lo & 0xffff) | (d->hi & 0xf0000);
	if ((d->hi >> 23) & 1)
		limit = (limit << 12) | 0xfff;
	return limit;
}

void x86_desc_to_seg(const struct x86_desc *d, uint16_t sel, struct x86_segment *s)
{
	s->g = (d->hi >> 23) & 1;
	s->limit = desc_limit(d);
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

/* The checks of loading SS with sel at privilege cpl: mov, pop and lss at
 * the CPL, far ret and iret at the CPL they return to.  code64: the code
 * that runs with it is 64-bit, where a null SS is allowed below ring 3.
 * Fills *d and *s and changes nothing. */
static void check_stack_seg(struct x86_cpu *cpu, uint16_t sel, unsigned cpl, bool code64,
			    struct x86_desc *d, struct x86_segment *s)
{
	unsigned rpl = sel & 3;
	if ((sel & 0xfffc) == 0) {
		if (!code64 || cpl == 3 || rpl != cpl)
			x86_raise_exception(cpu, X86_EXC_GP, 0);
		memset(s, 0, sizeof(*s));
		set_null_seg(s, sel);
		s->dpl = (uint8_t)cpl;
		s->db = 1;
		return;
	}
	x86_read_desc(cpu, sel, d, false);
	if (rpl != cpl || !DESC_S(d) || (DESC_TYPE(d) & TYPE_CODE) ||
	    !(DESC_TYPE(d) & TYPE_WRITABLE) || DESC_DPL(d) != cpl)
		fault_sel(cpu, X86_EXC_GP, sel);
	if (!DESC_P(d))
		fault_sel(cpu, X86_EXC_SS, sel);
	x86_desc_to_seg(d, sel, s);
}

/* Set the accessed bit of the descriptor a checked SS came from (a store:
 * it may fault, so it comes before anything is committed) */
static void stack_seg_accessed(struct x86_cpu *cpu, struct x86_desc *d, struct x86_segment *s)
{
	if (s->unusable)
		return;
	desc_set_accessed(cpu, s->selector, d);
	s->type = (uint8_t)DESC_TYPE(d);
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
		struct x86_segment s;
		check_stack_seg(cpu, sel, cpl, cpu->mode == X86_MODE_LONG64, &d, &s);
		stack_seg_accessed(cpu, &d, &s);
		cpu->seg[X86_SS] = s;
		return;
	}
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

void x86_cs_prepare(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d, unsigned cpl,
		    struct x86_segment *s)
{
	desc_set_accessed(cpu, sel, d);
	x86_desc_to_seg(d, (uint16_t)((sel & 0xfffc) | cpl), s);
}

void x86_cs_commit(struct x86_cpu *cpu, const struct x86_segment *s, unsigned cpl)
{
	cpu->seg[X86_CS] = *s;
	cpu->cpl = (uint8_t)cpl;
	x86_update_mode(cpu);
}

/* A far transfer's (or an interrupt handler's) new RIP must fit the code
 * segment it goes to: canonical for 64-bit code, inside the limit
 * otherwise (#GP(0)) */
void x86_check_new_rip(struct x86_cpu *cpu, const struct x86_desc *cs, uint64_t rip)
{
	bool ok = x86_long_mode(cpu) && DESC_L(cs) ? x86_canonical(rip) : rip <= desc_limit(cs);
	if (!ok)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
}

static void set_cs_real(struct x86_cpu *cpu, uint16_t sel)
{
	x86_set_seg_real(cpu, X86_CS, sel);
	x86_update_mode(cpu);
}

/* A far jmp/call's target: a code segment, or a TSS or task gate (a task
 * switch, done here: returns false).  Call gates raise #GP (no OS we run
 * uses them). */
static bool far_target(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d,
		       enum x86_task_source src)
{
	if ((sel & 0xfffc) == 0)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	x86_read_desc(cpu, sel, d, false);
	if (!DESC_S(d)) {
		x86_task_gate_or_tss(cpu, sel, d, src, cpu->next_rip);
		return false;
	}
	check_code_target(cpu, sel, d, cpu->cpl);
	return true;
}

/* Protected-mode far jmp, call and ret follow one order: every check
 * (descriptors, stack room, the new RIP against the new CS), then the
 * stores (pushes, accessed bits), then the registers; a fault anywhere
 * leaves CS, SS, RSP, RFLAGS and the CPL as they were. */

void x86_far_jump(struct x86_cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize)
{
	if (!x86_prot_mode(cpu)) {
		set_cs_real(cpu, sel);
		cpu->next_rip = off & x86_mask(opsize == 8 ? 4 : opsize);
		return;
	}
	struct x86_desc d;
	struct x86_segment cs;
	if (!far_target(cpu, sel, &d, X86_TASK_JMP))
		return;
	uint64_t rip = off & x86_mask(opsize);
	x86_check_new_rip(cpu, &d, rip);
	x86_cs_prepare(cpu, sel, &d, cpu->cpl, &cs);
	x86_cs_commit(cpu, &cs, cpu->cpl);
	cpu->next_rip = rip;
}

void x86_far_call(struct x86_cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize)
{
	uint16_t old_cs = cpu->seg[X86_CS].selector;
	uint64_t ret = cpu->next_rip;
	uint64_t sp = x86_get_sp(cpu);
	uint64_t m = x86_mask(x86_stack_size(cpu));
	if (!x86_prot_mode(cpu)) {
		x86_mem_write(cpu, X86_SS, (sp - opsize) & m, opsize, old_cs);
		x86_mem_write(cpu, X86_SS, (sp - 2 * opsize) & m, opsize, ret);
		x86_set_sp(cpu, sp - 2 * opsize);
		set_cs_real(cpu, sel);
		cpu->next_rip = off & x86_mask(opsize);
		return;
	}
	struct x86_desc d;
	struct x86_segment cs;
	if (!far_target(cpu, sel, &d, X86_TASK_CALL))
		return;
	/* room on the current stack (#SS) before the target's RIP (#GP) */
	uint64_t lin_cs = x86_seg_linear(cpu, X86_SS, (sp - opsize) & m, opsize, true);
	uint64_t lin_ret = x86_seg_linear(cpu, X86_SS, (sp - 2 * opsize) & m, opsize, true);
	uint64_t rip = off & x86_mask(opsize);
	x86_check_new_rip(cpu, &d, rip);
	x86_write_lin_u(cpu, lin_cs, opsize, old_cs, x86_user(cpu));
	x86_write_lin_u(cpu, lin_ret, opsize, ret, x86_user(cpu));
	x86_cs_prepare(cpu, sel, &d, cpu->cpl, &cs);
	/* RSP as the old stack size wraps it: the new CS may change the mode */
	x86_set_sp(cpu, sp - 2 * opsize);
	x86_cs_commit(cpu, &cs, cpu->cpl);
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

/* The code segment far ret and iret return to: same or outer ring */
static void check_return_cs(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d)
{
	unsigned rpl = sel & 3;
	if ((sel & 0xfffc) == 0)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	if (rpl < cpu->cpl)
		fault_sel(cpu, X86_EXC_GP, sel);
	x86_read_desc(cpu, sel, d, false);
	unsigned type = DESC_TYPE(d);
	if (!DESC_S(d) || !(type & TYPE_CODE))
		fault_sel(cpu, X86_EXC_GP, sel);
	if ((type & TYPE_CONFORMING) ? DESC_DPL(d) > rpl : DESC_DPL(d) != rpl)
		fault_sel(cpu, X86_EXC_GP, sel);
	if (!DESC_P(d))
		fault_sel(cpu, X86_EXC_NP, sel);
	if (x86_long_mode(cpu) && DESC_L(d) && DESC_DB(d))
		fault_sel(cpu, X86_EXC_GP, sel);
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
	struct x86_desc d;
	check_return_cs(cpu, sel, &d);

	struct x86_segment cs;
	uint64_t new_rip = rip & x86_mask(opsize);
	if (rpl == cpu->cpl) {
		x86_check_new_rip(cpu, &d, new_rip);
		x86_cs_prepare(cpu, sel, &d, rpl, &cs);
		x86_set_sp(cpu, sp + 2 * opsize + pop_bytes);
		x86_cs_commit(cpu, &cs, rpl);
		cpu->next_rip = new_rip;
		return;
	}
	/* to an outer ring: SS:SP follow the parameters */
	uint64_t p = (sp + 2 * opsize + pop_bytes) & m;
	uint64_t new_sp = x86_mem_read(cpu, X86_SS, p, opsize);
	uint16_t new_ss = (uint16_t)x86_mem_read(cpu, X86_SS, (p + opsize) & m, opsize);
	struct x86_desc sd;
	struct x86_segment ss;
	check_stack_seg(cpu, new_ss, rpl, x86_long_mode(cpu) && DESC_L(&d), &sd, &ss);
	x86_check_new_rip(cpu, &d, new_rip);
	x86_cs_prepare(cpu, sel, &d, rpl, &cs);
	stack_seg_accessed(cpu, &sd, &ss);
	x86_cs_commit(cpu, &cs, rpl);
	cpu->seg[X86_SS] = ss;
	x86_set_sp(cpu, new_sp + pop_bytes);
	cpu->next_rip = new_rip;
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
	/* NT in protected mode: a return to the previous task, no stack pops */
	if ((cpu->cr0 & X86_CR0_PE) &&
	    (cpu->rflags & (X86_RFLAGS_NT | X86_RFLAGS_VM)) == X86_RFLAGS_NT) {
		cpu->nmi_blocked = false;
		x86_task_return(cpu, cpu->next_rip);
		return;
	}
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
	struct x86_desc d;
	check_return_cs(cpu, sel, &d);

	unsigned old_cpl = cpu->cpl;
	bool pop_ss = rpl > old_cpl || cpu->mode == X86_MODE_LONG64;
	uint64_t new_sp = 0;
	uint64_t new_rip = rip & x86_mask(opsize);
	struct x86_desc sd;
	struct x86_segment cs, ss;
	if (pop_ss) {
		new_sp = x86_mem_read(cpu, X86_SS, (sp + 3 * opsize) & m, opsize);
		uint16_t new_ss = (uint16_t)x86_mem_read(cpu, X86_SS, (sp + 4 * opsize) & m, opsize);
		check_stack_seg(cpu, new_ss, rpl, x86_long_mode(cpu) && DESC_L(&d), &sd, &ss);
	}
	x86_check_new_rip(cpu, &d, new_rip);
	/* every check passed: the accessed bits, then the registers */
	x86_cs_prepare(cpu, sel, &d, rpl, &cs);
	if (pop_ss)
		stack_seg_accessed(cpu, &sd, &ss);
	iret_set_flags(cpu, flags, opsize, old_cpl);
	x86_cs_commit(cpu, &cs, rpl);
	if (pop_ss) {
		cpu->seg[X86_SS] = ss;
		if (opsize == 8 || cpu->mode == X86_MODE_LONG64)
			cpu->gpr[X86_RSP] = new_sp;
		else
			x86_set_sp(cpu, new_sp);
	} else {
		x86_set_sp(cpu, sp + 3 * opsize);
	}
	cpu->next_rip = new_rip;
	if (rpl > old_cpl)
		invalidate_outer_segs(cpu);
}
