/* The translator: decoded blocks (block.c) to x86-64 host code.
 *
 * The contract between translated code and the rest of the CPU is the
 * state block, struct x86_cpu, which translated code addresses through
 * JIT_STATE = cpu + 128 (so the registers, RIP and struct x86_jit_state
 * are all within a one-byte displacement):
 *
 *  - Guest registers live in host registers while translated code runs
 *    (jit_host_reg: eleven of them; RSP, R10, R11, R14 and R15 stay in
 *    cpu->gpr), and are written back to cpu->gpr before anything in C
 *    can look at them (exits, helper calls, faults).
 *  - The arithmetic flags are in host RFLAGS when the last instruction
 *    that set them ran natively; between blocks and around C calls they
 *    are in cpu->jit.flags with cc_op X86_CC_JIT (LAHF/SETO form).
 *  - Memory operands are probed inline in the soft TLB (jit_mem.c); a
 *    miss, MMIO, a store to a page holding code or a page crossing takes
 *    the out-of-line path, which calls C and redoes the instruction on a
 *    scratch copy of the operand.
 *  - An instruction the translator does not emit calls its interpreter
 *    executor (the fallback), so coverage is never a matter of
 *    correctness.
 *
 * Emitters live with their instruction group's semantics in ops/ and
 * use what this header declares. */
#ifndef MINIVMM_X86_JIT_H
#define MINIVMM_X86_JIT_H

#include <stddef.h>

#include "cpu/x86/internal.h"
#include "cpu/x86/jit/emit.h"

/* Host registers with a fixed role in translated code */
#define JIT_STATE HR_R15	/* cpu + JIT_STATE_BIAS */
#define JIT_T0 HR_RAX		/* scratch: flags (LAHF/SAHF), TLB index and addend */
#define JIT_T1 HR_R10		/* scratch: a memory operand's linear address */
#define JIT_T2 HR_R11		/* scratch: a guest register kept in the state */
#define JIT_STATE_BIAS 128

/* Displacement of a struct x86_cpu field from JIT_STATE */
#define JS(field) ((int32_t)offsetof(struct x86_cpu, field) - JIT_STATE_BIAS)

static inline struct hrm js_mem(int32_t disp)
{
	return hrm_mem(JIT_STATE, HR_NONE, 1, disp);
}

/* Guest register n's host register, or HR_NONE when it stays in cpu->gpr */
extern const int8_t jit_host_reg[16];

static inline struct hrm jit_gpr_slot(unsigned n)
{
	return js_mem(JS(gpr[0]) + 8 * (int32_t)n);
}

/* Where the guest's arithmetic flags are (struct jit.fl) */
enum {
	JF_MEM,		/* cpu->jit.flags; host RFLAGS holds nothing of the guest's */
	JF_HOST,	/* host RFLAGS; cpu->jit.flags is stale */
	JF_BOTH,	/* both */
};

/* Why translated code returned to the run loop (cpu->jit.exit) */
enum jit_exit {
	JIT_EXIT_NORMAL,	/* go on at cpu->rip */
	JIT_EXIT_CHAIN,		/* a direct branch to cpu->rip; cpu->jit.chain_site may be linked */
	JIT_EXIT_INDIRECT,	/* an indirect branch to cpu->rip missed the jump cache */
	JIT_EXIT_REQUEST,	/* cpu->jit.exit_req was set at a block entry */
	JIT_EXIT_HLT,		/* an executor returned X86_EXEC_HLT */
};

struct jit_ctx;

/* The shared stubs translated code calls (jit.c) */
enum jit_stub {
	STUB_ENTER,		/* C: int enter(void *state, void *code) */
	STUB_EXIT,		/* write the guest registers back, return to C */
	STUB_EXIT_FLUSHED,	/* return to C, the registers are written back */
	STUB_FALLBACK,		/* rax = struct x86_op *: run its executor */
	STUB_CHAIN,		/* called with 16 bytes after the call: target RIP, link */
	STUB_JC_MISS,		/* r11 = the indirect branch's target */
	STUB_MEM,		/* called with a struct jit_mem_data after the call */
	STUB_CHECK,		/* called with a struct x86_block * after the call: refill the fetch TLB */
	NSTUBS
};

/* A jump in the main path to be pointed at out-of-line code */
struct jit_fixup {
	uint8_t *site;		/* rel32 field, writable view */
	uint32_t cold_off;	/* target: offset in the cold stream */
};

/* A rel32 field in the cold stream aimed at an executable address */
struct jit_reloc {
	uint32_t off;
	uint64_t target;
};

#define JIT_MAX_FIXUPS 256
#define JIT_MAX_RELOCS 512

/* One block's translation */
struct jit {
	struct emit e;		/* the main path, in place in the code buffer */
	struct emit cold;	/* out-of-line code, moved after the main path at the end */
	uint8_t *cold_base;
	struct jit_ctx *ctx;
	struct x86_cpu *cpu;
	struct x86_block *b;
	const struct x86_op *op;	/* the instruction being translated */
	unsigned op_index;		/* its index in b->ops */
	uint64_t rip, next_rip;		/* its address and the next one's */
	uint8_t mode;
	bool user;
	uint8_t env;			/* JIT_ENV_* the translation may assume */
	uint8_t fl;			/* JF_*: where the flags are */
	bool ended;			/* the block's exits are emitted */
	unsigned nexits;		/* direct exits used (x86_block.jit_out) */
	unsigned nfixups, nrelocs;
	bool overflow;			/* too many fixups: give up on the block */
	/* what an emitter passes to its body function (jit_body_fn) */
	uint64_t aux;
	int8_t aux_reg;
	uint8_t aux_size;
	/* large, and not cleared between translations: last */
	struct jit_fixup fixups[JIT_MAX_FIXUPS];
	struct jit_reloc relocs[JIT_MAX_RELOCS];
};

/* What translations may assume beyond their block's mode and privilege;
 * when it changes every translation is dropped (rare: CR0/CR4 set-up, a
 * guest unmasking SSE exceptions) */
#define JIT_ENV_SSE 0x01	/* SSE usable: CR4.OSFXSR, no CR0.EM or CR0.TS */
#define JIT_ENV_SSE_FP 0x02	/* ... and every SSE exception masked in MXCSR */
unsigned jit_env(const struct x86_cpu *cpu);
/* The host MXCSR translated code runs with: the guest's rounding and
 * denormal controls, everything masked, no flags (the flags it raises
 * are or'ed into the guest's at every return to C) */
uint32_t jit_mxcsr(const struct x86_cpu *cpu);
uint32_t jit_stmxcsr(void);
void jit_ldmxcsr(uint32_t v);
/* The flags translated code raised, into the guest's MXCSR */
void jit_mxcsr_to_guest(struct x86_cpu *cpu);

/* ---- the translation core (jit.c) ---- */

/* Make the host RFLAGS hold the guest's flags (before an instruction reads them) */
void jit_flags_need(struct jit *j, struct emit *e);
/* Host RFLAGS is about to be clobbered: keep the guest's flags in memory */
void jit_flags_clobber(struct jit *j, struct emit *e);
/* The instruction just emitted set every arithmetic flag */
static inline void jit_flags_set(struct jit *j)
{
	j->fl = JF_HOST;
}

/* Call the interpreter's executor for the current instruction; or, out
 * of line, for op at rip */
void jit_emit_fallback(struct jit *j);
void jit_cold_fallback(struct jit *j, const struct x86_op *op, uint64_t rip);
/* Block exits: a direct branch to target, with the flags put in memory
 * first.  jit_exit_jcc leaves by cc (host condition code) to taken and
 * falls through to jit_exit_direct's caller. */
void jit_exit_direct(struct jit *j, uint64_t target);
void jit_exit_jcc(struct jit *j, unsigned cc, uint64_t taken);
/* An indirect branch to the guest address in JIT_T2: the jump cache
 * probe.  rsp_delta is what the branch added to RSP (undone if the
 * target turns out not canonical: #GP at the branch). */
void jit_exit_indirect(struct jit *j, int64_t rsp_delta);

/* Cold-stream control flow */
uint8_t *jit_jcc_cold(struct jit *j, unsigned cc);		/* main-path jcc to the cold stream here */
void jit_cold_jmp(struct jit *j, uint64_t target);		/* in cold: jmp to an executable address */
void jit_cold_call(struct jit *j, uint64_t target);
uint64_t jit_stub(const struct jit *j, unsigned which);	/* a shared stub's address */

/* ---- memory operands (jit_mem.c) ---- */

enum jit_access {
	JIT_LOAD,	/* read the operand */
	JIT_STORE,	/* write it without reading */
	JIT_RMW,	/* read and write it */
	JIT_ALIGN16 = 0x10,	/* or'ed in: #GP(0) unless 16-byte aligned */
};

/* An instruction's native code, emitted twice for a memory operand: on
 * the main path with m the guest operand in host memory, and on the
 * out-of-line path with m a scratch copy.  It must emit the same thing
 * both times but for m. */
typedef void jit_body_fn(struct jit *j, struct emit *e, const struct x86_insn *in,
			 struct hrm m);

/* Emit an instruction whose r/m operand is memory: address, TLB probe,
 * body, and the out-of-line path.  size is the operand's size in bytes
 * (1, 2, 4, 8, 16).  Returns false when it cannot (the caller falls
 * back): not 64-bit mode, too many fixups. */
bool jit_emit_memop(struct jit *j, const struct x86_insn *in, unsigned size, unsigned acc,
		    jit_body_fn *body);
/* The effective address of in's memory operand into host register dst
 * (no segment base; lea semantics) */
void jit_emit_ea(struct jit *j, struct emit *e, const struct x86_insn *in, int dst);
/* 64-bit mode stack accesses, RSP updated after the access:
 * jit_emit_push stores size (8 or 2) bytes of the host register src (not
 * rax, r10 or r11), of guest register v's slot when src is
 * JIT_PUSH_SLOT, or of the constant v when src is JIT_PUSH_IMM;
 * jit_emit_pop loads size bytes at RSP (or at the host register from,
 * which becomes RSP) into rax, zero-extended, and adds size + extra to it */
#define JIT_PUSH_SLOT (-2)
#define JIT_PUSH_IMM (-3)
bool jit_emit_push(struct jit *j, int src, uint64_t v, unsigned size);
bool jit_emit_pop(struct jit *j, int from, unsigned size, int32_t extra);
/* The TLB probe of the size bytes at the linear address in JIT_T1 for
 * kind (X86_ACC_READ/WRITE): a hit leaves the host address of JIT_T1 in
 * JIT_T1 + JIT_T2; a miss jumps to the out-of-line stream where it is
 * now (the caller emits what follows there) */
void jit_emit_probe(struct jit *j, unsigned size, enum x86_access kind);

/* ---- the generic form (jit_same.c) ---- */

/* jit_emit_same options */
#define JS_READ_REG 0x01	/* the reg operand is read */
#define JS_WRITE_REG 0x02	/* ... written */
#define JS_READ_RM 0x04		/* the r/m operand is read */
#define JS_WRITE_RM 0x08	/* ... written */
#define JS_FLAGS_IN 0x10	/* reads the arithmetic flags */
#define JS_FLAGS_OUT 0x20	/* sets them all */
#define JS_FLAGS_SOME 0x40	/* sets some and keeps others (inc, dec, bt...) */
#define JS_NO_REG 0x80		/* ModRM.reg is an opcode extension */
#define JS_RM_SIZE1 0x100	/* the r/m operand is 8-bit (movzx/movsx/setcc) */
#define JS_RM_SIZE2 0x200	/* ... 16-bit */
#define JS_RM_SIZE4 0x400	/* ... 32-bit (movsxd) */
#define JS_LOCK 0x800		/* keep a LOCK prefix */
#define JS_F3 0x1000		/* keep a mandatory F3 (popcnt, lzcnt) */
#define JS_RM_REG 0x2000	/* a register r/m operand must be in a register */
#define JS_NO_REX 0x4000	/* (jit_same_op) byte registers 4-7 are AH..BH */

/* Emit in as the same host instruction (same opcode, immediate and
 * operand size) with its operands mapped: guest registers to their host
 * registers or state slots, a memory operand through the TLB.  Returns
 * false when the form cannot be expressed (the caller falls back). */
bool jit_emit_same(struct jit *j, const struct x86_insn *in, unsigned opts);
/* Just the instruction, with reg (a host register or /digit) and rm as
 * given (for bodies that move operands themselves) */
void jit_same_op(struct emit *e, const struct x86_insn *in, unsigned opts, int reg, struct hrm rm);

/* ---- the groups' emitters (in ops/ and the SIMD files) ---- */

/* Each returns true when it emitted the instruction, false to leave it
 * to the interpreter (having emitted nothing) */
typedef bool x86_emit_fn(struct jit *j, const struct x86_insn *in);
/* The emitter of in's group (exec.c), or NULL */
x86_emit_fn *x86_select_emit(const struct x86_insn *in);

bool x86_emit_alu(struct jit *j, const struct x86_insn *in);
bool x86_emit_shift(struct jit *j, const struct x86_insn *in);
bool x86_emit_muldiv(struct jit *j, const struct x86_insn *in);
bool x86_emit_mov(struct jit *j, const struct x86_insn *in);
bool x86_emit_stack(struct jit *j, const struct x86_insn *in);
/* Pushes and pops from j->op on, as one access: the number of
 * instructions emitted (0: none, each goes its own way) */
unsigned x86_emit_stack_run(struct jit *j);
bool x86_emit_branch(struct jit *j, const struct x86_insn *in);
bool x86_emit_bitops(struct jit *j, const struct x86_insn *in);
bool x86_emit_xchg(struct jit *j, const struct x86_insn *in);
bool x86_emit_misc(struct jit *j, const struct x86_insn *in);
bool x86_emit_sse(struct jit *j, const struct x86_insn *in);
bool x86_emit_string(struct jit *j, const struct x86_insn *in);

/* ---- the engine's side (jit.c) ---- */

/* A code buffer of bytes (0: the default) for the block cache's VM */
int jit_create(struct x86_block_cache *bc, size_t bytes);
void jit_destroy(struct x86_block_cache *bc);
/* Every translation is gone (the block cache is being emptied) */
void jit_reset(struct x86_block_cache *bc);
/* b leaves the cache: no jump may reach its code any more */
void jit_block_removed(struct x86_block_cache *bc, struct x86_block *b);
/* Run translated code starting with b (translating it first); with
 * one_block, past b's exit-request check, which the caller has set so
 * that the next block returns.  Returns 1 when it ran: cpu->rip and the
 * registers are up to date and *why says what ended it; 0 when b cannot
 * be translated; -1 when the code buffer was full and everything was
 * flushed (b is gone: look it up again). */
int jit_run(struct x86_cpu *cpu, struct x86_block *b, bool one_block, enum jit_exit *why);
/* After a JIT_EXIT_CHAIN exit and the lookup of the block at cpu->rip */
void jit_link(struct x86_cpu *cpu, struct x86_block *to);

#endif
