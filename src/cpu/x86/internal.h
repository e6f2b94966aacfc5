/* Shared inside the software CPU: fast paths for memory and registers,
 * the block cache, and functions between the CPU's files. */
#ifndef MINIVMM_X86_INTERNAL_H
#define MINIVMM_X86_INTERNAL_H

#include <string.h>

#include "core/vm.h"
#include "cpu/x86/cpu.h"
#include "cpu/x86/exec.h"

/* ---- decoded block cache (block.c) ---- */

#define X86_BLOCK_MAX_INSNS 64

typedef int (*x86_exec_fn)(struct x86_cpu *cpu, const struct x86_insn *in);

/* A decoded instruction with the executor chosen for it at translation */
struct x86_op {
	x86_exec_fn fn;
	struct x86_insn in;
};

/* The executor for an instruction: a specialised one for the common
 * integer forms, else x86_exec */
x86_exec_fn x86_select_exec(const struct x86_insn *in);

/* A direct jump from one block's translated code to another block's
 * (jit/): made when the jump is first taken, undone when either block
 * leaves the cache */
struct x86_jit_link {
	struct x86_block *from, *to;	/* to: NULL while it goes to its exit stub */
	uint64_t target;		/* the linear address it jumps to */
	uint8_t *site;			/* the jump's rel32, writable view */
	uint64_t stub;			/* its exit stub (executable address) */
	struct x86_jit_link *next_in;	/* in to->jit_in */
};

struct x86_block {
	uint64_t phys;		/* guest-physical address of the first byte */
	uint64_t lin;		/* linear address it was entered at */
	uint64_t phys_end;	/* one past the last byte */
	uint64_t page2;		/* second guest-physical page, or ~0 */
	uint32_t key;		/* mode bits it was decoded under */
	bool uncached;		/* decoded from MMIO: freed after it runs */
	uint16_t n;
	bool invalid;
	struct x86_block *hash_next;
	struct x86_block *page_next[2];	/* in the per-page lists of its one or two pages */
	struct x86_block *free_next;
	/* translated code (jit/) */
	void *jit_entry;	/* NULL: not translated */
	void *jit_body;		/* past the entry's exit-request check */
	void *jit_checked;	/* entry that checks the fetch TLB still maps lin to phys */
	uint32_t jit_key;	/* key once translated, else ~0: what the jump cache probe compares */
	bool jit_failed;	/* cannot be translated: the interpreter runs it */
	struct x86_jit_link jit_out[2];
	struct x86_jit_link *jit_in;
	struct x86_op ops[];
};

#define X86_BLOCK_HASH_SIZE 65536

struct x86_block_cache {
	struct x86_block *hash[X86_BLOCK_HASH_SIZE];
	struct x86_block **page_blocks;	/* per guest-physical page number */
	uint8_t *code_bitmap;		/* a page holds decoded code */
	uint64_t nr_pages;
	struct x86_block *dead;		/* invalidated, freed at a safe point */
	uint64_t nr_blocks;
	uint64_t generation;		/* bumped on every invalidation */
	struct x86_cpu *cpus[VM_MAX_VCPUS];	/* to flush their write TLBs and jump caches */
	unsigned nr_cpus;
	struct jit_ctx *jit;		/* the translator's code buffer; NULL: interpret only */
};

/* An empty jump cache slot points here (lin X86_NO_LIN matches nothing) */
#define X86_NO_LIN 0x8000000000000001ull
extern struct x86_block x86_no_block;
void x86_jmp_cache_clear(struct x86_cpu *cpu);

int x86_block_cache_init(struct x86_block_cache *bc, uint64_t phys_limit);
void x86_block_cache_destroy(struct x86_block_cache *bc);
void x86_block_cache_flush(struct x86_block_cache *bc);
/* Free invalidated blocks; only where no block is running */
void x86_block_cache_reap(struct x86_block_cache *bc);
/* A CPU store hit guest-physical [phys, phys+len) on a code page */
void x86_code_written(struct x86_cpu *cpu, uint64_t phys, unsigned len);
/* Memory changed outside the CPUs (DMA): drop the blocks there */
void x86_block_cache_invalidate_range(struct x86_block_cache *bc, uint64_t gpa, uint64_t len);

static inline bool x86_is_code_page(const struct x86_block_cache *bc, uint64_t phys)
{
	uint64_t pn = phys >> 12;
	return bc && pn < bc->nr_pages && (bc->code_bitmap[pn >> 3] & (1u << (pn & 7)));
}


/* ---- flags (flags.c) ---- */
uint64_t x86_compute_arith_flags(const struct x86_cpu *cpu);
/* Put the flags in translated code's form (cc_op X86_CC_JIT) */
void x86_flags_to_jit(struct x86_cpu *cpu);
bool x86_get_cf(const struct x86_cpu *cpu);
/* SF, ZF and PF of a result */
uint64_t x86_szp_flags(uint64_t r, unsigned size);

static inline void x86_set_cc(struct x86_cpu *cpu, unsigned op, unsigned size, uint64_t dst,
			      uint64_t src, uint64_t src2)
{
	cpu->cc_op = (uint8_t)op;
	cpu->cc_size = (uint8_t)size;
	cpu->cc_dst = dst;
	cpu->cc_src = src;
	cpu->cc_src2 = src2;
}

/* ---- helpers ---- */

static inline uint64_t x86_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline uint64_t x86_sext(uint64_t v, unsigned size)
{
	switch (size) {
	case 1: return (uint64_t)(int64_t)(int8_t)v;
	case 2: return (uint64_t)(int64_t)(int16_t)v;
	case 4: return (uint64_t)(int64_t)(int32_t)v;
	default: return v;
	}
}

static inline bool x86_canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static inline bool x86_long_mode(const struct x86_cpu *cpu)
{
	return cpu->efer & X86_EFER_LMA;
}

static inline bool x86_prot_mode(const struct x86_cpu *cpu)
{
	return (cpu->cr0 & X86_CR0_PE) && !(cpu->rflags & X86_RFLAGS_VM);
}

static inline bool x86_user(const struct x86_cpu *cpu)
{
	return cpu->cpl == 3;
}

__attribute__((noreturn)) void x86_raise_pf(struct x86_cpu *cpu, uint64_t lin, uint32_t err);

/* Inline forms of x86_get_reg, x86_set_reg and x86_insn_ea for the
 * executors: they run for nearly every instruction, and a call there
 * cost more than the work (the size switch folds away where the size is
 * known). */
static inline uint64_t x86_reg_read(const struct x86_cpu *cpu, const struct x86_insn *in,
				    unsigned reg, unsigned size)
{
	switch (size) {
	case 1:
		if ((!in || !in->rex) && reg >= 4 && reg < 8)
			return (cpu->gpr[reg - 4] >> 8) & 0xff;
		return cpu->gpr[reg] & 0xff;
	case 2: return cpu->gpr[reg] & 0xffff;
	case 4: return cpu->gpr[reg] & 0xffffffffull;
	default: return cpu->gpr[reg];
	}
}

static inline void x86_reg_write(struct x86_cpu *cpu, const struct x86_insn *in, unsigned reg,
				 unsigned size, uint64_t v)
{
	switch (size) {
	case 1:
		if ((!in || !in->rex) && reg >= 4 && reg < 8)
			cpu->gpr[reg - 4] = (cpu->gpr[reg - 4] & ~0xff00ull) | ((v & 0xff) << 8);
		else
			cpu->gpr[reg] = (cpu->gpr[reg] & ~0xffull) | (v & 0xff);
		break;
	case 2: cpu->gpr[reg] = (cpu->gpr[reg] & ~0xffffull) | (v & 0xffff); break;
	case 4: cpu->gpr[reg] = (uint32_t)v; break;
	default: cpu->gpr[reg] = v; break;
	}
}

static inline uint64_t x86_ea(const struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = (uint64_t)in->disp;
	if (in->base != X86_NO_REG)
		ea += cpu->gpr[in->base];
	if (in->index != X86_NO_REG)
		ea += cpu->gpr[in->index] * in->scale;
	if (in->rip_rel)
		ea += cpu->rip + in->len;
	return ea & x86_mask(in->addrsize);
}

/* ---- memory (mmu.c) ---- */

/* Slow paths: walk, fill the TLB, cross pages, go to MMIO */
uint64_t x86_read_lin_slow(struct x86_cpu *cpu, uint64_t lin, unsigned size, bool user);
void x86_write_lin_slow(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t val,
			bool user);

static inline uint64_t x86_load_host(const void *p, unsigned size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

static inline void x86_store_host(void *p, unsigned size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

static inline uint64_t x86_tlb_tag(uint64_t lin)
{
	return lin & ~0xfffull;
}

static inline struct x86_tlb_entry *x86_tlb_entry(struct x86_cpu *cpu, enum x86_access acc,
						  bool user, uint64_t lin)
{
	return &cpu->tlb[user][acc][(lin >> 12) & (X86_TLB_SIZE - 1)];
}

static inline uint64_t x86_read_lin_u(struct x86_cpu *cpu, uint64_t lin, unsigned size, bool user)
{
	const struct x86_tlb_entry *e = x86_tlb_entry(cpu, X86_ACC_READ, user, lin);
	if (__builtin_expect(e->tag == x86_tlb_tag(lin) && (lin & 0xfff) + size <= 4096, 1))
		return x86_load_host((const void *)(e->addend + lin), size);
	return x86_read_lin_slow(cpu, lin, size, user);
}

static inline void x86_write_lin_u(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t v,
				   bool user)
{
	const struct x86_tlb_entry *e = x86_tlb_entry(cpu, X86_ACC_WRITE, user, lin);
	if (__builtin_expect(e->tag == x86_tlb_tag(lin) && (lin & 0xfff) + size <= 4096, 1)) {
		x86_store_host((void *)(e->addend + lin), size, v);
		return;
	}
	x86_write_lin_slow(cpu, lin, size, v, user);
}

struct x86_block *x86_get_block_slow(struct x86_cpu *cpu, uint64_t lin, uint32_t key,
				     struct x86_block **jc);

static inline unsigned x86_jc_index(uint64_t lin)
{
	return (unsigned)((lin ^ (lin >> 10)) & (X86_JMP_CACHE_SIZE - 1));
}

/* Block lookup or translation for the current RIP.  Runs once per block,
 * so the jump cache hit is inline here and everything else is out of
 * line in block.c (a call with the slow path's register saves cost more
 * than the hit itself). */
static inline struct x86_block *x86_get_block(struct x86_cpu *cpu)
{
	const bool user = x86_user(cpu);
	uint64_t lin;
	if (cpu->mode == X86_MODE_LONG64) {
		/* the canonical check is on the miss path only: a block is
		 * only ever made at a canonical address, so a hit is one */
		lin = cpu->rip;
	} else {
		if (cpu->rip > cpu->seg[X86_CS].limit)
			x86_raise_exception(cpu, X86_EXC_GP, 0);
		lin = (uint32_t)(cpu->seg[X86_CS].base + cpu->rip);
	}
	const uint32_t key = (uint32_t)cpu->mode | (user ? 4u : 0u);
	struct x86_block **jc = &cpu->jmp_cache[x86_jc_index(lin)];
	struct x86_block *b = *jc;
	if (__builtin_expect(b->lin == lin && b->key == key && b->page2 == ~0ull, 1)) {
		/* still the same physical page? (the jump cache survives TLB
		 * flushes: the fetch TLB says whether the mapping holds) */
		const struct x86_tlb_entry *e = x86_tlb_entry(cpu, X86_ACC_FETCH, user, lin);
		if (__builtin_expect(e->tag == x86_tlb_tag(lin) &&
				     e->phys == (b->phys & ~0xfffull), 1))
			return b;
	}
	return x86_get_block_slow(cpu, lin, key, jc);
}

/* How many bytes from off on are inside segment s's limits (0 when off
 * itself is outside) */
static inline uint64_t x86_seg_limit_room(const struct x86_segment *s, uint64_t off)
{
	if (!(s->type & 8) && (s->type & 4)) {
		/* expand-down data: the offsets above the limit */
		uint64_t upper = s->db ? 0xffffffffull : 0xffffull;
		return off > s->limit && off <= upper ? upper - off + 1 : 0;
	}
	return off <= s->limit ? (uint64_t)s->limit - off + 1 : 0;
}

/* How many bytes from seg:off on the segment lets this access reach: 0
 * when off itself is outside its limits or the access kind is not allowed
 * (legacy modes; 64-bit mode has no limits).  One source for the checks of
 * x86_seg_linear and for string instructions that run many elements. */
static inline uint64_t x86_seg_room(const struct x86_cpu *cpu, int seg, uint64_t off, bool write)
{
	const struct x86_segment *s = &cpu->seg[seg];
	if (x86_prot_mode(cpu)) {
		if (s->unusable)
			return 0;
		if (write && ((s->type & 8) || !(s->type & 2)))
			return 0;
		if (!write && (s->type & 0xa) == 8)
			return 0;
	}
	return x86_seg_limit_room(s, off);
}

/* The linear address of seg:off without any check, for what looks at the
 * address itself (alignment checks, invlpg): in 64-bit mode only FS and
 * GS have a base */
static inline uint64_t x86_lin_unchecked(const struct x86_cpu *cpu, int seg, uint64_t off)
{
	if (cpu->mode == X86_MODE_LONG64)
		return off + (seg >= X86_FS ? cpu->seg[seg].base : 0);
	return (uint32_t)(cpu->seg[seg].base + off);
}

/* seg:offset -> linear, with the checks of segmentation (64-bit mode:
 * canonical check only) */
uint64_t x86_seg_linear_slow(struct x86_cpu *cpu, int seg, uint64_t off, unsigned size,
			     bool write);

static inline uint64_t x86_seg_linear(struct x86_cpu *cpu, int seg, uint64_t off, unsigned size,
				      bool write)
{
	if (cpu->mode == X86_MODE_LONG64) {
		uint64_t lin = x86_lin_unchecked(cpu, seg, off);
		if (__builtin_expect(x86_canonical(lin), 1))
			return lin;
	}
	return x86_seg_linear_slow(cpu, seg, off, size, write);
}

/* ---- segments and privilege (seg.c) ---- */

struct x86_desc {
	uint32_t lo, hi;
	uint64_t hi64;		/* upper 8 bytes of a 16-byte system descriptor */
};

/* Read a descriptor by selector; raises #GP(sel) past the table limit */
void x86_read_desc(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d, bool wide);
void x86_desc_to_seg(const struct x86_desc *d, uint16_t sel, struct x86_segment *s);
/* mov/pop to a data segment register or SS, with all protected-mode checks */
void x86_load_seg(struct x86_cpu *cpu, int seg, uint16_t sel);
void x86_set_seg_real(struct x86_cpu *cpu, int seg, uint16_t sel);
void x86_far_jump(struct x86_cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize);
void x86_far_call(struct x86_cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize);
void x86_far_ret(struct x86_cpu *cpu, unsigned opsize, uint16_t pop_bytes);
void x86_iret(struct x86_cpu *cpu, unsigned opsize);

/* task.c: hardware task switches, and what caused them (which decides the
 * busy bits, NT and the back link) */
enum x86_task_source { X86_TASK_JMP, X86_TASK_CALL, X86_TASK_IRET, X86_TASK_INT };
void x86_task_switch(struct x86_cpu *cpu, uint16_t sel, const struct x86_desc *d,
		     enum x86_task_source src, uint64_t ret_rip);
void x86_task_gate_or_tss(struct x86_cpu *cpu, uint16_t sel, const struct x86_desc *d,
			  enum x86_task_source src, uint64_t ret_rip);
void x86_task_return(struct x86_cpu *cpu, uint64_t ret_rip);
/* Loading CS from a descriptor every check has passed, in two steps so
 * that an instruction can fault up to the last moment with nothing
 * changed: x86_cs_prepare sets the descriptor's accessed bit (a store:
 * it may fault) and fills *s; x86_cs_commit puts *s in CS at privilege
 * cpl and cannot fault. */
void x86_cs_prepare(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d, unsigned cpl,
		    struct x86_segment *s);
void x86_cs_commit(struct x86_cpu *cpu, const struct x86_segment *s, unsigned cpl);
/* #GP(0) unless rip fits the code segment of descriptor cs (canonical for
 * 64-bit code, inside the limit otherwise) */
void x86_check_new_rip(struct x86_cpu *cpu, const struct x86_desc *cs, uint64_t rip);

/* ---- interrupts (intr.c) ---- */
enum x86_event_kind { X86_EV_EXCEPTION, X86_EV_SOFT_INT, X86_EV_EXT_INT, X86_EV_NMI };
void x86_deliver(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, bool has_error,
		 uint32_t error_code, uint64_t return_rip);

/* ---- stack ---- */
static inline unsigned x86_stack_size(const struct x86_cpu *cpu)
{
	if (cpu->mode == X86_MODE_LONG64)
		return 8;
	return cpu->seg[X86_SS].db ? 4 : 2;
}

static inline uint64_t x86_get_sp(const struct x86_cpu *cpu)
{
	return cpu->gpr[X86_RSP] & x86_mask(x86_stack_size(cpu));
}

static inline void x86_set_sp(struct x86_cpu *cpu, uint64_t v)
{
	unsigned s = x86_stack_size(cpu);
	if (s == 8)
		cpu->gpr[X86_RSP] = v;
	else if (s == 4)
		cpu->gpr[X86_RSP] = (uint32_t)v;
	else
		cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~0xffffull) | (v & 0xffff);
}

static inline uint64_t x86_mem_read(struct x86_cpu *cpu, int seg, uint64_t off, unsigned size)
{
	uint64_t lin = x86_seg_linear(cpu, seg, off, size, false);
	return x86_read_lin_u(cpu, lin, size, x86_user(cpu));
}

static inline void x86_mem_write(struct x86_cpu *cpu, int seg, uint64_t off, unsigned size,
				 uint64_t v)
{
	uint64_t lin = x86_seg_linear(cpu, seg, off, size, true);
	x86_write_lin_u(cpu, lin, size, v, x86_user(cpu));
}

static inline void x86_push(struct x86_cpu *cpu, unsigned size, uint64_t v)
{
	uint64_t sp = (x86_get_sp(cpu) - size) & x86_mask(x86_stack_size(cpu));
	x86_mem_write(cpu, X86_SS, sp, size, v);
	x86_set_sp(cpu, sp);
}

static inline uint64_t x86_pop(struct x86_cpu *cpu, unsigned size)
{
	uint64_t sp = x86_get_sp(cpu);
	uint64_t v = x86_mem_read(cpu, X86_SS, sp, size);
	x86_set_sp(cpu, sp + size);
	return v;
}

/* ---- debug registers and breakpoints (debug.c) ---- */
/* MOV from/to DRn: #UD, #GP and DR7.GD's #DB as the instruction raises them */
uint64_t x86_debug_read_dr(struct x86_cpu *cpu, unsigned dr);
void x86_debug_write_dr(struct x86_cpu *cpu, unsigned dr, uint64_t v);
/* Recompute the enabled breakpoints from DR7 (after reset or a write) */
void x86_debug_update(struct x86_cpu *cpu);
/* Before each instruction while dbg_active or RF: instruction
 * breakpoints (raises #DB), RF cleared */
void x86_debug_insn_start(struct x86_cpu *cpu);
/* After an instruction that hit a data/I/O breakpoint or single-stepped:
 * raises the #DB trap */
__attribute__((noreturn)) void x86_debug_insn_end(struct x86_cpu *cpu, bool single_step);
/* An access the current instruction makes (memory: linear address) */
void x86_debug_data(struct x86_cpu *cpu, uint64_t lin, unsigned size, bool write);
void x86_debug_io(struct x86_cpu *cpu, uint16_t port, unsigned size);
/* Whether the 4 KiB page of lin holds an enabled data breakpoint */
bool x86_debug_watched_page(const struct x86_cpu *cpu, uint64_t lin);

/* ---- system (system.c) ---- */
int x86_exec_system(struct x86_cpu *cpu, const struct x86_insn *in);
void x86_io_check(struct x86_cpu *cpu, uint16_t port, unsigned size);
uint32_t x86_io_in(struct x86_cpu *cpu, uint16_t port, unsigned size);
void x86_io_out(struct x86_cpu *cpu, uint16_t port, unsigned size, uint32_t v);
int x86_exec_string(struct x86_cpu *cpu, const struct x86_insn *in);

#endif
