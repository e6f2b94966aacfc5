/* The software CPU engine ("-accel tcg"): runs every vCPU in turn on one
 * thread with the interpreter in src/cpu/x86, keeps the VM's decoded
 * block cache, and sleeps while every vCPU is halted until one of them
 * can go on: an interrupt it can take, an NMI, INIT or SIPI, or a kick.
 *
 * A struct x86_cpu belongs to the one thread that runs the vCPUs; other
 * threads (the main loop's timers, vm_request_* through vcpu_kick) reach
 * a vCPU only through atomics: its kick, INIT and SIPI fields, irq_gen,
 * and the NMI latch here, which the vCPU thread moves into the CPU
 * between runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/tcg/tcg.h"
#include "core/log.h"
#include "core/clock.h"
#include "core/timer.h"
#include "core/vm.h"
#include "cpu/x86/internal.h"
#include "cpu/x86/jit/jit.h"

/* instructions per vcpu_run: about a millisecond of guest time */
#define TCG_SLICE 200000
/* translated code counts no instructions: with more than one vCPU a
 * timer ends each one's turn */
#define TCG_SLICE_NS 2000000
/* longest sleep in HLT before looking again (timers come from devices) */
#define TCG_HALT_POLL_NS 10000000

/* ranges written by devices on other threads, waiting for the vCPU
 * thread; when full, the whole cache goes */
#define TCG_INVAL_MAX 32

struct tcg_vm {
	struct x86_block_cache bc;
	struct vm_timer slice;	/* the round-robin turn of an SMP guest */
	pthread_mutex_t lock;	/* with wake: HLT sleeps here */
	pthread_cond_t wake;
	unsigned wake_seq;	/* bumped by every wake-up */
	unsigned sleepers;	/* vCPU threads waiting on wake */
	/* the thread in vcpu_run (its pthread_self), 0 when none; not
	 * gettid(), a system call on every DMA write */
	_Atomic uintptr_t runner;
	/* tcg_memory_written from other threads (see there) */
	pthread_mutex_t inval_lock;
	atomic_bool inval_pending;
	bool inval_all;
	unsigned nr_inval;
	struct {
		uint64_t gpa, len;
	} inval[TCG_INVAL_MAX];
	/* the sleeper waits for interrupt lines too (a halted vCPU has IF=1);
	 * when not, a line that moves does not wake it */
	bool irq_sleeper;
	/* NMIs sent to each vCPU and not yet moved into its x86_cpu */
	atomic_bool nmi[VM_MAX_VCPUS];
};

static struct tcg_vm *tcg_of(struct vm *vm)
{
	return vm->engine;
}

static struct x86_cpu *cpu_of(struct vcpu *vcpu)
{
	return vcpu->engine;
}

static bool tcg_available(void)
{
	return true;
}

/* Something a sleeping vCPU may wait for happened.  line: only an
 * interrupt line or an APIC's pending interrupt, which concerns a halted
 * vCPU only if it has IF=1. */
static void tcg_wake_for(struct vm *vm, bool line)
{
	struct tcg_vm *t = tcg_of(vm);
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	/* bumped even unheard: a sleeper about to wait looks again */
	t->wake_seq++;
	bool wake = t->sleepers && (!line || t->irq_sleeper);
	pthread_mutex_unlock(&t->lock);
	/* after the unlock, so that the sleeper does not wake into a lock
	 * still held; one that starts to wait now has seen wake_seq move */
	if (wake)
		pthread_cond_broadcast(&t->wake);
}

/* The running vCPU's turn is over */
static void slice_expired(void *opaque, uint64_t now_ns)
{
	struct vm *vm = opaque;
	(void)now_ns;
	struct x86_cpu *cpu = vm->current_cpu < vm->nr_vcpus ? vm->vcpus[vm->current_cpu].engine : NULL;
	if (cpu) {
		atomic_store(&cpu->kick, true);
		x86_cpu_request_exit(cpu);
	}
}

static void tcg_wake(struct vm *vm)
{
	tcg_wake_for(vm, false);
}

static int tcg_vm_create(struct vm *vm)
{
	struct tcg_vm *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* RAM may sit above 4 GiB: the bitmap covers up to its end */
	uint64_t limit = 0;
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		uint64_t end = vm->mem.regions[i].gpa + vm->mem.regions[i].size;
		if (end > limit)
			limit = end;
	}
	int ret = x86_block_cache_init(&t->bc, limit);
	if (ret < 0) {
		free(t);
		log_error("tcg: cannot allocate the code page map");
		return ret;
	}
	if (!vm->cfg.tcg_interpret) {
		ret = jit_create(&t->bc, vm->cfg.tcg_tb_size);
		if (ret < 0) {
			x86_block_cache_destroy(&t->bc);
			free(t);
			log_error("tcg: cannot map the translated code buffer: %s (-accel tcg,jit=off "
				  "runs without one)", strerror(-ret));
			return ret;
		}
	}
	timer_init(&t->slice, slice_expired, vm);
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->inval_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->wake, &ca);
	pthread_condattr_destroy(&ca);
	vm->engine = t;
	return 0;
}

static int tcg_map_ram(struct vm *vm, const struct mem_region *region)
{
	/* RAM is reached through guest_mem_ptr; the bitmap was sized at create */
	struct tcg_vm *t = tcg_of(vm);
	if ((region->gpa + region->size + 4095) >> 12 > t->bc.nr_pages)
		return -EINVAL;
	return 0;
}

static int tcg_vcpu_create(struct vcpu *vcpu)
{
	struct tcg_vm *t = tcg_of(vcpu->vm);
	struct x86_cpu *cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);
	if (!cpu)
		return -ENOMEM;
	x86_cpu_init(cpu, vcpu->vm, vcpu->id);
	cpu->bc = &t->bc;
	if (t->bc.nr_cpus < VM_MAX_VCPUS)
		t->bc.cpus[t->bc.nr_cpus++] = cpu;
	vcpu->engine = cpu;
	return 0;
}

static int tcg_vcpu_reset(struct vcpu *vcpu)
{
	struct x86_cpu *cpu = cpu_of(vcpu);
	/* RAM is reloaded after a reset: no decoded block may survive */
	x86_block_cache_flush(cpu->bc);
	x86_cpu_reset(cpu, vcpu->id == 0);
	atomic_store(&cpu->sipi_pending, -1);
	atomic_store(&cpu->kick, false);
	atomic_store(&tcg_of(vcpu->vm)->nmi[vcpu->id], false);
	return 0;
}

/* Can this halted (or SIPI-waiting) vCPU go on?  Asked on the thread
 * that runs the vCPUs, which owns *cpu.  *wants_irq is set when an
 * interrupt line could end its HLT. */
static bool vcpu_can_resume(struct vm *vm, struct x86_cpu *cpu, bool *wants_irq)
{
	if (atomic_load(&cpu->kick) || atomic_load(&cpu->init_pending))
		return true;
	if (cpu->wait_for_sipi)
		return atomic_load(&cpu->sipi_pending) >= 0;
	if (!cpu->halted)
		return true;
	/* an NMI ends HLT whatever IF says */
	if (atomic_load(&tcg_of(vm)->nmi[cpu->id]) || (cpu->nmi_pending && !cpu->nmi_blocked))
		return true;
	if (!(cpu->rflags & X86_RFLAGS_IF))
		return false;
	*wants_irq = true;
	if (!vm->irqchip)
		return false;
	pthread_mutex_lock(&vm->dev_lock);
	bool pending = vm->irqchip->has_interrupt(vm->irqchip_opaque, cpu->id);
	pthread_mutex_unlock(&vm->dev_lock);
	return pending;
}

/* Every vCPU is halted or waits for SIPI: sleep until one of them can go
 * on, the run stops, or a poll interval passes (timers come from the
 * devices, which wake us through the engine). */
static void halt_wait(struct vm *vm)
{
	struct tcg_vm *t = tcg_of(vm);
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += TCG_HALT_POLL_NS;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&t->lock);
	while (vm_running(vm)) {
		unsigned seq = t->wake_seq;
		bool resume = false, wants_irq = false;
		/* the irqchip is asked under dev_lock, which is taken before ours */
		pthread_mutex_unlock(&t->lock);
		for (unsigned i = 0; i < vm->nr_vcpus && !resume; i++) {
			struct x86_cpu *c = vm->vcpus[i].engine;
			resume = c && vcpu_can_resume(vm, c, &wants_irq);
		}
		pthread_mutex_lock(&t->lock);
		if (resume)
			break;
		if (t->wake_seq != seq)
			continue;	/* something happened while we looked */
		t->irq_sleeper = wants_irq;
		t->sleepers++;
		int err = pthread_cond_timedwait(&t->wake, &t->lock, &until);
		t->sleepers--;
		t->irq_sleeper = false;
		if (err == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&t->lock);
}

static bool others_runnable(struct vm *vm, struct x86_cpu *self)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct x86_cpu *c = vm->vcpus[i].engine;
		if (c && c != self && !c->halted && !c->wait_for_sipi)
			return true;
	}
	return false;
}

/* Drop the code other threads wrote (tcg_memory_written); on the vCPU
 * thread, between blocks */
static void tcg_take_invalidations(struct tcg_vm *t)
{
	if (!atomic_load_explicit(&t->inval_pending, memory_order_acquire))
		return;
	pthread_mutex_lock(&t->inval_lock);
	atomic_store(&t->inval_pending, false);
	if (t->inval_all)
		x86_block_cache_flush(&t->bc);
	else
		for (unsigned i = 0; i < t->nr_inval; i++)
			x86_block_cache_invalidate_range(&t->bc, t->inval[i].gpa, t->inval[i].len);
	t->inval_all = false;
	t->nr_inval = 0;
	pthread_mutex_unlock(&t->inval_lock);
}

static enum vcpu_event tcg_vcpu_run(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct x86_cpu *cpu = cpu_of(vcpu);
	struct tcg_vm *t = tcg_of(vm);

	atomic_store(&cpu->kick, false);
	tcg_take_invalidations(t);
	if (!vm_running(vm))
		return VCPU_EVENT_YIELD;
	/* an NMI sent since the last run; one sent from now on finds the kick
	 * cleared and ends this run early, to be moved in by the next one */
	if (atomic_exchange(&tcg_of(vm)->nmi[vcpu->id], false))
		cpu->nmi_pending = true;
	vm->current_cpu = vcpu->id;	/* whose local APIC answers at 0xFEE00000 */
	if (vm->nr_vcpus > 1 && cpu->bc->jit)
		timer_mod(vm, &tcg_of(vm)->slice, vm_clock_ns(vm) + TCG_SLICE_NS);
	atomic_store(&t->runner, (uintptr_t)pthread_self());	/* device handlers run inside */
	enum x86_exit why = x86_cpu_run(cpu, TCG_SLICE);
	atomic_store(&t->runner, 0);
	switch (why) {
	case X86_EXIT_BUDGET:
	case X86_EXIT_KICK:
	case X86_EXIT_STOP:
		return VCPU_EVENT_YIELD;
	case X86_EXIT_RESET:
		log_info("tcg: triple fault on cpu%u at %04x:%#llx: resetting", cpu->id,
			 cpu->seg[X86_CS].selector, (unsigned long long)cpu->rip);
		return VCPU_EVENT_RESET;
	case X86_EXIT_SHUTDOWN:
		return VCPU_EVENT_POWEROFF;
	case X86_EXIT_EXCEPTION:
		log_error("tcg: unhandled exception %d on cpu%u", cpu->exc_vector, cpu->id);
		return VCPU_EVENT_ERROR;
	case X86_EXIT_HLT:
		break;
	}
	/* halted (or an AP waiting for SIPI): give the others their turn, or
	 * when nobody can run, sleep until somebody can.  Even with IF=0 an
	 * NMI, INIT or SIPI ends it, so the engine itself keeps waiting. */
	if (!others_runnable(vm, cpu))
		halt_wait(vm);
	return VCPU_EVENT_YIELD;
}

static void tcg_vcpu_kick(struct vcpu *vcpu)
{
	struct x86_cpu *cpu = cpu_of(vcpu);
	if (!cpu)
		return;
	atomic_store(&cpu->kick, true);
	x86_cpu_request_exit(cpu);
	/* callers are threads (vm_wake_all, devices): a halted vCPU wakes at once */
	tcg_wake(vcpu->vm);
}

static int tcg_get_regs(struct vcpu *vcpu, struct x86_regs *regs)
{
	struct x86_cpu *cpu = cpu_of(vcpu);
	memcpy(regs->gpr, cpu->gpr, sizeof(regs->gpr));
	regs->rip = cpu->rip;
	regs->rflags = x86_cpu_get_rflags(cpu);
	return 0;
}

static int tcg_set_regs(struct vcpu *vcpu, const struct x86_regs *regs)
{
	struct x86_cpu *cpu = cpu_of(vcpu);
	memcpy(cpu->gpr, regs->gpr, sizeof(cpu->gpr));
	cpu->rip = regs->rip;
	x86_cpu_set_rflags(cpu, regs->rflags);
	x86_update_mode(cpu);
	return 0;
}

static int tcg_get_sregs(struct vcpu *vcpu, struct x86_sregs *s)
{
	struct x86_cpu *cpu = cpu_of(vcpu);
	memcpy(s->seg, cpu->seg, sizeof(s->seg));
	s->gdt = cpu->gdtr;
	s->idt = cpu->idtr;
	s->cr0 = cpu->cr0;
	s->cr2 = cpu->cr2;
	s->cr3 = cpu->cr3;
	s->cr4 = cpu->cr4;
	s->cr8 = cpu->cr8;
	s->efer = cpu->efer;
	s->apic_base = cpu->apic_base;
	return 0;
}

static int tcg_set_sregs(struct vcpu *vcpu, const struct x86_sregs *s)
{
	struct x86_cpu *cpu = cpu_of(vcpu);
	memcpy(cpu->seg, s->seg, sizeof(cpu->seg));
	cpu->gdtr = s->gdt;
	cpu->idtr = s->idt;
	cpu->cr0 = s->cr0 | X86_CR0_ET;
	cpu->cr2 = s->cr2;
	cpu->cr3 = s->cr3;
	cpu->cr4 = s->cr4;
	cpu->cr8 = s->cr8;
	cpu->efer = s->efer;
	/* the loaders set LME with PG and expect LMA to follow, as KVM does */
	if ((cpu->efer & X86_EFER_LME) && (cpu->cr0 & X86_CR0_PG))
		cpu->efer |= X86_EFER_LMA;
	cpu->apic_base = s->apic_base;
	cpu->cpl = (cpu->cr0 & X86_CR0_PE) ? cpu->seg[X86_SS].dpl : 0;
	cpu->wait_for_sipi = false;
	cpu->halted = false;
	x86_update_mode(cpu);
	x86_tlb_flush(cpu, true);
	return 0;
}

static int tcg_get_msr(struct vcpu *vcpu, uint32_t index, uint64_t *value)
{
	return x86_read_msr(cpu_of(vcpu), index, value) < 0 ? -EINVAL : 0;
}

static int tcg_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	return x86_write_msr(cpu_of(vcpu), index, value) < 0 ? -EINVAL : 0;
}

static int tcg_set_irq(struct vm *vm, unsigned gsi, int level)
{
	if (vm->irqchip) {
		pthread_mutex_lock(&vm->dev_lock);
		vm->irqchip->set_irq(vm->irqchip_opaque, gsi, level);
		pthread_mutex_unlock(&vm->dev_lock);
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].engine)
			x86_cpu_irq_notify(vm->vcpus[i].engine);
	tcg_wake_for(vm, true);
	return 0;
}

static void tcg_vcpu_destroy(struct vcpu *vcpu)
{
	struct tcg_vm *t = tcg_of(vcpu->vm);
	struct x86_cpu *cpu = vcpu->engine;
	if (t && cpu) {
		/* the block cache must not reach a freed CPU */
		for (unsigned i = 0; i < t->bc.nr_cpus; i++) {
			if (t->bc.cpus[i] == cpu) {
				t->bc.cpus[i] = t->bc.cpus[--t->bc.nr_cpus];
				break;
			}
		}
	}
	free(vcpu->engine);
	vcpu->engine = NULL;
}

static void tcg_vm_destroy(struct vm *vm)
{
	struct tcg_vm *t = tcg_of(vm);
	if (!t)
		return;
	timer_del(vm, &t->slice);
	x86_block_cache_destroy(&t->bc);
	jit_destroy(&t->bc);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->inval_lock);
	pthread_cond_destroy(&t->wake);
	free(t);
	vm->engine = NULL;
}

static struct x86_cpu *cpu_by_id(struct vm *vm, unsigned id)
{
	if (vm->accel != &tcg_accel_ops || id >= vm->nr_vcpus)
		return NULL;
	return vm->vcpus[id].engine;
}

void tcg_set_a20(struct vm *vm, bool on)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct x86_cpu *cpu = cpu_by_id(vm, i);
		uint64_t mask = on ? ~0ull : ~(1ull << 20);
		if (!cpu || cpu->a20_mask == mask)
			continue;
		/* the vCPUs run on this thread (or are stopped): no other
		 * thread holds their TLBs */
		cpu->a20_mask = mask;
		x86_tlb_flush(cpu, true);
		cpu->block_dirty = true;
	}
}

void tcg_vcpu_init_signal(struct vm *vm, unsigned id)
{
	struct x86_cpu *cpu = cpu_by_id(vm, id);
	if (!cpu)
		return;
	/* taken at a block boundary: the CPU may be the one sending it */
	atomic_store(&cpu->init_pending, true);
	atomic_store(&cpu->kick, true);
	x86_cpu_request_exit(cpu);
	tcg_wake(vm);
}

void tcg_vcpu_sipi(struct vm *vm, unsigned id, uint8_t vector)
{
	struct x86_cpu *cpu = cpu_by_id(vm, id);
	if (!cpu)
		return;
	atomic_store(&cpu->sipi_pending, vector);
	x86_cpu_request_exit(cpu);
	tcg_wake(vm);
}

static void tcg_vcpu_deliver(struct vcpu *vcpu, enum vcpu_delivery what, uint8_t vector)
{
	switch (what) {
	case VCPU_DELIVER_INIT:
		tcg_vcpu_init_signal(vcpu->vm, vcpu->id);
		break;
	case VCPU_DELIVER_SIPI:
		tcg_vcpu_sipi(vcpu->vm, vcpu->id, vector);
		break;
	case VCPU_DELIVER_NMI:
		tcg_vcpu_nmi(vcpu->vm, vcpu->id);
		break;
	case VCPU_DELIVER_WAKE:
		if (vcpu->engine)
			x86_cpu_irq_notify(vcpu->engine);
		tcg_wake_for(vcpu->vm, true);
		break;
	}
}

void tcg_vcpu_nmi(struct vm *vm, unsigned id)
{
	struct x86_cpu *cpu = cpu_by_id(vm, id);
	if (!cpu)
		return;
	/* latched for the vCPU thread, which alone touches *cpu: the latch
	 * first, then the kick that makes a running vCPU come and look */
	atomic_store(&tcg_of(vm)->nmi[id], true);
	atomic_store(&cpu->kick, true);
	x86_cpu_request_exit(cpu);
	tcg_wake(vm);
}

/* Does [gpa, gpa + len) touch a page holding decoded code?  Read from
 * any thread: the bitmap bytes are only ever changed atomically. */
static bool tcg_range_has_code(struct x86_block_cache *bc, uint64_t gpa, uint64_t len)
{
	uint64_t first = gpa >> 12, last = (gpa + len - 1) >> 12;
	if (last < first)
		last = ~0ull;	/* wrapped: look to the end */
	for (uint64_t pn = first; pn <= last && pn < bc->nr_pages; pn++)
		if (__atomic_load_n(&bc->code_bitmap[pn >> 3], __ATOMIC_RELAXED) & (1u << (pn & 7)))
			return true;
	return false;
}

/* On the vCPU thread the blocks go at once.  From another thread (a block
 * completion, a device's queue thread) the range is queued for the vCPU
 * thread, which takes it between blocks before running more guest code
 * (the kick ends the running block loop), so the caller may publish its
 * used-ring entry as soon as this returns.  Pages without decoded code
 * (nearly all DMA) cost an atomic bit test.  The test comes after the
 * caller's write (the fence): a block decoded from the old bytes and
 * marked afterwards can only be one the guest ran from a buffer while the
 * device was still filling it, which hardware leaves undefined too. */
void tcg_memory_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	struct tcg_vm *t = vm->accel == &tcg_accel_ops ? tcg_of(vm) : NULL;
	if (!t || !t->bc.nr_cpus || !len)
		return;
	if (atomic_load(&t->runner) == (uintptr_t)pthread_self()) {
		x86_block_cache_invalidate_range(&t->bc, gpa, len);
		return;
	}
	atomic_thread_fence(memory_order_seq_cst);
	if (!tcg_range_has_code(&t->bc, gpa, len))
		return;
	pthread_mutex_lock(&t->inval_lock);
	if (t->nr_inval < TCG_INVAL_MAX) {
		t->inval[t->nr_inval].gpa = gpa;
		t->inval[t->nr_inval].len = len;
		t->nr_inval++;
	} else {
		t->inval_all = true;
	}
	atomic_store_explicit(&t->inval_pending, true, memory_order_release);
	pthread_mutex_unlock(&t->inval_lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].engine) {
			atomic_store(&cpu_of(&vm->vcpus[i])->kick, true);
			x86_cpu_request_exit(cpu_of(&vm->vcpus[i]));
		}
}

static int tcg_get_cpuid(const struct vcpu *vcpu, uint32_t leaf, uint32_t subleaf,
			 uint32_t out[4])
{
	x86_cpuid(vcpu->engine, leaf, subleaf, out);
	return 0;
}

const struct accel_ops tcg_accel_ops = {
	.name = "tcg",
	.available = tcg_available,
	.vm_create = tcg_vm_create,
	.map_ram = tcg_map_ram,
	.vcpu_create = tcg_vcpu_create,
	.vcpu_reset = tcg_vcpu_reset,
	.vcpu_run = tcg_vcpu_run,
	.vcpu_kick = tcg_vcpu_kick,
	.get_regs = tcg_get_regs,
	.set_regs = tcg_set_regs,
	.get_sregs = tcg_get_sregs,
	.set_sregs = tcg_set_sregs,
	.get_msr = tcg_get_msr,
	.set_msr = tcg_set_msr,
	.get_cpuid = tcg_get_cpuid,
	.set_irq = tcg_set_irq,
	.vcpu_deliver = tcg_vcpu_deliver,
	.vcpu_destroy = tcg_vcpu_destroy,
	.vm_destroy = tcg_vm_destroy,
	.single_threaded = true,
};
