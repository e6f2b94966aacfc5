/* The software CPU's life cycle and run loop: power-on state, exception
 * delivery with #DF and triple fault, external interrupts, and running
 * decoded blocks. */
#include "cpu/x86/internal.h"

#include <stdlib.h>

#include "core/log.h"
#include "cpu/x86/jit/jit.h"

#define X86_CPUID_SIGNATURE 0x000306a9u

void x86_seg_set_flat(struct x86_segment *s, uint16_t sel, bool code, unsigned bits, unsigned dpl)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->dpl = (uint8_t)dpl;
	s->present = 1;
	s->g = 1;
	s->l = code && bits == 64;
	s->db = bits == 32 || (!code && bits == 64);
}

static void seg_real(struct x86_segment *s, uint16_t sel, uint64_t base, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->type = type;
	s->s = 1;
	s->present = 1;
}

void x86_cpu_init(struct x86_cpu *cpu, struct vm *vm, unsigned id)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->vm = vm;
	cpu->id = id;
	cpu->debug_mask = vm ? vm->cfg.debug_mask : 0;
	x86_jmp_cache_clear(cpu);
	atomic_store(&cpu->sipi_pending, -1);
	cpu->a20_mask = ~0ull;
	x86_cpu_reset(cpu, id == 0);
}

/* The state INIT sets; x86_cpu_reset adds what only power-on and RESET do */
static void init_state(struct x86_cpu *cpu, bool bsp)
{
	memset(cpu->gpr, 0, sizeof(cpu->gpr));
	cpu->gpr[X86_RDX] = X86_CPUID_SIGNATURE;
	cpu->rip = 0xfff0;
	x86_cpu_set_rflags(cpu, X86_RFLAGS_FIXED);
	seg_real(&cpu->seg[X86_CS], 0xf000, 0xffff0000ull, 0xb);
	seg_real(&cpu->seg[X86_DS], 0, 0, 3);
	seg_real(&cpu->seg[X86_ES], 0, 0, 3);
	seg_real(&cpu->seg[X86_SS], 0, 0, 3);
	seg_real(&cpu->seg[X86_FS], 0, 0, 3);
	seg_real(&cpu->seg[X86_GS], 0, 0, 3);
	seg_real(&cpu->seg[X86_LDTR], 0, 0, 2);
	cpu->seg[X86_LDTR].s = 0;
	seg_real(&cpu->seg[X86_TR], 0, 0, 0xb);
	cpu->seg[X86_TR].s = 0;
	cpu->gdtr.base = cpu->idtr.base = 0;
	cpu->gdtr.limit = cpu->idtr.limit = 0xffff;
	cpu->cr0 = 0x60000010;
	cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->cr8 = 0;
	cpu->efer = 0;
	memset(cpu->dr, 0, sizeof(cpu->dr));
	cpu->dr[6] = 0xffff0ff0;
	cpu->dr[7] = 0x400;
	cpu->dbg_hits = 0;
	x86_debug_update(cpu);
	cpu->star = cpu->lstar = cpu->cstar = cpu->sfmask = cpu->kernel_gs_base = 0;
	cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
	cpu->tsc_aux = 0;
	cpu->misc_enable = 1;
	memset(&cpu->fpu, 0, sizeof(cpu->fpu));
	cpu->fpu.fcw = 0x37f;
	cpu->fpu.ftw = 0xffff;
	cpu->fpu.mxcsr = 0x1f80;
	cpu->halted = false;
	cpu->wait_for_sipi = !bsp;
	cpu->intr_shadow = false;
	cpu->nmi_pending = cpu->nmi_blocked = false;
	cpu->triple_fault = false;
	cpu->delivering = -1;
	cpu->exc_vector = -1;
	cpu->stop_rip = ~0ull;
	cpu->irq_gen_checked = ~0u;
	/* a SIPI that came with this INIT stays pending */
	atomic_store(&cpu->init_pending, false);
	cpu->cur_block = NULL;
	cpu->block_dirty = false;
	x86_update_mode(cpu);
	x86_tlb_flush(cpu, true);
}

void x86_cpu_reset(struct x86_cpu *cpu, bool bsp)
{
	init_state(cpu, bsp);
	/* what the SDM's table of states after power-up, RESET and INIT
	 * lists as unchanged by INIT */
	cpu->tsc_offset = 0;
	cpu->apic_base = 0xfee00000ull | (1u << 11) | (bsp ? 1u << 8 : 0);
	cpu->pat = 0x0007040600070406ull;
	cpu->mtrr_def_type = 0;
	memset(cpu->mtrr_fixed, 0, sizeof(cpu->mtrr_fixed));
	memset(cpu->mtrr_var, 0, sizeof(cpu->mtrr_var));
	/* every error source enabled, nothing logged (as QEMU starts them) */
	cpu->mcg_ctl = ~0ull;
	cpu->mcg_status = 0;
	memset(cpu->mc_bank, 0, sizeof(cpu->mc_bank));
	for (int i = 0; i < X86_MCE_BANKS; i++)
		cpu->mc_bank[i][0] = ~0ull;
}

void x86_cpu_sipi(struct x86_cpu *cpu, uint8_t vector)
{
	if (!cpu->wait_for_sipi)
		return;
	cpu->wait_for_sipi = false;
	cpu->halted = false;
	seg_real(&cpu->seg[X86_CS], (uint16_t)(vector << 8), (uint64_t)vector << 12, 0xb);
	cpu->rip = 0;
	x86_update_mode(cpu);
}

int x86_cpu_setup_flat64(struct x86_cpu *cpu, unsigned cpl, uint64_t pt_base)
{
	if ((pt_base & 0xfff) || cpl > 3)
		return -1;
	uint64_t *pml4 = guest_mem_ptr(&cpu->vm->mem, pt_base, 0x2000);
	if (!pml4)
		return -1;
	uint64_t *pdpt = pml4 + 512;
	memset(pml4, 0, 0x2000);
	/* 1 GiB pages: P, W, U, A, D, PS */
	pml4[0] = (pt_base + 0x1000) | 0x27;
	for (uint64_t i = 0; i < 512; i++)
		pdpt[i] = (i << 30) | 0xe7;
	cpu->cr3 = pt_base;
	cpu->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE | X86_EFER_SCE;
	cpu->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	unsigned rpl = cpl;
	x86_seg_set_flat(&cpu->seg[X86_CS], (uint16_t)((cpl == 3 ? 0x2b : 0x08) | rpl), true, 64, cpl);
	x86_seg_set_flat(&cpu->seg[X86_SS], (uint16_t)((cpl == 3 ? 0x23 : 0x10) | rpl), false, 64, cpl);
	static const int data[] = { X86_DS, X86_ES, X86_FS, X86_GS };
	for (int i = 0; i < 4; i++)
		x86_seg_set_flat(&cpu->seg[data[i]], 0, false, 64, 3);
	cpu->cpl = (uint8_t)cpl;
	cpu->wait_for_sipi = false;
	cpu->halted = false;
	x86_cpu_set_rflags(cpu, X86_RFLAGS_FIXED);
	x86_update_mode(cpu);
	x86_tlb_flush(cpu, true);
	return 0;
}

/* ---- exceptions and interrupts ---- */

static bool contributory(int v)
{
	return v == X86_EXC_DE || (v >= X86_EXC_TS && v <= X86_EXC_GP);
}

/* Fault-class exceptions: the instruction restarts, and the RFLAGS image
 * pushed has RF set so that an instruction breakpoint on it does not hit
 * again (SDM 17.3.1.1).  #DB is a fault only for an instruction
 * breakpoint, which pushes RF as it is (0), and for general detect,
 * which sets RF itself (debug.c). */
static bool fault_class(int v)
{
	return v == X86_EXC_DE || (v >= X86_EXC_BR && v <= X86_EXC_NM) ||
	       (v >= X86_EXC_TS && v <= X86_EXC_PF) || v == X86_EXC_MF || v == X86_EXC_AC ||
	       v == X86_EXC_XM || v == 20 || v == 21;
}

/* Deliver the exception in cpu->exc_*; returns false on a triple fault */
static bool deliver_exception(struct x86_cpu *cpu)
{
	int vec = cpu->exc_vector;
	uint32_t err = cpu->exc_error;
	bool has_err = cpu->exc_has_error;
	cpu->exc_vector = -1;
	cpu->exceptions++;

	if (cpu->delivering >= 0) {
		int first = cpu->delivering;
		if (first == X86_EXC_DF) {
			cpu->delivering = -1;
			return false;
		}
		if ((contributory(first) && contributory(vec)) ||
		    (first == X86_EXC_PF && (contributory(vec) || vec == X86_EXC_PF))) {
			vec = X86_EXC_DF;
			err = 0;
			has_err = true;
		}
	}
	if (cpu->vm && (cpu->vm->cfg.debug_mask & DEBUG_INT))
		log_debug("cpu%u: exception %d error %#x at %#llx (cs %#x)", cpu->id, vec, err,
			  (unsigned long long)cpu->rip, cpu->seg[X86_CS].selector);
	cpu->delivering = vec;
	if (fault_class(vec))
		cpu->rflags |= X86_RFLAGS_RF;	/* delivery clears it again */
	/* a fault inside longjmps back to x86_cpu_run with delivering set */
	x86_deliver(cpu, vec, X86_EV_EXCEPTION, has_err, err, cpu->rip);
	cpu->delivering = -1;
	return true;
}

/* Whether take_interrupts has anything to do: checked before every block,
 * so it is inline and asks the irqchip only when something may have
 * changed, and now and then in case a controller changed state on its own */
static inline bool interrupts_wanted(struct x86_cpu *cpu)
{
	if (cpu->nmi_pending)
		return true;
	if (!(cpu->rflags & X86_RFLAGS_IF))
		return false;
	unsigned gen = atomic_load_explicit(&cpu->irq_gen, memory_order_relaxed);
	return gen != cpu->irq_gen_checked || !(++cpu->irq_poll & 255);
}

static void take_interrupts(struct x86_cpu *cpu)
{
	struct vm *vm = cpu->vm;
	if (cpu->nmi_pending && !cpu->nmi_blocked) {
		cpu->nmi_pending = false;
		cpu->halted = false;
		x86_deliver(cpu, X86_EXC_NMI, X86_EV_NMI, false, 0, cpu->rip);
		return;
	}
	if (!(cpu->rflags & X86_RFLAGS_IF))
		return;
	unsigned gen = atomic_load_explicit(&cpu->irq_gen, memory_order_relaxed);
	if (!vm || !vm->irqchip) {
		cpu->irq_gen_checked = gen;	/* nothing to ask */
		return;
	}
	pthread_mutex_lock(&vm->dev_lock);
	int v = -1;
	if (vm->irqchip->has_interrupt(vm->irqchip_opaque, cpu->id))
		v = vm->irqchip->ack_interrupt(vm->irqchip_opaque, cpu->id);
	pthread_mutex_unlock(&vm->dev_lock);
	if (v < 0) {
		cpu->irq_gen_checked = gen;
		return;
	}
	cpu->halted = false;
	cpu->interrupts++;
	if (vm->cfg.debug_mask & DEBUG_INT)
		log_debug("cpu%u: interrupt %d at %#llx", cpu->id, v, (unsigned long long)cpu->rip);
	x86_deliver(cpu, v & 0xff, X86_EV_EXT_INT, false, 0, cpu->rip);
}

/* -d exec: each block entered; -d cpu: with the registers */
static void log_block(struct x86_cpu *cpu, const struct x86_block *b)
{
	log_debug("cpu%u: block %04x:%#llx (phys %#llx, %u insns)", cpu->id,
		  cpu->seg[X86_CS].selector, (unsigned long long)cpu->rip,
		  (unsigned long long)b->phys, b->n);
	if (!(cpu->debug_mask & DEBUG_CPU))
		return;
	const uint64_t *g = cpu->gpr;
	log_debug("  rax %016llx rbx %016llx rcx %016llx rdx %016llx",
		  (unsigned long long)g[0], (unsigned long long)g[3], (unsigned long long)g[1],
		  (unsigned long long)g[2]);
	log_debug("  rsi %016llx rdi %016llx rbp %016llx rsp %016llx",
		  (unsigned long long)g[6], (unsigned long long)g[7], (unsigned long long)g[5],
		  (unsigned long long)g[4]);
	log_debug("  r8  %016llx r9  %016llx r10 %016llx r11 %016llx",
		  (unsigned long long)g[8], (unsigned long long)g[9], (unsigned long long)g[10],
		  (unsigned long long)g[11]);
	log_debug("  r12 %016llx r13 %016llx r14 %016llx r15 %016llx",
		  (unsigned long long)g[12], (unsigned long long)g[13], (unsigned long long)g[14],
		  (unsigned long long)g[15]);
	log_debug("  rflags %08llx cpl %u cr0 %08llx cr3 %llx cr4 %llx efer %llx",
		  (unsigned long long)x86_cpu_get_rflags(cpu), cpu->cpl,
		  (unsigned long long)cpu->cr0, (unsigned long long)cpu->cr3,
		  (unsigned long long)cpu->cr4, (unsigned long long)cpu->efer);
}

static void drop_block(struct x86_cpu *cpu)
{
	struct x86_block *b = cpu->cur_block;
	cpu->cur_block = NULL;
	if (b && b->uncached)
		free(b);
}

/* Whether translated code may run block b now: 64-bit mode, no single
 * step, no breakpoint enabled and RF clear (debug.c), the budget covers
 * the block, and a test's stop address is not inside it */
static bool jit_may_run(const struct x86_cpu *cpu, const struct x86_block *b)
{
	if (cpu->mode != X86_MODE_LONG64 || (cpu->rflags & (X86_RFLAGS_TF | X86_RFLAGS_RF)) ||
	    cpu->dbg_active || b->uncached ||
	    b->jit_failed || b->n > cpu->budget)
		return false;
	return cpu->stop_rip == ~0ull || cpu->stop_rip <= b->lin ||
	       cpu->stop_rip >= b->lin + (b->phys_end - b->phys);
}

/* Given less than this many instructions of budget (tests), or with a
 * stop address, translated code runs one block at a time: the budget is
 * counted exactly */
#define JIT_FREE_RUN_BUDGET 100000

/* Run translated code from b: returns the enum jit_exit that ended it,
 * or -1 when b must be interpreted.  Left to itself translated code runs
 * until something asks it to stop (an interrupt, a kick, the round-robin
 * timer of an SMP guest: x86_cpu_request_exit); the budget is counted by
 * the blocks entered from here. */
static int run_translated(struct x86_cpu *cpu, struct x86_block *b, bool one)
{
	atomic_store(&cpu->jit.exit_req, one);
	/* an event that came before the store above is seen here; one after
	 * it is left in exit_req for translated code to see */
	if (atomic_load_explicit(&cpu->kick, memory_order_relaxed) ||
	    atomic_load_explicit(&cpu->init_pending, memory_order_relaxed) ||
	    atomic_load_explicit(&cpu->sipi_pending, memory_order_relaxed) >= 0 ||
	    interrupts_wanted(cpu))
		return JIT_EXIT_REQUEST;
	enum jit_exit why;
	int r = jit_run(cpu, b, one, &why);
	if (r <= 0)
		return r < 0 ? JIT_EXIT_NORMAL : -1;	/* flushed: look the block up again */
	cpu->budget -= b->n < cpu->budget ? b->n : cpu->budget;
	if (why == JIT_EXIT_INDIRECT && !x86_canonical(cpu->rip)) {
		/* #GP at the branch, with RSP as it was */
		cpu->gpr[X86_RSP] -= (uint64_t)cpu->jit.branch_rsp_delta;
		cpu->rip = cpu->jit.branch_rip;
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	}
	return why;
}

enum x86_exit x86_cpu_run(struct x86_cpu *cpu, uint64_t budget)
{
	enum x86_exit ret;
	cpu->budget = budget;
	cpu->jmp_valid = true;
	const bool one_block = cpu->stop_rip != ~0ull || budget < JIT_FREE_RUN_BUDGET;
	/* translated code runs with the guest's MXCSR; a fault from inside it
	 * comes back here with that still loaded */
	const uint32_t host_mxcsr = jit_stmxcsr();

	if (setjmp(cpu->jmp)) {
		if (cpu->jit.running) {
			cpu->jit.running = false;
			jit_mxcsr_to_guest(cpu);
			jit_ldmxcsr(host_mxcsr);
		}
		/* an exception: the faulting instruction left cpu->rip at itself.
		 * It counts against the budget, so a guest whose handler faults
		 * at once still gives the other vCPUs their turn. */
		drop_block(cpu);
		if (cpu->budget)
			cpu->budget--;
		if (cpu->exit_on_exception) {
			ret = X86_EXIT_EXCEPTION;
			goto out;
		}
		if (!deliver_exception(cpu)) {
			cpu->triple_fault = true;
			if (cpu->vm && (cpu->vm->cfg.debug_mask & DEBUG_INT))
				log_debug("cpu%u: triple fault at %#llx", cpu->id,
					  (unsigned long long)cpu->rip);
			ret = X86_EXIT_RESET;
			goto out;
		}
	}

	for (;;) {
		/* one test for the rare events between blocks, each of which
		 * is then handled in order below */
		const bool rare =
			atomic_load_explicit(&cpu->kick, memory_order_relaxed) | !cpu->budget |
			atomic_load_explicit(&cpu->init_pending, memory_order_relaxed) |
			(atomic_load_explicit(&cpu->sipi_pending, memory_order_relaxed) >= 0) |
			cpu->wait_for_sipi;
		if (__builtin_expect(!rare, 1))
			goto events_done;
		if (atomic_load_explicit(&cpu->kick, memory_order_relaxed)) {
			ret = X86_EXIT_KICK;
			break;
		}
		if (!cpu->budget) {
			ret = X86_EXIT_BUDGET;
			break;
		}
		if (__builtin_expect(atomic_load_explicit(&cpu->init_pending, memory_order_relaxed), 0)) {
			/* INIT, then wait for SIPI */
			init_state(cpu, false);
		}
		if (__builtin_expect(atomic_load_explicit(&cpu->sipi_pending, memory_order_relaxed) >= 0, 0)) {
			int v = atomic_exchange(&cpu->sipi_pending, -1);
			if (v >= 0)
				x86_cpu_sipi(cpu, (uint8_t)v);
		}
		if (cpu->wait_for_sipi) {
			ret = X86_EXIT_HLT;
			break;
		}
events_done:
		/* (invalidated blocks are freed in x86_get_block's miss path)
		 * After sti, mov ss or pop ss: one instruction runs before
		 * interrupts are looked at again */
		bool shadow = cpu->intr_shadow;
		if (shadow)
			cpu->intr_shadow = false;
		else if (interrupts_wanted(cpu))
			take_interrupts(cpu);
		if (cpu->halted) {
			ret = X86_EXIT_HLT;
			break;
		}

		if (__builtin_expect(cpu->rip == cpu->stop_rip, 0)) {
			ret = X86_EXIT_STOP;
			break;
		}
		struct x86_block *b = x86_get_block(cpu);
		if (__builtin_expect(cpu->debug_mask & (DEBUG_EXEC | DEBUG_CPU), 0))
			log_block(cpu, b);
		if (cpu->jit.chain_link)
			jit_link(cpu, b);
		if (cpu->bc && cpu->bc->jit && !shadow && jit_may_run(cpu, b)) {
			cpu->blocks_executed++;	/* counts entries into translated code */
			int r = run_translated(cpu, b, one_block);
			if (r == JIT_EXIT_HLT) {
				ret = X86_EXIT_HLT;
				break;
			}
			if (r >= 0)
				continue;
			/* not translatable: interpreted below */
		}
		cpu->cur_block = b;
		cpu->block_dirty = false;
		cpu->blocks_executed++;
		const uint64_t mask = cpu->mode == X86_MODE_LONG64 ? ~0ull :
				      cpu->mode == X86_MODE_PROT32 ? 0xffffffffull : 0xffffull;
		const struct x86_op *op = b->ops, *end = b->ops + b->n;
		int r = 0;
		if (__builtin_expect(!shadow && cpu->stop_rip == ~0ull &&
				     !(cpu->rflags & (X86_RFLAGS_TF | X86_RFLAGS_RF)) &&
				     !cpu->dbg_active && b->n <= cpu->budget, 1)) {
			/* The common case, with the per-instruction work cut to
			 * the bone: no stop address is set, no single step, no
			 * breakpoint, and the budget covers the whole block.  An
			 * instruction that sets an interrupt shadow (sti, mov ss,
			 * pop ss) returns X86_EXEC_END_BLOCK, one that sets TF or
			 * RF sets block_dirty (x86_cpu_set_rflags), and one that
			 * writes a debug register ends the block: the next
			 * instruction then starts a block in the careful loop
			 * below, which handles them all. */
			do {
				cpu->next_rip = (cpu->rip + op->in.len) & mask;
				r = op->fn(cpu, &op->in);
				cpu->rip = cpu->next_rip;
				cpu->budget--;
				if (__builtin_expect(r | cpu->block_dirty, 0))
					break;
			} while (++op < end);
			goto block_done;
		}
		for (; op < end; op++) {
			const struct x86_insn *in = &op->in;
			if (__builtin_expect(cpu->rip == cpu->stop_rip, 0)) {
				drop_block(cpu);
				ret = X86_EXIT_STOP;
				goto out;
			}
			bool tf = cpu->rflags & X86_RFLAGS_TF;
			if (__builtin_expect(cpu->dbg_active || (cpu->rflags & X86_RFLAGS_RF), 0))
				x86_debug_insn_start(cpu);
			cpu->next_rip = (cpu->rip + in->len) & mask;
			r = op->fn(cpu, in);
			cpu->rip = cpu->next_rip;
			cpu->budget--;
			if (__builtin_expect(tf || cpu->dbg_hits, 0) && r != X86_EXEC_HLT) {
				/* single step, data or I/O breakpoint: a #DB trap
				 * after the instruction */
				drop_block(cpu);
				x86_debug_insn_end(cpu, tf);
			}
			if (r || cpu->block_dirty || !cpu->budget || shadow)
				break;
			/* sti, mov ss or pop ss just ran: the next instruction is
			 * the last before interrupts are looked at again, even in
			 * the middle of a block */
			if (cpu->intr_shadow) {
				cpu->intr_shadow = false;
				shadow = true;
			}
		}
block_done:
		drop_block(cpu);
		if (r == X86_EXEC_HLT) {
			ret = X86_EXIT_HLT;
			break;
		}
	}
out:
	cpu->jmp_valid = false;
	cpu->insns_executed += budget - cpu->budget;
	return ret;
}
