/* The software x86-64 CPU: architectural state, software MMU and the
 * interfaces other parts of the CPU build on.
 *
 * Contracts for code that executes instructions (integer executor in
 * exec.c, x87/SSE in x87/ and sse/):
 *
 *  - Faults: call x86_raise_exception(cpu, vector, error_code).  It does
 *    not return: it longjmps out of the instruction back to the run loop,
 *    which delivers the exception with cpu->rip still pointing at the
 *    faulting instruction (faults restart the instruction).  So an
 *    instruction must check everything that can fault before it changes
 *    architectural state it cannot undo, or do its stores last.  #PF is
 *    raised by the MMU itself (x86_read_mem & co. set CR2 and the error
 *    code).  The error code is ignored for vectors that push none.
 *  - Memory operands: x86_insn_ea(cpu, insn) gives the effective offset
 *    (address-size wrapped, RIP-relative resolved) within segment
 *    insn->seg; x86_read_mem/x86_write_mem move 1..4096 bytes at
 *    seg:offset with segmentation checks (#GP/#SS), paging (#PF) and
 *    MMIO, crossing pages as needed.  x86_write_mem checks that every page
 *    is writable before it writes any byte.  Alignment checks the
 *    instruction demands (movaps: #GP(0)) are the caller's.
 *  - General registers: x86_get_reg/x86_set_reg with size 1/2/4/8 follow
 *    the architecture (a 32-bit write zero-extends, 8/16-bit writes merge;
 *    byte registers 4..7 are AH..BH when the instruction has no REX).
 *  - RIP: cpu->rip is the address of the instruction being executed;
 *    the run loop moves it to cpu->next_rip when the executor returns.
 *    Executors return 0, or a nonzero X86_EXEC_* code that ends the block.
 *  - Flags: the arithmetic flags are lazy; use x86_cpu_get_rflags /
 *    x86_cpu_set_rflags (or x86_set_arith_flags for CF/PF/AF/ZF/SF/OF
 *    only, e.g. for comisd/fcomi).
 *
 * For tests and the differential tester (tests/unit/test_difftest.c):
 *    struct vm vm; cfg.ram_size = 16 << 20; cfg.smp = 1;
 *    vm_init(&vm, &cfg, &tcg_accel_ops);
 *    struct x86_cpu *cpu = vm.vcpus[0].engine;     (always a struct x86_cpu)
 *    x86_cpu_setup_flat64(cpu, cpl, pt_base);       64-bit, flat segments,
 *        identity paging of the low 512 GiB with 1 GiB pages built at
 *        guest-physical pt_base (8 KiB there), user-accessible, writable,
 *        executable; CPL 0 or 3.
 *    copy code to RAM (guest_mem_write), set cpu->rip, cpu->gpr[], flags
 *    cpu->stop_rip = end; cpu->exit_on_exception = true;
 *    x86_cpu_run(cpu, max_insns) -> X86_EXIT_STOP when RIP reached
 *        stop_rip, X86_EXIT_EXCEPTION (cpu->exc_vector, cpu->exc_error,
 *        cpu->cr2; RIP at the faulting instruction), X86_EXIT_BUDGET, ...
 *    then read cpu->gpr[], x86_cpu_get_rflags(cpu), cpu->fpu.
 *    Code written into RAM from the host (guest_mem_write) is not seen by
 *    the block cache: call x86_block_cache_flush(cpu->bc) (internal.h) or
 *    tcg_memory_written (accel/tcg/tcg.h) after it.
 *
 * Interrupts: the engine asks vm->irqchip (has_interrupt/ack_interrupt)
 * at block boundaries when IF=1, but only after something changed: a
 * set_irq through the engine, a port write, an MMIO write, or
 * x86_cpu_irq_notify() (below) for controllers that change on their own.
 * INIT, SIPI and NMI from a local APIC: accel/tcg/tcg.h.
 */
#ifndef MINIVMM_X86_CPU_H
#define MINIVMM_X86_CPU_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/x86_state.h"
#include "cpu/x86/fpu_state.h"
#include "cpu/x86/insn.h"

struct vm;
struct x86_block;
struct x86_block_cache;

/* The guest TSC frequency (a multiple of 1 GHz: the TSC is host ns times this) */
#define X86_TSC_HZ 2000000000ull

/* Exception vectors */
enum {
	X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3, X86_EXC_OF = 4,
	X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7, X86_EXC_DF = 8, X86_EXC_TS = 10,
	X86_EXC_NP = 11, X86_EXC_SS = 12, X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16,
	X86_EXC_AC = 17, X86_EXC_MC = 18, X86_EXC_XM = 19,
};

/* #PF error code bits */
#define X86_PF_P (1u << 0)
#define X86_PF_W (1u << 1)
#define X86_PF_U (1u << 2)
#define X86_PF_RSVD (1u << 3)
#define X86_PF_I (1u << 4)

/* The lazy arithmetic flags: the last flag-setting operation, its
 * operands and result; CF/PF/AF/ZF/SF/OF are computed on demand. */
enum x86_cc_op {
	X86_CC_EFLAGS,		/* cc_src holds the flags themselves */
	X86_CC_ADD, X86_CC_ADC, X86_CC_SUB, X86_CC_SBB,
	X86_CC_LOGIC,		/* and/or/xor/test: CF=OF=AF=0 */
	X86_CC_INC, X86_CC_DEC,	/* CF kept in cc_carry */
	X86_CC_NEG,
	X86_CC_SHIFT,		/* shl/shr/sar: CF in cc_carry, OF in cc_src2, AF=0 */
	X86_CC_MUL,		/* mul/imul: CF=OF in cc_carry and cc_src2, AF=0 */
	X86_CC_JIT,		/* translated code's form, in cpu->jit.flags */
};

#define X86_ARITH_FLAGS (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | \
			 X86_RFLAGS_SF | X86_RFLAGS_OF)

/* Software TLB: direct-mapped, one array per privilege (CPL3 accesses
 * and the others) and access kind.  tag is the linear page address, or
 * X86_TLB_EMPTY.  A hit is a compare; the host address is addend +
 * linear address. */
#define X86_TLB_BITS 8
#define X86_TLB_SIZE (1u << X86_TLB_BITS)
#define X86_TLB_EMPTY 2ull	/* never matches: real tags have bit 1 clear */
enum x86_access { X86_ACC_READ, X86_ACC_WRITE, X86_ACC_FETCH, X86_ACC_KINDS };

struct x86_tlb_entry {
	uint64_t tag;
	uintptr_t addend;
	uint64_t phys;		/* guest-physical page */
	bool global;
};

#define X86_JMP_CACHE_SIZE 4096

/* Machine-check banks, as many as QEMU gives its CPUs */
#define X86_MCE_BANKS 10

/* Why x86_cpu_run returned */
enum x86_exit {
	X86_EXIT_BUDGET,	/* instruction budget used up */
	X86_EXIT_KICK,		/* cpu->kick was set */
	X86_EXIT_HLT,		/* HLT; cpu->halted is set */
	X86_EXIT_RESET,		/* triple fault */
	X86_EXIT_STOP,		/* RIP reached cpu->stop_rip */
	X86_EXIT_EXCEPTION,	/* cpu->exit_on_exception and an exception happened */
	X86_EXIT_SHUTDOWN,	/* the machine asked for power-off */
};

/* Executor return codes (ends the block) */
enum {
	X86_EXEC_NEXT = 0,
	X86_EXEC_END_BLOCK = 1,	/* state changed that affects decoding or translation */
	X86_EXEC_HLT = 2,
};

/* What translated code (jit/) keeps in the CPU state besides the
 * architectural registers; it sits right after them so that code
 * addressing the state from cpu + 128 reaches all of it with one-byte
 * displacements */
struct x86_jit_state {
	/* Nonzero: translated code returns to the run loop at the next block
	 * entry.  Any thread sets it (x86_cpu_request_exit); only the run
	 * loop clears it, so no request is lost. */
	_Atomic uint8_t exit_req;
	/* nothing translated code writes shares an aligned 8 bytes with
	 * exit_req: the read at every block entry would wait for the store */
	uint8_t pad[7];
	/* the arithmetic flags while cc_op is X86_CC_JIT: OF in bit 0, the
	 * low byte of RFLAGS (what LAHF gives) in bits 8-15 */
	uint16_t flags;
	uint8_t exit;		/* enum jit_exit: why translated code returned */
	bool running;		/* in translated code (or C it called) */
	uint64_t scratch[2] __attribute__((aligned(16)));	/* a memory operand on the slow path */
	uint64_t host_sp;	/* the host stack in the entry trampoline */
	void *chain_link;	/* the direct exit that left (struct x86_jit_link), or NULL */
	uint64_t branch_rip;	/* the indirect branch that left */
	int64_t branch_rsp_delta;	/* what it added to RSP */
};

struct x86_cpu {
	uint64_t gpr[16];	/* enum x86_gpr */
	uint64_t rip;		/* start of the current instruction */
	uint64_t next_rip;	/* set before an executor runs: rip + len */
	struct x86_jit_state jit;

	/* RFLAGS without the arithmetic flags, which live in the lazy state */
	uint64_t rflags;
	uint8_t cc_op;		/* enum x86_cc_op */
	uint8_t cc_size;	/* operand size in bytes */
	bool cc_carry;		/* carry in for ADC/SBB, CF kept by INC/DEC */
	uint64_t cc_dst;	/* result */
	uint64_t cc_src;	/* first operand (or flags for X86_CC_EFLAGS) */
	uint64_t cc_src2;	/* second operand */

	struct x86_segment seg[X86_NR_SEGS];	/* enum x86_seg; incl. LDTR and TR */
	struct x86_dtable gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t dr[8];
	/* DR0-DR3 by what DR7 enables them for (bit n: DRn; debug.c):
	 * instruction, data (write or read/write) and I/O breakpoints */
	uint8_t dbg_insn, dbg_data, dbg_io;
	uint8_t dbg_hits;	/* data/I/O breakpoints the current instruction hit */
	bool dbg_active;	/* any breakpoint enabled: interpret, checking each insn */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t tsc_offset;	/* guest TSC = host-relative counter + offset */
	uint64_t tsc_aux, pat, apic_base, misc_enable, mtrr_def_type;
	uint64_t mtrr_fixed[11];	/* 64K_00000, 16K_80000/A0000, 4K_C0000..F8000 */
	uint64_t mtrr_var[16];		/* PHYSBASE0, PHYSMASK0, ... PHYSMASK7 */
	uint64_t mcg_ctl, mcg_status;
	uint64_t mc_bank[X86_MCE_BANKS][4];	/* MCi_CTL, STATUS, ADDR, MISC */
	uint8_t cpl;
	uint8_t mode;		/* enum x86_cpu_mode, from CR0.PE, EFER.LMA, CS */

	struct x86_fpu_state fpu;

	bool tlb_has_large;	/* a 2M/4M/1G page is in the TLB: invlpg flushes all */

	/* events */
	bool halted;
	bool wait_for_sipi;	/* an AP before INIT/SIPI */
	bool intr_shadow;	/* after sti, mov ss, pop ss: no interrupt before the next insn */
	bool nmi_pending;
	atomic_bool init_pending;	/* INIT from an APIC, taken at the next block boundary */
	atomic_int sipi_pending;	/* SIPI vector, or -1 */
	bool nmi_blocked;	/* in an NMI handler until iret */
	bool triple_fault;
	atomic_bool kick;	/* set from any thread: leave x86_cpu_run soon */
	int delivering;		/* vector being delivered, or -1: #DF and triple fault */

	/* exception in flight (x86_raise_exception -> run loop) */
	int exc_vector;		/* -1 when none */
	uint32_t exc_error;
	bool exc_has_error;
	jmp_buf jmp;
	bool jmp_valid;

	/* for tests and the differential tester */
	uint64_t stop_rip;	/* ~0 when unused */
	bool exit_on_exception;

	/* statistics */
	uint64_t insns_executed;
	uint64_t blocks_translated;
	uint64_t blocks_executed;
	uint64_t tlb_misses;
	uint64_t tlb_flushes;
	uint64_t exceptions;
	uint64_t interrupts;

	uint64_t budget;	/* instructions left in this x86_cpu_run */
	bool block_dirty;	/* end the running block after this instruction (its code was
				 * written, or an MMIO write may have raised an interrupt) */
	struct x86_block *cur_block;

	/* interrupt state changed (a line moved, a device register was
	 * written): look at the irqchip again.  Bumped from any thread by the
	 * engine's set_irq and by x86_cpu_irq_notify. */
	atomic_uint irq_gen;
	unsigned irq_gen_checked;
	unsigned irq_poll;

	unsigned debug_mask;	/* -d categories (enum debug_mask), copied at init */
	/* physical addresses are ANDed with this: bit 20 clear while the
	 * board's A20 gate is off (tcg_set_a20); a platform signal, so not
	 * touched by RESET or INIT */
	uint64_t a20_mask;

	struct x86_block_cache *bc;	/* shared by the VM's vCPUs; NULL: decode every time */
	struct vm *vm;
	unsigned id;

	/* software MMU, last: large and touched through an index;
	 * tlb[user][access kind][index] */
	struct x86_tlb_entry tlb[2][X86_ACC_KINDS][X86_TLB_SIZE];
	/* by linear RIP; an empty slot holds x86_no_block, never NULL */
	struct x86_block *jmp_cache[X86_JMP_CACHE_SIZE];
};

/* Make translated code return to the run loop at its next block entry
 * (safe from any thread; the caller sets the flag of its event first) */
static inline void x86_cpu_request_exit(struct x86_cpu *cpu)
{
	atomic_store(&cpu->jit.exit_req, 1);
}

/* Something outside the CPU changed what the irqchip would answer (for
 * interrupt controllers that change state without vm_set_irq, e.g. a
 * local APIC timer): safe from any thread. */
static inline void x86_cpu_irq_notify(struct x86_cpu *cpu)
{
	atomic_fetch_add_explicit(&cpu->irq_gen, 1, memory_order_relaxed);
	x86_cpu_request_exit(cpu);
}

/* Power-on state (bsp: start at F000:FFF0; an AP waits for SIPI) */
void x86_cpu_init(struct x86_cpu *cpu, struct vm *vm, unsigned id);
void x86_cpu_reset(struct x86_cpu *cpu, bool bsp);
/* Start an AP at vector << 12 in real mode */
void x86_cpu_sipi(struct x86_cpu *cpu, uint8_t vector);
/* Run up to budget instructions */
enum x86_exit x86_cpu_run(struct x86_cpu *cpu, uint64_t budget);

uint64_t x86_cpu_get_rflags(struct x86_cpu *cpu);
void x86_cpu_set_rflags(struct x86_cpu *cpu, uint64_t rflags);
/* Set CF/PF/AF/ZF/SF/OF from flags, leaving every other bit */
void x86_set_arith_flags(struct x86_cpu *cpu, uint64_t flags);
/* Evaluate condition code cc (0..15 as in Jcc) */
bool x86_cond(struct x86_cpu *cpu, unsigned cc);

/* Raise an exception from inside an instruction: does not return.  Only
 * valid while x86_cpu_run is on the stack (it aborts otherwise: a bug). */
__attribute__((noreturn)) void x86_raise_exception(struct x86_cpu *cpu, int vector,
						   uint32_t error_code);

/* Registers by number (0..15) and size 1/2/4/8; see the note at the top */
uint64_t x86_get_reg(const struct x86_cpu *cpu, const struct x86_insn *insn, unsigned reg,
		     unsigned size);
void x86_set_reg(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned reg, unsigned size,
		 uint64_t value);

/* Effective offset of the memory operand */
uint64_t x86_insn_ea(const struct x86_cpu *cpu, const struct x86_insn *insn);

/* Memory by segment:offset (seg = enum x86_seg) */
void x86_read_mem(struct x86_cpu *cpu, int seg, uint64_t offset, void *buf, unsigned size);
void x86_write_mem(struct x86_cpu *cpu, int seg, uint64_t offset, const void *buf,
		   unsigned size);
uint64_t x86_read_mem_u(struct x86_cpu *cpu, int seg, uint64_t offset, unsigned size);
void x86_write_mem_u(struct x86_cpu *cpu, int seg, uint64_t offset, unsigned size,
		     uint64_t value);

/* Memory by linear address; user = the access is a CPL3 access */
void x86_read_lin(struct x86_cpu *cpu, uint64_t lin, void *buf, unsigned size, bool user);
void x86_write_lin(struct x86_cpu *cpu, uint64_t lin, const void *buf, unsigned size, bool user);
/* Linear -> guest-physical for access kind; raises #PF */
uint64_t x86_translate(struct x86_cpu *cpu, uint64_t lin, enum x86_access acc, bool user);
/* Linear -> guest-physical as a supervisor read, without raising #PF
 * (it does set accessed bits, as a real walk would); false if not mapped.
 * For debugging and tests. */
bool x86_probe(struct x86_cpu *cpu, uint64_t lin, uint64_t *phys);

void x86_tlb_flush(struct x86_cpu *cpu, bool include_global);
void x86_tlb_flush_page(struct x86_cpu *cpu, uint64_t lin);

/* Mode changes: call after writing CR0, CR4, EFER or loading CS */
void x86_update_mode(struct x86_cpu *cpu);
int x86_write_cr(struct x86_cpu *cpu, unsigned cr, uint64_t value);	/* raises #GP */
int x86_write_msr(struct x86_cpu *cpu, uint32_t index, uint64_t value);	/* -EINVAL: #GP */
int x86_read_msr(struct x86_cpu *cpu, uint32_t index, uint64_t *value);
uint64_t x86_read_tsc(struct x86_cpu *cpu);

/* Set up 64-bit mode with flat segments and identity paging of the low
 * 512 GiB (page tables at guest-physical pt_base, 8 KiB); for tests. */
int x86_cpu_setup_flat64(struct x86_cpu *cpu, unsigned cpl, uint64_t pt_base);

/* Flat segment cache for tests and the boot code */
void x86_seg_set_flat(struct x86_segment *s, uint16_t sel, bool code, unsigned bits,
		      unsigned dpl);

/* CPUID as this CPU reports it */
void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* IA32_ARCH_CAPABILITIES: the transient-execution flaws this CPU is free of */
uint64_t x86_arch_capabilities(void);

#endif
