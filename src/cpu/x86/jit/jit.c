/* The translator's core: the code buffer (one memfd mapped twice, written
 * through one view and run through the other, so no page is ever
 * writable and executable at once), the shared stubs translated code
 * calls, block translation with its entries and exits, direct links
 * between blocks, and running translated code from the run loop.
 *
 * A translated block:
 *   checked entry:  the fetch TLB still maps the block's linear page(s)
 *                   to its physical page(s)?  else exit to the run loop
 *   entry:          cpu->jit.icount -= n; negative: exit to the run loop
 *   body:           each instruction natively (ops/ emitters) or as a
 *                   call of its interpreter executor
 *   exits:          jumps that go to an exit stub until the run loop
 *                   links them to the target block's entry (its checked
 *                   entry when it lies on another page); indirect
 *                   branches probe the jump cache inline
 *   out of line:    TLB slow paths and exit stubs, after the body */
#include "cpu/x86/jit/jit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"
#include "cpu/x86/fpu_internal.h"

#define JIT_DEFAULT_BYTES (128ul << 20)
#define JIT_STUB_BYTES 4096
/* room a block's translation may take (main path + out-of-line code) */
#define JIT_BLOCK_ROOM (128u << 10)

struct jit_ctx {
	int fd;
	uint8_t env;		/* JIT_ENV_* of every translation now in the buffer */
	bool env_set;
	uint8_t *rw, *rx;
	size_t size, used;
	uint64_t stubs[NSTUBS];
	int (*enter)(void *state, void *code);
	uint8_t *cold_buf;
	struct jit *j;		/* the translation in progress (its arrays are large) */
	uint64_t translations;
	FILE *perf_map;		/* MINIVMM_PERF_MAP set: /tmp/perf-PID.map for perf */
};

/* The host registers hold the eleven guest registers code uses most
 * (counted over Linux booting and running programs); RCX and RDX stay
 * themselves for shifts by CL and mul/div, and RAX is the host's scratch */
const int8_t jit_host_reg[16] = {
	[X86_RAX] = HR_R14, [X86_RCX] = HR_RCX, [X86_RDX] = HR_RDX, [X86_RBX] = HR_RBX,
	[X86_RSP] = HR_R8, [X86_RBP] = HR_RBP, [X86_RSI] = HR_RSI, [X86_RDI] = HR_RDI,
	[X86_R8] = HR_NONE, [X86_R9] = HR_R9, [X86_R10] = HR_NONE, [X86_R11] = HR_NONE,
	[X86_R12] = HR_R12, [X86_R13] = HR_R13, [X86_R14] = HR_NONE, [X86_R15] = HR_NONE,
};

uint64_t jit_stub(const struct jit *j, unsigned which)
{
	return j->ctx->stubs[which];
}

/* ---- what translations assume ---- */

unsigned jit_env(const struct x86_cpu *cpu)
{
	unsigned env = 0;
	if (!(cpu->cr0 & (X86_CR0_EM | X86_CR0_TS)) && (cpu->cr4 & X86_CR4_OSFXSR)) {
		env |= JIT_ENV_SSE;
		if ((cpu->fpu.mxcsr & MXCSR_MASKS) == MXCSR_MASKS)
			env |= JIT_ENV_SSE_FP;
	}
	return env;
}

uint32_t jit_mxcsr(const struct x86_cpu *cpu)
{
	return (cpu->fpu.mxcsr & (MXCSR_RC | MXCSR_FZ | MXCSR_DAZ)) | MXCSR_MASKS;
}

uint32_t jit_stmxcsr(void)
{
	uint32_t v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

void jit_ldmxcsr(uint32_t v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

void jit_mxcsr_to_guest(struct x86_cpu *cpu)
{
	cpu->fpu.mxcsr |= jit_stmxcsr() & MXCSR_FLAGS;
}

/* ---- the flags ---- */

static void flags_save(struct emit *e)
{
	e_lahf(e);
	e_setcc(e, 0, HR_RAX);	/* seto al */
	e_store(e, 2, js_mem(JS(jit.flags)), HR_RAX);
}

static void flags_restore(struct emit *e)
{
	e_movzx(e, 4, 2, HR_RAX, js_mem(JS(jit.flags)));
	e_byte(e, 0x04);	/* add al, 0x7f: OF = (al == 1) */
	e_byte(e, 0x7f);
	e_sahf(e);
}

void jit_flags_need(struct jit *j, struct emit *e)
{
	if (j->fl == JF_MEM) {
		flags_restore(e);
		j->fl = JF_BOTH;
	}
}

void jit_flags_clobber(struct jit *j, struct emit *e)
{
	if (j->fl == JF_HOST)
		flags_save(e);
	j->fl = JF_MEM;
}

/* Flags in memory and, when they are there now, still in RFLAGS */
static void flags_to_mem(struct jit *j, struct emit *e)
{
	if (j->fl == JF_HOST) {
		flags_save(e);
		j->fl = JF_BOTH;
	}
}

/* ---- the out-of-line stream ---- */

static uint32_t cold_off(const struct jit *j)
{
	return (uint32_t)(j->cold.p - j->cold_base);
}

uint8_t *jit_jcc_cold(struct jit *j, unsigned cc)
{
	uint8_t *site = cc == 16 ? e_jmp(&j->e, 0) : e_jcc(&j->e, cc, 0);
	if (!site || j->nfixups == JIT_MAX_FIXUPS) {
		j->overflow = true;
		return NULL;
	}
	j->fixups[j->nfixups++] = (struct jit_fixup){ site, cold_off(j) };
	return site;
}

static void cold_reloc(struct jit *j, uint8_t *field, uint64_t target)
{
	if (!field || j->nrelocs == JIT_MAX_RELOCS) {
		j->overflow = true;
		return;
	}
	j->relocs[j->nrelocs++] = (struct jit_reloc){ (uint32_t)(field - j->cold_base), target };
}

void jit_cold_jmp(struct jit *j, uint64_t target)
{
	cold_reloc(j, e_jmp(&j->cold, 0), target);
}

void jit_cold_call(struct jit *j, uint64_t target)
{
	cold_reloc(j, e_call(&j->cold, 0), target);
}

/* mov qword [state + disp], v */
static void store_u64(struct emit *e, int32_t disp, uint64_t v)
{
	if ((int64_t)v == (int32_t)v) {
		e_store_imm(e, 8, js_mem(disp), (int32_t)v);
	} else {
		e_mov_ri(e, HR_RAX, v);
		e_store(e, 8, js_mem(disp), HR_RAX);
	}
}

static void exit_code(struct emit *e, enum jit_exit why)
{
	e_store_imm(e, 1, js_mem(JS(jit.exit)), (int32_t)why);
}

/* ---- calls into the interpreter ---- */

void jit_emit_fallback(struct jit *j)
{
	jit_flags_clobber(j, &j->e);
	store_u64(&j->e, JS(rip), j->rip);
	e_mov_ri(&j->e, HR_RAX, (uint64_t)(uintptr_t)j->op);
	e_call(&j->e, jit_stub(j, STUB_FALLBACK));
}

void jit_cold_fallback(struct jit *j, const struct x86_op *op, uint64_t rip)
{
	store_u64(&j->cold, JS(rip), rip);
	e_mov_ri(&j->cold, HR_RAX, (uint64_t)(uintptr_t)op);
	jit_cold_call(j, jit_stub(j, STUB_FALLBACK));
}

/* The fallback stub's C side: run the executor; nonzero: leave translated
 * code (the instruction ended the block, or changed what it was
 * translated under, or wrote code) */
static int jit_helper_exec(struct x86_cpu *cpu, const struct x86_op *op)
{
	struct x86_block_cache *bc = cpu->bc;
	uint64_t gen = bc->generation;
	jit_mxcsr_to_guest(cpu);
	cpu->next_rip = cpu->rip + op->in.len;
	cpu->block_dirty = false;
	int r = op->fn(cpu, &op->in);
	x86_flags_to_jit(cpu);
	jit_ldmxcsr(jit_mxcsr(cpu));
	if (!r && !cpu->block_dirty && gen == bc->generation && jit_env(cpu) == bc->jit->env)
		return 0;
	cpu->rip = cpu->next_rip;
	cpu->jit.exit = r == X86_EXEC_HLT ? JIT_EXIT_HLT : JIT_EXIT_NORMAL;
	return 1;
}

/* ---- exits ---- */

static struct x86_jit_link *new_link(struct jit *j)
{
	if (j->nexits == 2) {
		j->overflow = true;
		return NULL;
	}
	struct x86_jit_link *l = &j->b->jit_out[j->nexits++];
	l->from = j->b;
	l->to = NULL;
	l->next_in = NULL;
	return l;
}

/* The exit stub of a direct exit: call STUB_CHAIN with the target and
 * the link after it */
static void chain_stub(struct jit *j, struct x86_jit_link *l, uint64_t target)
{
	/* l->stub is the cold offset until the block is placed */
	l->stub = cold_off(j);
	l->target = target;
	jit_cold_call(j, jit_stub(j, STUB_CHAIN));
	e_u64(&j->cold, target);
	e_u64(&j->cold, (uint64_t)(uintptr_t)l);
}

void jit_exit_direct(struct jit *j, uint64_t target)
{
	flags_to_mem(j, &j->e);
	struct x86_jit_link *l = new_link(j);
	if (!l)
		return;
	l->site = jit_jcc_cold(j, 16);
	chain_stub(j, l, target);
	j->ended = true;
}

void jit_exit_jcc(struct jit *j, unsigned cc, uint64_t taken)
{
	jit_flags_need(j, &j->e);
	flags_to_mem(j, &j->e);
	struct x86_jit_link *l = new_link(j);
	if (!l)
		return;
	l->site = jit_jcc_cold(j, cc);
	chain_stub(j, l, taken);
}

void jit_exit_indirect(struct jit *j, int64_t rsp_delta)
{
	struct emit *e = &j->e;
	jit_flags_clobber(j, e);
	/* rax = jmp_cache[(t ^ (t >> 10)) & 4095] */
	e_mov_rr(e, 8, HR_RAX, JIT_T2);
	e_shift_i(e, 5, 8, HR_RAX, 10);
	e_alu_rm(e, 6, 8, HR_RAX, hrm_reg(JIT_T2));
	e_alu_i(e, 4, 4, hrm_reg(HR_RAX), X86_JMP_CACHE_SIZE - 1);
	e_load(e, 8, HR_RAX, hrm_mem(JIT_STATE, HR_RAX, 8, JS(jmp_cache[0])));
	/* the block there is for this address, mode and privilege, and translated */
	e_alu_rm(e, 7, 8, JIT_T2, hrm_mem(HR_RAX, HR_NONE, 1, offsetof(struct x86_block, lin)));
	jit_jcc_cold(j, 5);
	uint32_t miss = cold_off(j);
	e_alu_i(e, 7, 4, hrm_mem(HR_RAX, HR_NONE, 1, offsetof(struct x86_block, jit_key)),
		(int32_t)j->b->key);
	if (j->nfixups < JIT_MAX_FIXUPS)
		j->fixups[j->nfixups++] = (struct jit_fixup){ e_jcc(e, 5, 0), miss };
	else
		j->overflow = true;
	e_jmp_rm(e, hrm_mem(HR_RAX, HR_NONE, 1, offsetof(struct x86_block, jit_checked)));
	/* the miss: to the run loop, which may find the RIP bad (#GP at the branch) */
	store_u64(&j->cold, JS(jit.branch_rip), j->rip);
	store_u64(&j->cold, JS(jit.branch_rsp_delta), (uint64_t)rsp_delta);
	jit_cold_jmp(j, jit_stub(j, STUB_JC_MISS));
	j->ended = true;
}

/* ---- translating a block ---- */

/* The checked entry: the fetch TLB entry of lin's page holds the
 * mapping the block was translated under.  The index is known here, so
 * it is a load and two compares. */
static void check_mapping(struct jit *j, uint64_t lin, uint64_t phys, uint32_t fail)
{
	struct emit *e = &j->e;
	struct x86_cpu *cpu = j->cpu;
	const unsigned idx = (lin >> 12) & (X86_TLB_SIZE - 1);
	const int32_t ent = JS(tlb[0][0][0]) +
			    (int32_t)(((j->user * X86_ACC_KINDS + X86_ACC_FETCH) * X86_TLB_SIZE + idx) *
				      sizeof(struct x86_tlb_entry));
	uint8_t *host = guest_mem_ptr(&cpu->vm->mem, phys & ~0xfffull, 4096);
	uint64_t addend = (uint64_t)(uintptr_t)host - (lin & ~0xfffull);
	e_load(e, 8, HR_RAX, js_mem(ent + (int32_t)offsetof(struct x86_tlb_entry, tag)));
	e_mov_ri(e, JIT_T2, lin & ~0xfffull);
	e_alu_rm(e, 7, 8, HR_RAX, hrm_reg(JIT_T2));
	if (j->nfixups < JIT_MAX_FIXUPS)
		j->fixups[j->nfixups++] = (struct jit_fixup){ e_jcc(e, 5, 0), fail };
	e_load(e, 8, HR_RAX, js_mem(ent + (int32_t)offsetof(struct x86_tlb_entry, addend)));
	e_mov_ri(e, JIT_T2, addend);
	e_alu_rm(e, 7, 8, HR_RAX, hrm_reg(JIT_T2));
	if (j->nfixups < JIT_MAX_FIXUPS)
		j->fixups[j->nfixups++] = (struct jit_fixup){ e_jcc(e, 5, 0), fail };
	else
		j->overflow = true;
}

enum translate_result { TR_OK, TR_FAIL, TR_FULL };

static enum translate_result translate(struct x86_cpu *cpu, struct jit_ctx *ctx,
				       struct x86_block *b)
{
	if (ctx->size - ctx->used < JIT_BLOCK_ROOM)
		return TR_FULL;
	struct jit *j = ctx->j;
	memset(j, 0, offsetof(struct jit, fixups));
	uint8_t *start = ctx->rw + ctx->used;
	j->ctx = ctx;
	j->cpu = cpu;
	j->b = b;
	j->mode = (uint8_t)(b->key & 3);
	j->user = b->key & 4;
	j->env = ctx->env;
	j->fl = JF_MEM;
	j->e = (struct emit){ .p = start, .end = start + JIT_BLOCK_ROOM / 2,
			      .rx_delta = ctx->rx - ctx->rw };
	j->cold_base = ctx->cold_buf;
	j->cold = (struct emit){ .p = ctx->cold_buf, .end = ctx->cold_buf + JIT_BLOCK_ROOM / 2 };

	/* checked entry; when the fetch TLB does not say, C walks the page
	 * tables, and leaves for the run loop if the mapping changed */
	uint8_t *checked = j->e.p;
	uint32_t nomap = cold_off(j);
	jit_cold_call(j, jit_stub(j, STUB_CHECK));
	e_u64(&j->cold, (uint64_t)(uintptr_t)b);
	uint8_t *to_entry = e_jmp(&j->cold, 0);
	check_mapping(j, b->lin, b->phys, nomap);
	if (b->page2 != ~0ull)
		check_mapping(j, (b->lin & ~0xfffull) + 4096, b->page2, nomap);

	/* entry: an exit request? (a read: no dependency from block to block) */
	uint8_t *entry = j->e.p;
	cold_reloc(j, to_entry, emit_rx(&j->e));
	e_insn(&j->e, E_NOSIZE, 1, (const uint8_t[]){ 0x80 }, 1, 7, &(struct hrm){ .mem = true,
		.m = { .base = JIT_STATE, .index = HR_NONE, .scale = 1, .disp = JS(jit.exit_req) } },
	       1, 0);
	jit_jcc_cold(j, 5);
	store_u64(&j->cold, JS(rip), b->lin);
	exit_code(&j->cold, JIT_EXIT_REQUEST);
	jit_cold_jmp(j, jit_stub(j, STUB_EXIT));
	uint8_t *body = j->e.p;

	uint64_t rip = b->lin;
	for (unsigned i = 0; i < b->n && !j->ended; i++) {
		const struct x86_op *op = &b->ops[i];
		j->op = op;
		j->op_index = i;
		j->rip = rip;
		j->next_rip = rip + op->in.len;
		/* a run of pushes and pops shares one TLB probe */
		unsigned run = x86_emit_stack_run(j);
		if (run) {
			for (unsigned k = 0; k < run; k++)
				rip += b->ops[i + k].in.len;
			i += run - 1;
			if (j->overflow || j->e.full || j->cold.full)
				break;
			continue;
		}
		rip = j->next_rip;
		x86_emit_fn *emit = x86_select_emit(&op->in);
		if (!emit || !emit(j, &op->in))
			jit_emit_fallback(j);
		if (j->overflow || j->e.full || j->cold.full)
			break;
	}
	if (!j->ended)
		jit_exit_direct(j, rip);

	bool ok = !j->overflow && !j->e.full && !j->cold.full;
	if (ok && (size_t)(j->e.p - start) + (size_t)(j->cold.p - j->cold_base) > JIT_BLOCK_ROOM)
		ok = false;
	if (!ok) {
		b->jit_failed = true;
		return TR_FAIL;
	}
	/* the out-of-line code goes right after the main path */
	uint8_t *cold = j->e.p;
	size_t cold_len = (size_t)(j->cold.p - j->cold_base);
	memcpy(cold, j->cold_base, cold_len);
	const intptr_t d = j->e.rx_delta;
	const uint64_t cold_rx = (uint64_t)(uintptr_t)cold + (uint64_t)d;
	for (unsigned i = 0; i < j->nfixups; i++)
		if (j->fixups[i].site)
			e_patch_rel32(j->fixups[i].site, d, cold_rx + j->fixups[i].cold_off);
	for (unsigned i = 0; i < j->nrelocs; i++)
		e_patch_rel32(cold + j->relocs[i].off, d, j->relocs[i].target);
	for (unsigned i = 0; i < j->nexits; i++)
		b->jit_out[i].stub += cold_rx;
	ctx->used = (size_t)(cold + cold_len - ctx->rw + 15) & ~(size_t)15;
	ctx->translations++;
	if (ctx->perf_map)
		fprintf(ctx->perf_map, "%llx %zx guest_%llx_%u\n", (unsigned long long)(uintptr_t)(start + d),
			(size_t)(ctx->used - (size_t)(start - ctx->rw)), (unsigned long long)b->lin, b->n);
	b->jit_entry = entry + d;
	b->jit_body = body + d;
	b->jit_checked = checked + d;
	b->jit_key = b->key;
	return TR_OK;
}

/* ---- linking ---- */

void jit_link(struct x86_cpu *cpu, struct x86_block *to)
{
	struct x86_jit_link *l = cpu->jit.chain_link;
	cpu->jit.chain_link = NULL;
	struct jit_ctx *ctx = cpu->bc ? cpu->bc->jit : NULL;
	/* (an interrupt may have come between the exit and this lookup) */
	if (!l || !ctx || !to->jit_entry || to->invalid || l->to || l->from->invalid ||
	    to->key != l->from->key || to->lin != l->target)
		return;
	/* a block on the same page runs under the mapping the jump's own
	 * block was entered with; another page's must be checked */
	bool same_page = ((to->lin ^ l->from->lin) & ~0xfffull) == 0 && to->page2 == ~0ull;
	e_patch_rel32(l->site, ctx->rx - ctx->rw,
		      (uint64_t)(uintptr_t)(same_page ? to->jit_entry : to->jit_checked));
	l->to = to;
	l->next_in = to->jit_in;
	to->jit_in = l;
}

void jit_block_removed(struct x86_block_cache *bc, struct x86_block *b)
{
	struct jit_ctx *ctx = bc->jit;
	if (!ctx || !b->jit_entry)
		return;
	const intptr_t d = ctx->rx - ctx->rw;
	for (struct x86_jit_link *l = b->jit_in, *next; l; l = next) {
		next = l->next_in;
		e_patch_rel32(l->site, d, l->stub);
		l->to = NULL;
		l->next_in = NULL;
	}
	b->jit_in = NULL;
	for (unsigned i = 0; i < 2; i++) {
		struct x86_jit_link *l = &b->jit_out[i];
		if (!l->to)
			continue;
		for (struct x86_jit_link **pp = &l->to->jit_in; *pp; pp = &(*pp)->next_in) {
			if (*pp == l) {
				*pp = l->next_in;
				break;
			}
		}
		l->to = NULL;
	}
	b->jit_key = ~0u;
}

/* ---- running ---- */

int jit_run(struct x86_cpu *cpu, struct x86_block *b, bool one_block, enum jit_exit *why)
{
	struct jit_ctx *ctx = cpu->bc->jit;
	unsigned env = jit_env(cpu);
	if (ctx->env_set && env != ctx->env) {
		/* translated under other assumptions: all of it goes */
		x86_block_cache_flush(cpu->bc);
		ctx->env = (uint8_t)env;
		return -1;
	}
	ctx->env = (uint8_t)env;
	ctx->env_set = true;
	if (!b->jit_entry) {
		if (b->jit_failed)
			return 0;
		enum translate_result r = translate(cpu, ctx, b);
		if (r == TR_FULL) {
			/* whole-cache flush; the caller looks the block up again */
			x86_block_cache_flush(cpu->bc);
			return -1;
		}
		if (r != TR_OK)
			return 0;
	}
	x86_flags_to_jit(cpu);
	cpu->jit.exit = JIT_EXIT_NORMAL;
	cpu->jit.chain_link = NULL;
	cpu->cur_block = NULL;
	uint32_t host_mxcsr = jit_stmxcsr();
	jit_ldmxcsr(jit_mxcsr(cpu));
	cpu->jit.running = true;
	ctx->enter((uint8_t *)cpu + JIT_STATE_BIAS, one_block ? b->jit_body : b->jit_entry);
	cpu->jit.running = false;
	jit_mxcsr_to_guest(cpu);
	jit_ldmxcsr(host_mxcsr);
	*why = (enum jit_exit)cpu->jit.exit;
	return 1;
}

/* ---- the shared stubs ---- */

static void flush_regs(struct emit *e, bool caller_saved_only)
{
	for (unsigned g = 0; g < 16; g++) {
		int h = jit_host_reg[g];
		if (h == HR_NONE)
			continue;
		if (caller_saved_only && h != HR_RCX && h != HR_RDX && h != HR_RSI && h != HR_RDI &&
		    h != HR_R8 && h != HR_R9)
			continue;
		e_store(e, 8, jit_gpr_slot(g), h);
	}
}

static void reload_regs(struct emit *e, bool caller_saved_only)
{
	for (unsigned g = 0; g < 16; g++) {
		int h = jit_host_reg[g];
		if (h == HR_NONE)
			continue;
		if (caller_saved_only && h != HR_RCX && h != HR_RDX && h != HR_RSI && h != HR_RDI &&
		    h != HR_R8 && h != HR_R9)
			continue;
		e_load(e, 8, h, jit_gpr_slot(g));
	}
}

static void call_c(struct emit *e, const void *fn)
{
	e_mov_ri(e, HR_RAX, (uint64_t)(uintptr_t)fn);
	e_call_rm(e, hrm_reg(HR_RAX));
}

int jit_helper_mem(struct x86_cpu *cpu, const void *data, uint64_t lin, uint64_t host_rflags);

/* A stub that calls fn(cpu, data, r10, host rflags) with data the
 * skip bytes after its call; everything but rax is kept, the flags too.
 * fn returning nonzero leaves translated code (the registers are in the
 * state: fn may raise an exception as well) */
static uint64_t helper_stub(struct emit *e, const struct jit_ctx *ctx, const void *fn,
			    int32_t skip)
{
	uint64_t at = emit_rx(e);
	e_byte(e, 0x9c);	/* pushfq */
	e_push(e, HR_R10);
	e_push(e, HR_R11);
	flush_regs(e, false);
	e_lea(e, 8, HR_RDI, js_mem(-JIT_STATE_BIAS));
	e_load(e, 8, HR_RSI, hrm_mem(HR_RSP, HR_NONE, 1, 24));
	e_mov_rr(e, 8, HR_RDX, HR_R10);
	e_load(e, 8, HR_RCX, hrm_mem(HR_RSP, HR_NONE, 1, 16));
	call_c(e, fn);
	e_alu_rm(e, 1, 4, HR_RAX, hrm_reg(HR_RAX));
	e_jcc(e, 5, ctx->stubs[STUB_EXIT_FLUSHED]);
	reload_regs(e, true);
	e_pop(e, HR_R11);
	e_pop(e, HR_R10);
	e_alu_i(e, 0, 8, hrm_mem(HR_RSP, HR_NONE, 1, 8), skip);
	e_byte(e, 0x9d);	/* popfq */
	e_ret(e);
	return at;
}

/* The checked entry found the fetch TLB entry wanting: walk, and go on
 * if the block's linear page(s) still map to its physical one(s) */
static int jit_helper_check(struct x86_cpu *cpu, const void *data)
{
	struct x86_block *b;
	memcpy(&b, data, sizeof(b));
	const bool user = x86_user(cpu);
	cpu->rip = b->lin;
	cpu->jit.exit = JIT_EXIT_NORMAL;
	if ((x86_translate(cpu, b->lin, X86_ACC_FETCH, user) & ~0xfffull) != b->phys >> 12 << 12)
		return 1;
	if (b->page2 != ~0ull &&
	    (x86_translate(cpu, (b->lin & ~0xfffull) + 4096, X86_ACC_FETCH, user) & ~0xfffull) != b->page2)
		return 1;
	return 0;
}

static void make_stubs(struct jit_ctx *ctx)
{
	struct emit e = { .p = ctx->rw, .end = ctx->rw + JIT_STUB_BYTES,
			  .rx_delta = ctx->rx - ctx->rw };
	const int callee_saved[] = { HR_RBX, HR_RBP, HR_R12, HR_R13, HR_R14, HR_R15 };

	/* exit: registers back, host registers and stack as the entry found them */
	ctx->stubs[STUB_EXIT] = emit_rx(&e);
	flush_regs(&e, false);
	ctx->stubs[STUB_EXIT_FLUSHED] = emit_rx(&e);
	e_load(&e, 8, HR_RSP, js_mem(JS(jit.host_sp)));
	e_alu_i(&e, 0, 8, hrm_reg(HR_RSP), 8);
	for (int i = 5; i >= 0; i--)
		e_pop(&e, callee_saved[i]);
	e_ret(&e);

	/* enter(state, code): 6 pushes and 8 bytes keep the stack 16-aligned
	 * at calls made from translated code */
	ctx->stubs[STUB_ENTER] = emit_rx(&e);
	for (int i = 0; i < 6; i++)
		e_push(&e, callee_saved[i]);
	e_alu_i(&e, 5, 8, hrm_reg(HR_RSP), 8);
	e_mov_rr(&e, 8, JIT_STATE, HR_RDI);
	e_store(&e, 8, js_mem(JS(jit.host_sp)), HR_RSP);
	e_mov_rr(&e, 8, HR_RAX, HR_RSI);
	reload_regs(&e, false);
	e_jmp_rm(&e, hrm_reg(HR_RAX));

	/* fallback: rax = the struct x86_op, cpu->rip set, flags in memory */
	ctx->stubs[STUB_FALLBACK] = emit_rx(&e);
	flush_regs(&e, false);
	e_lea(&e, 8, HR_RDI, js_mem(-JIT_STATE_BIAS));
	e_mov_rr(&e, 8, HR_RSI, HR_RAX);
	e_alu_i(&e, 5, 8, hrm_reg(HR_RSP), 8);
	call_c(&e, (const void *)jit_helper_exec);
	e_alu_i(&e, 0, 8, hrm_reg(HR_RSP), 8);
	e_alu_rm(&e, 1, 4, HR_RAX, hrm_reg(HR_RAX));	/* or eax, eax */
	e_jcc(&e, 5, ctx->stubs[STUB_EXIT_FLUSHED]);
	reload_regs(&e, false);
	e_ret(&e);

	/* chain: [rsp] points at the target RIP and the link */
	ctx->stubs[STUB_CHAIN] = emit_rx(&e);
	e_pop(&e, HR_RAX);
	e_load(&e, 8, JIT_T2, hrm_mem(HR_RAX, HR_NONE, 1, 0));
	e_store(&e, 8, js_mem(JS(rip)), JIT_T2);
	e_load(&e, 8, JIT_T2, hrm_mem(HR_RAX, HR_NONE, 1, 8));
	e_store(&e, 8, js_mem(JS(jit.chain_link)), JIT_T2);
	exit_code(&e, JIT_EXIT_CHAIN);
	e_jmp(&e, ctx->stubs[STUB_EXIT]);

	/* a jump cache miss: r11 is where to go */
	ctx->stubs[STUB_JC_MISS] = emit_rx(&e);
	e_store(&e, 8, js_mem(JS(rip)), JIT_T2);
	exit_code(&e, JIT_EXIT_INDIRECT);
	e_jmp(&e, ctx->stubs[STUB_EXIT]);

	ctx->stubs[STUB_MEM] = helper_stub(&e, ctx, (const void *)jit_helper_mem, 16);
	ctx->stubs[STUB_CHECK] = helper_stub(&e, ctx, (const void *)jit_helper_check, 8);

	ctx->used = JIT_STUB_BYTES;
	ctx->enter = (int (*)(void *, void *))(uintptr_t)ctx->stubs[STUB_ENTER];
}

/* ---- life cycle ---- */

int jit_create(struct x86_block_cache *bc, size_t bytes)
{
	if (!bytes)
		bytes = JIT_DEFAULT_BYTES;
	bytes = (bytes + 0xfffff) & ~(size_t)0xfffff;
	if (bytes < (4u << 20))
		bytes = 4u << 20;
	struct jit_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->cold_buf = malloc(JIT_BLOCK_ROOM / 2);
	ctx->j = malloc(sizeof(*ctx->j));
	ctx->fd = memfd_create("minivmm-jit", MFD_CLOEXEC);
	int ret = -ENOMEM;
	if (!ctx->cold_buf || !ctx->j || ctx->fd < 0) {
		ret = ctx->fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	if (ftruncate(ctx->fd, (off_t)bytes) < 0) {
		ret = -errno;
		goto fail;
	}
	ctx->rw = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ctx->fd, 0);
	ctx->rx = mmap(NULL, bytes, PROT_READ | PROT_EXEC, MAP_SHARED, ctx->fd, 0);
	if (ctx->rw == MAP_FAILED || ctx->rx == MAP_FAILED) {
		ret = -errno;
		goto fail;
	}
	ctx->size = bytes;
	make_stubs(ctx);
	if (getenv("MINIVMM_PERF_MAP")) {
		char name[64];
		snprintf(name, sizeof(name), "/tmp/perf-%d.map", (int)getpid());
		ctx->perf_map = fopen(name, "w");
		if (ctx->perf_map)
			setvbuf(ctx->perf_map, NULL, _IOLBF, 0);
	}
	bc->jit = ctx;
	return 0;
fail:
	if (ctx->rw && ctx->rw != MAP_FAILED)
		munmap(ctx->rw, bytes);
	if (ctx->rx && ctx->rx != MAP_FAILED)
		munmap(ctx->rx, bytes);
	if (ctx->fd >= 0)
		close(ctx->fd);
	free(ctx->cold_buf);
	free(ctx->j);
	free(ctx);
	return ret;
}

void jit_destroy(struct x86_block_cache *bc)
{
	struct jit_ctx *ctx = bc->jit;
	if (!ctx)
		return;
	munmap(ctx->rw, ctx->size);
	munmap(ctx->rx, ctx->size);
	close(ctx->fd);
	if (ctx->perf_map)
		fclose(ctx->perf_map);
	free(ctx->cold_buf);
	free(ctx->j);
	free(ctx);
	bc->jit = NULL;
}

void jit_reset(struct x86_block_cache *bc)
{
	if (bc->jit) {
		bc->jit->used = JIT_STUB_BYTES;
		bc->jit->env_set = false;
	}
}
