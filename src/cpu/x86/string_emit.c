/* Translation of rep movs and rep stos (64-bit mode, 64-bit addresses,
 * forward): page by page, each page's run is the host's own rep movs or
 * rep stos on host memory once the TLB has the page(s); anything else --
 * DF set, a TLB miss, MMIO, a page with code, an element across a page
 * boundary, a pending exit request -- hands the rest of the instruction
 * to the interpreter's string executor, which also takes the faults. */
#include "cpu/x86/jit/jit.h"

static unsigned log2_size(unsigned size)
{
	return size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
}

/* eax = elements of size from the linear address in reg to its page end */
static void page_room(struct emit *e, int reg, unsigned size)
{
	e_mov_rr(e, 4, HR_RAX, reg);
	e_alu_i(e, 4, 4, hrm_reg(HR_RAX), 0xfff);
	e_insn(e, 0, 4, (const uint8_t[]){ 0xf7 }, 1, 3, &(struct hrm){ .reg = HR_RAX }, 0, 0); /* neg */
	e_alu_i(e, 0, 4, hrm_reg(HR_RAX), 4096);
	if (size > 1)
		e_shift_i(e, 5, 4, HR_RAX, log2_size(size));
}

bool x86_emit_string(struct jit *j, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	const bool movs = op == 0xa4 || op == 0xa5;
	if (j->mode != X86_MODE_LONG64 || in->addrsize != 8 || !(in->prefixes & X86_PFX_REP) ||
	    !(movs || op == 0xaa || op == 0xab) || (movs && in->seg != X86_DS) ||
	    jit_host_reg[X86_RCX] != HR_RCX || jit_host_reg[X86_RDI] != HR_RDI ||
	    jit_host_reg[X86_RSI] != HR_RSI || j->nfixups + 8 > JIT_MAX_FIXUPS)
		return false;
	const unsigned size = in->byte_op ? 1 : in->opsize;
	struct emit *e = &j->e;
	const struct hrm count = js_mem(JS(jit.scratch[0]));
	const struct hrm src = js_mem(JS(jit.scratch[1]));

	/* every way out below goes to the same out-of-line code: the
	 * interpreter's executor for what is left */
	jit_flags_clobber(j, e);
	/* DF (bit 10 of RFLAGS) */
	e_insn(e, E_NOSIZE, 1, (const uint8_t[]){ 0xf6 }, 1, 0, &(struct hrm){ .mem = true,
		.m = { .base = JIT_STATE, .index = HR_NONE, .scale = 1, .disp = JS(rflags) + 1 } },
	       1, 0x04);
	jit_jcc_cold(j, 5);
	const uint64_t top = emit_rx(e);
	e_alu_rm(e, 1, 8, HR_RCX, hrm_reg(HR_RCX));	/* or rcx, rcx */
	uint8_t *done = e_jcc(e, 4, 0);
	/* an exit request waits for the interpreter's slice */
	e_insn(e, E_NOSIZE, 1, (const uint8_t[]){ 0x80 }, 1, 7, &(struct hrm){ .mem = true,
		.m = { .base = JIT_STATE, .index = HR_NONE, .scale = 1, .disp = JS(jit.exit_req) } },
	       1, 0);
	jit_jcc_cold(j, 5);
	/* n = min(rcx, what fits the destination page (and the source's)) */
	page_room(e, HR_RDI, size);
	if (movs) {
		e_mov_rr(e, 8, JIT_T1, HR_RAX);
		page_room(e, HR_RSI, size);
		e_alu_rm(e, 7, 8, HR_RAX, hrm_reg(JIT_T1));
		e_insn(e, 0, 8, (const uint8_t[]){ 0x0f, 0x47 }, 2, HR_RAX, &(struct hrm){ .reg = JIT_T1 },
		       0, 0);	/* cmova rax, r10 */
	}
	e_alu_rm(e, 1, 4, HR_RAX, hrm_reg(HR_RAX));
	jit_jcc_cold(j, 4);	/* an element across the page end */
	e_alu_rm(e, 7, 8, HR_RAX, hrm_reg(HR_RCX));
	e_insn(e, 0, 8, (const uint8_t[]){ 0x0f, 0x47 }, 2, HR_RAX, &(struct hrm){ .reg = HR_RCX },
	       0, 0);	/* cmova rax, rcx */
	e_store(e, 8, count, HR_RAX);
	if (movs) {
		e_mov_rr(e, 8, JIT_T1, HR_RSI);
		jit_emit_probe(j, 1, X86_ACC_READ);
		e_lea(e, 8, JIT_T2, hrm_mem(JIT_T1, JIT_T2, 1, 0));
		e_store(e, 8, src, JIT_T2);
	}
	e_mov_rr(e, 8, JIT_T1, HR_RDI);
	jit_emit_probe(j, 1, X86_ACC_WRITE);
	e_lea(e, 8, JIT_T2, hrm_mem(JIT_T1, JIT_T2, 1, 0));

	/* the host's rep on the host addresses; the guest's registers around it */
	e_push(e, HR_RCX);
	e_push(e, HR_RDI);
	if (movs)
		e_push(e, HR_RSI);
	e_load(e, 8, HR_RCX, count);
	e_mov_rr(e, 8, HR_RDI, JIT_T2);
	if (movs)
		e_load(e, 8, HR_RSI, src);
	else
		e_mov_rr(e, 8, HR_RAX, jit_host_reg[X86_RAX]);
	e_byte(e, 0xf3);
	if (size == 2)
		e_byte(e, 0x66);
	if (size == 8)
		e_byte(e, 0x48);
	e_byte(e, (uint8_t)((movs ? 0xa4 : 0xaa) + (size > 1)));
	if (movs)
		e_pop(e, HR_RSI);
	e_pop(e, HR_RDI);
	e_pop(e, HR_RCX);
	e_load(e, 8, HR_RAX, count);
	e_alu_rm(e, 5, 8, HR_RCX, hrm_reg(HR_RAX));
	if (size > 1)
		e_shift_i(e, 4, 8, HR_RAX, log2_size(size));
	e_alu_rm(e, 0, 8, HR_RDI, hrm_reg(HR_RAX));
	if (movs)
		e_alu_rm(e, 0, 8, HR_RSI, hrm_reg(HR_RAX));
	e_jmp(e, top);
	const uint64_t after = emit_rx(e);
	if (done)
		e_patch_rel32(done, e->rx_delta, after);

	/* out of line */
	jit_cold_fallback(j, j->op, j->rip);
	jit_cold_jmp(j, after);
	return true;
}
