/* Memory operands in translated code (64-bit mode): the effective
 * address, the inline soft-TLB probe, and the out-of-line path taken on
 * a miss, a page crossing, MMIO or a store to a page holding code.
 *
 * The probe, with JIT_T1 = the linear address (r10), rax and r11 scratch:
 *
 *	mov   eax, r10d
 *	shr   eax, 7			; page number * 32 (the entry size)
 *	and   eax, 0x1fe0		; ... of the TLB's 256 entries
 *	lea   r11, [r10 + size - 1]	; the page of the last byte
 *	and   r11, -4096
 *	cmp   r11, [r15 + rax + tag]	; a crossing never matches
 *	jne   slow
 *	mov   r11, [r15 + rax + addend]
 *	op    ... [r10 + r11] ...
 *
 * The slow path calls C (STUB_MEM: read the operand into
 * cpu->jit.scratch, or check that a store can go), runs the instruction's
 * body again on the scratch copy, writes it back for a store (STUB_MEM
 * again), and rejoins.  Faults are raised from C with the guest state
 * exact: RIP of the instruction, registers written back, flags in
 * memory (the probe clobbers the host's, so they are saved before it). */
#include "cpu/x86/jit/jit.h"

/* What follows the call of STUB_MEM */
struct jit_mem_data {
	uint64_t rip;
	uint8_t len;
	uint8_t size;
	uint8_t kind;		/* enum mem_kind */
	uint8_t seg;
	uint8_t host_flags;	/* commit: the flags are in the host RFLAGS passed */
	uint8_t pad[3];
};

enum mem_kind {
	MEM_LOAD,	/* read into the scratch copy */
	MEM_PREP,	/* check that the operand can be written */
	MEM_RMW,	/* both */
	MEM_COMMIT,	/* write the scratch copy */
	MEM_GP,		/* the operand is misaligned: #GP(0) */
};

/* Every page of [lin, lin + size) can be written (raises #PF) */
static void check_write(struct x86_cpu *cpu, uint64_t lin, unsigned size, bool user)
{
	x86_translate(cpu, lin, X86_ACC_WRITE, user);
	if ((lin & 0xfff) + size > 4096)
		x86_translate(cpu, (lin + size - 1) & ~0xfffull, X86_ACC_WRITE, user);
}

int jit_helper_mem(struct x86_cpu *cpu, const void *data, uint64_t lin, uint64_t host_rflags);
int jit_helper_mem(struct x86_cpu *cpu, const void *data, uint64_t lin, uint64_t host_rflags)
{
	/* the data sits in the code right after the call: unaligned */
	struct jit_mem_data dd;
	memcpy(&dd, data, sizeof(dd));
	const struct jit_mem_data *d = &dd;
	const bool user = x86_user(cpu);
	jit_mxcsr_to_guest(cpu);
	if (d->kind == MEM_GP) {
		cpu->rip = d->rip;
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	}
	if (d->kind != MEM_COMMIT) {
		cpu->rip = d->rip;
		if (!x86_canonical(lin))
			x86_raise_exception(cpu, d->seg == X86_SS ? X86_EXC_SS : X86_EXC_GP, 0);
		if (d->kind != MEM_LOAD)
			check_write(cpu, lin, d->size, user);
		if (d->kind != MEM_PREP)
			x86_read_lin(cpu, lin, cpu->jit.scratch, d->size, user);
		jit_ldmxcsr(jit_mxcsr(cpu));
		return 0;
	}
	struct x86_block_cache *bc = cpu->bc;
	uint64_t gen = bc->generation;
	cpu->block_dirty = false;
	x86_write_lin(cpu, lin, cpu->jit.scratch, d->size, user);
	jit_ldmxcsr(jit_mxcsr(cpu));	/* a device may have used the host's */
	if (!cpu->block_dirty && gen == bc->generation)
		return 0;
	/* code was written, or a device: on with the next instruction in
	 * the run loop */
	if (d->host_flags)
		cpu->jit.flags = (uint16_t)(((host_rflags & 0xff) << 8) |
					    ((host_rflags & X86_RFLAGS_OF) ? 1 : 0));
	cpu->rip = d->rip + d->len;
	cpu->jit.exit = JIT_EXIT_NORMAL;
	return 1;
}

static int host_of(unsigned g)
{
	return jit_host_reg[g & 15];
}

void jit_emit_ea(struct jit *j, struct emit *e, const struct x86_insn *in, int dst)
{
	(void)j;
	const unsigned asize = in->addrsize == 4 ? 4 : 8;
	if (in->rip_rel) {
		uint64_t ea = j->next_rip + (uint64_t)in->disp;
		e_mov_ri(e, dst, asize == 4 ? (uint32_t)ea : ea);
		return;
	}
	if (in->base == X86_NO_REG && in->index == X86_NO_REG) {
		uint64_t ea = (uint64_t)in->disp;
		e_mov_ri(e, dst, asize == 4 ? (uint32_t)ea : ea);
		return;
	}
	int base = HR_NONE, index = HR_NONE;
	if (in->base != X86_NO_REG) {
		base = host_of(in->base);
		if (base == HR_NONE) {
			e_load(e, 8, dst, jit_gpr_slot(in->base));
			base = dst;
		}
	}
	if (in->index != X86_NO_REG) {
		index = host_of(in->index);
		if (index == HR_NONE) {
			int t = base == dst ? HR_RAX : dst;
			e_load(e, 8, t, jit_gpr_slot(in->index));
			index = t;
		}
	}
	int32_t disp = (int32_t)in->disp;
	if (index == HR_NONE && disp == 0 && asize == 8) {
		if (base != dst)
			e_mov_rr(e, 8, dst, base);
		return;
	}
	e_lea(e, asize, dst, hrm_mem(base, index, in->scale, disp));
}

static int32_t tlb_field(const struct jit *j, enum x86_access acc, size_t field)
{
	return JS(tlb[0][0][0]) + (int32_t)(((unsigned)j->user * X86_ACC_KINDS + acc) *
					    X86_TLB_SIZE * sizeof(struct x86_tlb_entry) + field);
}

static void mem_call(struct jit *j, const struct x86_insn *in, unsigned size, enum mem_kind kind,
		     bool host_flags)
{
	/* for the stack forms in is NULL: the operand is SS-relative */
	jit_cold_call(j, jit_stub(j, STUB_MEM));
	struct jit_mem_data d = {
		.rip = j->rip, .len = (uint8_t)(j->next_rip - j->rip),
		.size = (uint8_t)size, .kind = (uint8_t)kind,
		.seg = in && in->has_mem ? in->seg : X86_SS, .host_flags = host_flags,
	};
	const uint8_t *p = (const uint8_t *)&d;
	for (unsigned i = 0; i < sizeof(d); i++)
		e_byte(&j->cold, p[i]);
}

void jit_emit_probe(struct jit *j, unsigned size, enum x86_access kind)
{
	struct emit *e = &j->e;
	e_mov_rr(e, 4, HR_RAX, JIT_T1);
	e_shift_i(e, 5, 4, HR_RAX, 7);
	e_alu_i(e, 4, 4, hrm_reg(HR_RAX), (X86_TLB_SIZE - 1) << 5);
	if (size > 1)
		e_lea(e, 8, JIT_T2, hrm_mem(JIT_T1, HR_NONE, 1, (int32_t)size - 1));
	else
		e_mov_rr(e, 8, JIT_T2, JIT_T1);
	e_alu_i(e, 4, 8, hrm_reg(JIT_T2), -4096);
	e_alu_rm(e, 7, 8, JIT_T2, hrm_mem(JIT_STATE, HR_RAX, 1,
					  tlb_field(j, kind, offsetof(struct x86_tlb_entry, tag))));
	jit_jcc_cold(j, 5);
	e_load(e, 8, JIT_T2, hrm_mem(JIT_STATE, HR_RAX, 1,
				     tlb_field(j, kind, offsetof(struct x86_tlb_entry, addend))));
}

/* The probe and body for an operand at the linear address in JIT_T1 */
static bool memop_at(struct jit *j, const struct x86_insn *in, unsigned size, unsigned acc,
		     jit_body_fn *body)
{
	struct emit *e = &j->e;
	jit_emit_probe(j, size, acc == JIT_LOAD ? X86_ACC_READ : X86_ACC_WRITE);
	const uint8_t fl_in = j->fl;
	acc &= 3;
	body(j, e, in, hrm_mem(JIT_T1, JIT_T2, 1, 0));
	const uint8_t fl_out = j->fl;
	const uint64_t back = emit_rx(e);

	/* out of line, entered from the jne */
	mem_call(j, in, size, acc == JIT_LOAD ? MEM_LOAD : acc == JIT_STORE ? MEM_PREP : MEM_RMW,
		 false);
	j->fl = fl_in;
	body(j, &j->cold, in, js_mem(JS(jit.scratch)));
	if (j->fl != fl_out)
		j->overflow = true;	/* a body must not depend on which path it is on */
	if (acc != JIT_LOAD)
		mem_call(j, in, size, MEM_COMMIT, fl_out != JF_MEM);
	jit_cold_jmp(j, back);
	return true;
}

bool jit_emit_memop(struct jit *j, const struct x86_insn *in, unsigned size, unsigned acc,
		    jit_body_fn *body)
{
	if (j->mode != X86_MODE_LONG64 || !in->has_mem || j->nfixups + 4 > JIT_MAX_FIXUPS ||
	    j->nrelocs + 8 > JIT_MAX_RELOCS)
		return false;
	struct emit *e = &j->e;
	jit_flags_clobber(j, e);
	jit_emit_ea(j, e, in, JIT_T1);
	if (in->seg == X86_FS || in->seg == X86_GS)
		e_alu_rm(e, 0, 8, JIT_T1, js_mem(JS(seg[0].base) + (int32_t)(in->seg *
						 sizeof(struct x86_segment))));
	if (acc & JIT_ALIGN16) {
		e_insn(e, E_BYTEREGS, 1, (const uint8_t[]){ 0xf6 }, 1, 0, &(struct hrm){ .reg = JIT_T1 },
		       1, 15);	/* test r10b, 15 */
		jit_jcc_cold(j, 5);
		mem_call(j, in, size, MEM_GP, false);
	}
	return memop_at(j, in, size, acc & 3, body);
}

/* ---- the stack ---- */

static void body_push(struct jit *j, struct emit *e, const struct x86_insn *in, struct hrm m)
{
	(void)in;
	unsigned size = (unsigned)j->aux_size;
	if (j->aux_reg >= 0) {
		e_store(e, size, m, j->aux_reg);
	} else if (j->aux_reg == JIT_PUSH_SLOT) {
		e_load(e, 8, HR_RAX, jit_gpr_slot((unsigned)j->aux));
		e_store(e, size, m, HR_RAX);
	} else if ((int64_t)j->aux == (int32_t)j->aux) {
		e_store_imm(e, size, m, (int32_t)j->aux);
	} else {
		e_mov_ri(e, HR_RAX, j->aux);
		e_store(e, size, m, HR_RAX);
	}
}

static void body_pop(struct jit *j, struct emit *e, const struct x86_insn *in, struct hrm m)
{
	(void)in;
	e_load(e, j->aux_size == 2 ? 2 : 8, HR_RAX, m);
}

bool jit_emit_push(struct jit *j, int src, uint64_t v, unsigned size)
{
	if (j->mode != X86_MODE_LONG64 || j->nfixups + 4 > JIT_MAX_FIXUPS ||
	    j->nrelocs + 8 > JIT_MAX_RELOCS)
		return false;
	struct emit *e = &j->e;
	jit_flags_clobber(j, e);
	e_lea(e, 8, JIT_T1, hrm_mem(jit_host_reg[X86_RSP], HR_NONE, 1, -(int32_t)size));
	j->aux_reg = (int8_t)src;
	j->aux = v;
	j->aux_size = (uint8_t)size;
	memop_at(j, NULL, size, JIT_STORE, body_push);
	e_mov_rr(e, 8, jit_host_reg[X86_RSP], JIT_T1);
	return true;
}

bool jit_emit_pop(struct jit *j, int from, unsigned size, int32_t extra)
{
	if (j->mode != X86_MODE_LONG64 || j->nfixups + 4 > JIT_MAX_FIXUPS ||
	    j->nrelocs + 8 > JIT_MAX_RELOCS)
		return false;
	struct emit *e = &j->e;
	jit_flags_clobber(j, e);
	e_mov_rr(e, 8, JIT_T1, from == HR_NONE ? jit_host_reg[X86_RSP] : from);
	j->aux_size = (uint8_t)size;
	memop_at(j, NULL, size, JIT_LOAD, body_pop);
	e_lea(e, 8, jit_host_reg[X86_RSP], hrm_mem(JIT_T1, HR_NONE, 1, (int32_t)size + extra));
	return true;
}
