/* The local APIC, one per vCPU: interrupt priorities (IRR, ISR, TPR,
 * PPR), the local vector table, the timer (one-shot, periodic,
 * TSC-deadline), inter-processor interrupts through the ICR, and the two
 * register interfaces: xAPIC MMIO and x2APIC MSRs.  Registers are numbered
 * as the x2APIC MSRs are (the MMIO offset / 16), so both interfaces share
 * one register file and differ only where the architecture says.
 *
 * Messages are delivered at once: the delivery status bits always read
 * idle.  Everything runs under vm->dev_lock. */
#include "hw/lapic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timer.h"
#include "core/vm.h"
#include "cpu/x86/cpu.h"
#include "hw/irq_router.h"

_Static_assert(GUEST_TSC_HZ == X86_TSC_HZ, "the APIC and the CPU must agree on the TSC rate");

enum {
	REG_ID = 0x02,
	REG_VERSION = 0x03,
	REG_TPR = 0x08,
	REG_APR = 0x09,
	REG_PPR = 0x0a,
	REG_EOI = 0x0b,
	REG_RRD = 0x0c,
	REG_LDR = 0x0d,
	REG_DFR = 0x0e,
	REG_SVR = 0x0f,
	REG_ISR = 0x10,		/* 8 registers each: ISR, TMR, IRR */
	REG_TMR = 0x18,
	REG_IRR = 0x20,
	REG_ESR = 0x28,
	REG_ICR = 0x30,
	REG_ICR_HI = 0x31,	/* xAPIC only: x2APIC's ICR is one 64-bit MSR */
	REG_LVT = 0x32,		/* timer, thermal, perf, LINT0, LINT1, error */
	REG_TIMER_INITIAL = 0x38,
	REG_TIMER_CURRENT = 0x39,
	REG_TIMER_DIVIDE = 0x3e,
	REG_SELF_IPI = 0x3f,	/* x2APIC only */
};

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

/* Integrated APIC (0x14), highest LVT entry 5 (no CMCI), no EOI-broadcast
 * suppression: every level-triggered EOI reaches the I/O APIC */
#define APIC_VERSION (0x14u | (LVT_COUNT - 1u) << 16)

#define LVT_DELIVERY_SHIFT 8
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_MODE_SHIFT 17
enum { TIMER_ONESHOT, TIMER_PERIODIC, TIMER_TSC_DEADLINE };

/* What software may set in each LVT entry; delivery status and remote IRR
 * are read-only */
static const uint32_t lvt_writable[LVT_COUNT] = {
	[LVT_TIMER] = 0x000700ff,	/* vector, mask, timer mode */
	[LVT_THERMAL] = 0x000107ff,	/* vector, delivery mode, mask */
	[LVT_PERF] = 0x000107ff,
	[LVT_LINT0] = 0x0001a7ff,	/* and polarity, trigger mode */
	[LVT_LINT1] = 0x0001a7ff,
	[LVT_ERROR] = 0x000100ff,
};

#define SVR_ENABLE (1u << 8)
#define SVR_FOCUS_OFF (1u << 9)
#define SVR_WRITABLE 0x3ffu
#define SVR_RESET 0xffu

#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define ESR_ILLEGAL_REGISTER (1u << 7)

#define ICR_LOGICAL (1u << 11)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_SHORTHAND_SHIFT 18
/* vector, delivery mode, destination mode, level, trigger, shorthand */
#define ICR_WRITABLE 0x000ccfffu

#define DCR_WRITABLE 0xbu

/* The physical address width the software CPU reports (CPUID 0x80000008):
 * IA32_APIC_BASE bits above it are reserved */
#define APIC_BASE_PHYS_BITS 40

/* A periodic timer faster than this would only keep the timer thread
 * busy: ticks closer together are spread out (the count still reads
 * true) */
#define TIMER_MIN_PERIOD_NS 50000ull

struct lapic {
	struct vm *vm;
	struct irq_router *router;
	unsigned cpu;		/* vCPU index; also the initial and x2APIC ID */
	uint64_t apic_base;
	uint32_t id;		/* xAPIC ID register: the ID in bits 31:24 */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr;		/* what ESR reads: the errors latched by the last write */
	uint32_t esr_pending;	/* errors since then */
	uint32_t icr_lo, icr_hi;
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t lvt[LVT_COUNT];
	bool extint_pending;	/* an ExtINT message from the I/O APIC */

	uint32_t timer_initial, timer_dcr;
	uint64_t timer_start_ns;	/* the count was timer_start_count then */
	uint32_t timer_start_count;
	uint64_t timer_deadline_ns;	/* when the armed timer fires */
	uint64_t tsc_deadline;
	struct vm_timer timer;
};

static bool hw_enabled(const struct lapic *l)
{
	return l->apic_base & APIC_BASE_EN;
}

static bool sw_enabled(const struct lapic *l)
{
	return l->svr & SVR_ENABLE;
}

static bool x2apic_mode(const struct lapic *l)
{
	return l->apic_base & APIC_BASE_EXTD;
}

static int highest_vector(const uint32_t reg[8])
{
	for (int i = 7; i >= 0; i--)
		if (reg[i])
			return i * 32 + 31 - __builtin_clz(reg[i]);
	return -1;
}

static bool vector_test(const uint32_t reg[8], unsigned v)
{
	return reg[v >> 5] >> (v & 31) & 1;
}

static void vector_set(uint32_t reg[8], unsigned v)
{
	reg[v >> 5] |= 1u << (v & 31);
}

static void vector_clear(uint32_t reg[8], unsigned v)
{
	reg[v >> 5] &= ~(1u << (v & 31));
}

/* Processor priority: the task priority, or the class in service if higher */
static uint32_t lapic_ppr(const struct lapic *l)
{
	int isrv = highest_vector(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

/* Arbitration priority (xAPIC's APR register) */
static uint32_t lapic_apr(const struct lapic *l)
{
	int isrv = highest_vector(l->isr), irrv = highest_vector(l->irr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
	uint32_t irr_class = irrv < 0 ? 0 : (uint32_t)irrv & 0xf0;
	uint32_t tpr_class = l->tpr & 0xf0;
	if (tpr_class >= irr_class && tpr_class > isr_class)
		return l->tpr & 0xff;
	uint32_t apr = tpr_class > isr_class ? tpr_class : isr_class;
	return apr > irr_class ? apr : irr_class;
}

/* Something that decides whether an interrupt is pending changed */
static void lapic_kick(struct lapic *l)
{
	irq_router_tell_vcpu(l->router, l->cpu, VCPU_DELIVER_WAKE, 0);
}

static void lvt_fire(struct lapic *l, unsigned idx);

/* Errors accumulate until the guest writes ESR; a new one interrupts
 * through the error LVT (which cannot loop: it only fires on new bits) */
static void lapic_error(struct lapic *l, uint32_t bits)
{
	uint32_t new_bits = bits & ~l->esr_pending;
	l->esr_pending |= bits;
	if (new_bits)
		lvt_fire(l, LVT_ERROR);
}

static bool accept_fixed(struct lapic *l, uint8_t vector, bool level)
{
	if (!sw_enabled(l))
		return false;
	if (vector < 16) {	/* reserved for exceptions */
		lapic_error(l, ESR_RECV_ILLEGAL_VECTOR);
		return true;
	}
	vector_set(l->irr, vector);
	if (level)
		vector_set(l->tmr, vector);
	else
		vector_clear(l->tmr, vector);
	lapic_kick(l);
	return true;
}

/* A local source (timer, error) raises its LVT entry */
static void lvt_fire(struct lapic *l, unsigned idx)
{
	uint32_t lvt = l->lvt[idx];
	if (!hw_enabled(l) || (lvt & LVT_MASKED))
		return;
	unsigned mode = lvt >> LVT_DELIVERY_SHIFT & 7;
	if (idx == LVT_TIMER || idx == LVT_ERROR)
		mode = APIC_DM_FIXED;	/* no delivery mode field */
	if (mode == APIC_DM_FIXED)
		accept_fixed(l, lvt & 0xff, false);
	else if (mode == APIC_DM_NMI)
		irq_router_tell_vcpu(l->router, l->cpu, VCPU_DELIVER_NMI, 0);
	/* SMI: there is no SMM; INIT and ExtINT are for the LINT pins */
}

/* ---- timer ---- */

static unsigned timer_mode(const struct lapic *l)
{
	return l->lvt[LVT_TIMER] >> LVT_TIMER_MODE_SHIFT & 3;
}

static uint64_t timer_divide(const struct lapic *l)
{
	unsigned code = (l->timer_dcr & 3) | (l->timer_dcr >> 1 & 4);
	return 1ull << ((code + 1) & 7);	/* 0 divides by 2, ..., 7 by 1 */
}

static uint64_t ticks_to_ns(const struct lapic *l, uint64_t ticks)
{
	return muldiv64(ticks * timer_divide(l), NS_PER_SEC, APIC_BUS_HZ);
}

static uint64_t ns_to_ticks(const struct lapic *l, uint64_t ns)
{
	return muldiv64(ns, APIC_BUS_HZ, NS_PER_SEC * timer_divide(l));
}

static uint32_t timer_current(const struct lapic *l, uint64_t now)
{
	if (timer_mode(l) == TIMER_TSC_DEADLINE || !l->timer_initial)
		return 0;
	if (now < l->timer_start_ns)
		return l->timer_start_count;
	uint64_t ticks = ns_to_ticks(l, now - l->timer_start_ns);
	if (ticks < l->timer_start_count)
		return l->timer_start_count - (uint32_t)ticks;
	if (timer_mode(l) != TIMER_PERIODIC)
		return 0;
	return l->timer_initial - (uint32_t)((ticks - l->timer_start_count) % l->timer_initial);
}

static void timer_arm(struct lapic *l, uint64_t deadline_ns)
{
	l->timer_deadline_ns = deadline_ns;
	timer_mod(l->vm, &l->timer, deadline_ns);
}

/* Count down from count, starting now */
static void timer_start(struct lapic *l, uint64_t now, uint32_t count)
{
	l->timer_start_ns = now;
	l->timer_start_count = count;
	if (count)
		timer_arm(l, now + ticks_to_ns(l, count));
	else
		timer_del(l->vm, &l->timer);
}

static uint64_t guest_tsc_now(struct lapic *l)
{
	struct vm *vm = l->vm;
	uint64_t tsc;
	/* the CPU's own TSC, with the offset the guest may have written */
	if (vm->accel && vm->accel->get_msr && l->cpu < vm->nr_vcpus &&
	    vm->accel->get_msr(&vm->vcpus[l->cpu], 0x10, &tsc) == 0)
		return tsc;
	return guest_tsc_from_ns(vm_clock_ns(vm));
}

static void tsc_deadline_arm(struct lapic *l)
{
	if (timer_mode(l) != TIMER_TSC_DEADLINE || !l->tsc_deadline) {
		timer_del(l->vm, &l->timer);
		return;
	}
	uint64_t now = vm_clock_ns(l->vm), tsc = guest_tsc_now(l), at = now;
	if (l->tsc_deadline > tsc) {
		/* rounded up: never before the TSC reaches the deadline */
		unsigned __int128 ns = ((unsigned __int128)(l->tsc_deadline - tsc) * NS_PER_SEC +
					GUEST_TSC_HZ - 1) / GUEST_TSC_HZ;
		at = ns >= TIMER_NEVER - now ? TIMER_NEVER - 1 : now + (uint64_t)ns;
	}
	timer_arm(l, at);
}

static void lapic_timer_expired(void *opaque, uint64_t now)
{
	struct lapic *l = opaque;

	if (timer_mode(l) == TIMER_TSC_DEADLINE) {
		if (l->tsc_deadline) {
			l->tsc_deadline = 0;	/* the MSR reads 0 once it fired */
			lvt_fire(l, LVT_TIMER);
		}
		return;
	}
	if (!l->timer_initial)
		return;
	lvt_fire(l, LVT_TIMER);
	if (timer_mode(l) != TIMER_PERIODIC)
		return;
	uint64_t period = ticks_to_ns(l, l->timer_initial);
	uint64_t step = period > TIMER_MIN_PERIOD_NS ? period : TIMER_MIN_PERIOD_NS;
	uint64_t next = l->timer_deadline_ns + step;
	/* late (the host was busy): the ticks missed are one interrupt, as
	 * the IRR holds one of each vector */
	if (next <= now)
		next = now + step;
	l->timer_start_ns = next - period;
	l->timer_start_count = l->timer_initial;
	timer_arm(l, next);
}

static void timer_lvt_write(struct lapic *l, uint32_t v)
{
	unsigned old_mode = timer_mode(l);
	l->lvt[LVT_TIMER] = v;
	unsigned new_mode = timer_mode(l);
	/* into or out of TSC-deadline mode disarms the timer */
	if (old_mode != new_mode &&
	    (old_mode == TIMER_TSC_DEADLINE || new_mode == TIMER_TSC_DEADLINE)) {
		timer_del(l->vm, &l->timer);
		l->tsc_deadline = 0;
		l->timer_initial = 0;
		l->timer_start_count = 0;
	}
}

static void timer_initial_write(struct lapic *l, uint32_t v)
{
	if (timer_mode(l) == TIMER_TSC_DEADLINE)
		return;	/* ignored in that mode */
	l->timer_initial = v;
	timer_start(l, vm_clock_ns(l->vm), v);
}

/* A new divider applies from now on: the count so far is kept */
static void timer_divide_write(struct lapic *l, uint32_t v)
{
	uint64_t now = vm_clock_ns(l->vm);
	uint32_t current = timer_current(l, now);
	l->timer_dcr = v & DCR_WRITABLE;
	if (timer_mode(l) != TIMER_TSC_DEADLINE && current)
		timer_start(l, now, current);
}

/* ---- IPIs ---- */

static void send_ipi(struct lapic *l, uint32_t lo, uint32_t dest)
{
	unsigned mode = lo >> LVT_DELIVERY_SHIFT & 7;
	enum apic_shorthand shorthand = lo >> ICR_SHORTHAND_SHIFT & 3;
	struct apic_msg m = {
		.dest = dest,
		.vector = lo & 0xff,
		.mode = (uint8_t)mode,
		.logical = lo & ICR_LOGICAL,
		.wide = x2apic_mode(l),
		/* only the xAPIC knows it; it synchronised arbitration IDs */
		.init_deassert = mode == APIC_DM_INIT && !(lo & ICR_LEVEL_ASSERT) &&
				 (lo & ICR_TRIGGER_LEVEL),
	};

	switch (mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (m.vector < 16) {
			lapic_error(l, ESR_SEND_ILLEGAL_VECTOR);
			return;
		}
		/* lowest priority to self or to all is invalid */
		if (mode == APIC_DM_LOWEST &&
		    (shorthand == APIC_DEST_SELF || shorthand == APIC_DEST_ALL))
			return;
		break;
	case APIC_DM_SMI:
	case APIC_DM_NMI:
	case APIC_DM_INIT:
	case APIC_DM_SIPI:
		if (shorthand == APIC_DEST_SELF)
			return;	/* invalid */
		break;
	default:	/* 3 reserved; ExtINT is not an IPI */
		return;
	}
	irq_router_send(l->router, &m, l, shorthand);
}

static void icr_write(struct lapic *l, uint64_t v)
{
	l->icr_lo = (uint32_t)v & ICR_WRITABLE;
	if (x2apic_mode(l)) {
		l->icr_hi = (uint32_t)(v >> 32);
		send_ipi(l, l->icr_lo, l->icr_hi);
	} else {
		send_ipi(l, l->icr_lo, l->icr_hi >> 24);
	}
}

/* ---- end of interrupt, priorities ---- */

static void lapic_eoi(struct lapic *l)
{
	int v = highest_vector(l->isr);
	if (v < 0)
		return;
	vector_clear(l->isr, (unsigned)v);
	if (vector_test(l->tmr, (unsigned)v))
		irq_router_eoi(l->router, (uint8_t)v);
	lapic_kick(l);
}

static void svr_write(struct lapic *l, uint32_t v)
{
	l->svr = v & SVR_WRITABLE;
	/* software-disabled: every LVT entry masked, and they stay so */
	if (!sw_enabled(l))
		for (int i = 0; i < LVT_COUNT; i++)
			l->lvt[i] |= LVT_MASKED;
	lapic_kick(l);
}

static void lvt_write(struct lapic *l, unsigned idx, uint32_t v)
{
	v &= lvt_writable[idx];
	if (!sw_enabled(l))
		v |= LVT_MASKED;
	if (idx == LVT_TIMER)
		timer_lvt_write(l, v);
	else
		l->lvt[idx] = v | (l->lvt[idx] & ~lvt_writable[idx]);
	if (idx == LVT_LINT0)
		lapic_kick(l);	/* the PIC's path opened or closed */
}

/* ---- the register file ---- */

/* 0, -ENOENT for no such register (in this mode), -EPERM for write-only */
static int reg_read(struct lapic *l, unsigned reg, uint64_t *v)
{
	bool x2 = x2apic_mode(l);

	if (reg >= REG_ISR && reg < REG_ISR + 8) {
		*v = l->isr[reg - REG_ISR];
		return 0;
	}
	if (reg >= REG_TMR && reg < REG_TMR + 8) {
		*v = l->tmr[reg - REG_TMR];
		return 0;
	}
	if (reg >= REG_IRR && reg < REG_IRR + 8) {
		*v = l->irr[reg - REG_IRR];
		return 0;
	}
	if (reg >= REG_LVT && reg < REG_LVT + LVT_COUNT) {
		*v = l->lvt[reg - REG_LVT];
		return 0;
	}
	switch (reg) {
	case REG_ID:
		*v = x2 ? l->cpu : l->id;
		return 0;
	case REG_VERSION:
		*v = APIC_VERSION;
		return 0;
	case REG_TPR:
		*v = l->tpr;
		return 0;
	case REG_APR:
		if (x2)
			return -ENOENT;
		*v = lapic_apr(l);
		return 0;
	case REG_PPR:
		*v = lapic_ppr(l);
		return 0;
	case REG_EOI:
		if (x2)
			return -EPERM;
		*v = 0;
		return 0;
	case REG_RRD:	/* remote read: never valid */
		if (x2)
			return -ENOENT;
		*v = 0;
		return 0;
	case REG_LDR:
		*v = l->ldr;
		return 0;
	case REG_DFR:
		if (x2)
			return -ENOENT;
		*v = l->dfr;
		return 0;
	case REG_SVR:
		*v = l->svr;
		return 0;
	case REG_ESR:
		*v = l->esr;
		return 0;
	case REG_ICR:
		*v = l->icr_lo;
		if (x2)
			*v |= (uint64_t)l->icr_hi << 32;
		return 0;
	case REG_ICR_HI:
		if (x2)
			return -ENOENT;
		*v = l->icr_hi;
		return 0;
	case REG_TIMER_INITIAL:
		*v = l->timer_initial;
		return 0;
	case REG_TIMER_CURRENT:
		*v = timer_current(l, vm_clock_ns(l->vm));
		return 0;
	case REG_TIMER_DIVIDE:
		*v = l->timer_dcr;
		return 0;
	case REG_SELF_IPI:
		return x2 ? -EPERM : -ENOENT;
	default:
		return -ENOENT;
	}
}

/* 0, -ENOENT for no such register (in this mode), -EPERM for read-only,
 * -EINVAL for reserved bits set (checked in x2APIC mode, where they #GP;
 * the xAPIC drops them) */
static int reg_write(struct lapic *l, unsigned reg, uint64_t v)
{
	bool x2 = x2apic_mode(l);
	uint32_t lo = (uint32_t)v;

	if (x2 && reg != REG_ICR && v >> 32)
		return -EINVAL;
	if ((reg >= REG_ISR && reg < REG_IRR + 8) || reg == REG_VERSION || reg == REG_PPR ||
	    reg == REG_TIMER_CURRENT)
		return -EPERM;
	if (reg >= REG_LVT && reg < REG_LVT + LVT_COUNT) {
		unsigned idx = reg - REG_LVT;
		if (x2 && (lo & ~lvt_writable[idx]))
			return -EINVAL;
		lvt_write(l, idx, lo);
		return 0;
	}
	switch (reg) {
	case REG_ID:
		if (x2)
			return -EPERM;
		l->id = lo & 0xff000000u;
		return 0;
	case REG_TPR:
		if (x2 && (lo & ~0xffu))
			return -EINVAL;
		l->tpr = lo & 0xff;
		lapic_kick(l);
		return 0;
	case REG_APR:
	case REG_RRD:
		return x2 ? -ENOENT : -EPERM;
	case REG_EOI:
		if (x2 && lo)
			return -EINVAL;
		lapic_eoi(l);
		return 0;
	case REG_LDR:
		if (x2)
			return -EPERM;	/* derived from the x2APIC ID */
		l->ldr = lo & 0xff000000u;
		return 0;
	case REG_DFR:
		if (x2)
			return -ENOENT;
		l->dfr = lo | 0x0fffffffu;	/* only the model bits are writable */
		return 0;
	case REG_SVR:
		if (x2 && (lo & ~SVR_WRITABLE))
			return -EINVAL;
		svr_write(l, lo);
		return 0;
	case REG_ESR:
		if (x2 && lo)
			return -EINVAL;
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return 0;
	case REG_ICR:
		if (x2 && (lo & ~ICR_WRITABLE))
			return -EINVAL;
		icr_write(l, v);
		return 0;
	case REG_ICR_HI:
		if (x2)
			return -ENOENT;
		l->icr_hi = lo & 0xff000000u;
		return 0;
	case REG_TIMER_INITIAL:
		timer_initial_write(l, lo);
		return 0;
	case REG_TIMER_DIVIDE:
		if (x2 && (lo & ~DCR_WRITABLE))
			return -EINVAL;
		timer_divide_write(l, lo);
		return 0;
	case REG_SELF_IPI:
		if (!x2)
			return -ENOENT;
		if (lo & ~0xffu)
			return -EINVAL;
		send_ipi(l, lo | APIC_DEST_SELF << ICR_SHORTHAND_SHIFT, 0);
		return 0;
	default:
		return -ENOENT;
	}
}

/* ---- xAPIC MMIO ---- */

/* Registers are 32 bits at the start of each 16-byte slot.  Narrow or
 * misaligned reads see the bytes they cover; anything but an aligned
 * 32-bit write is dropped (the architecture leaves both undefined). */
uint64_t lapic_mmio_read(struct lapic *l, uint64_t offset, unsigned size)
{
	uint64_t v = 0;
	unsigned byte = offset & 15;

	(void)size;	/* the bus keeps the bytes asked for */
	/* disabled, or in x2APIC mode: the range is not decoded */
	if (!hw_enabled(l) || x2apic_mode(l))
		return ~0ull;
	int ret = reg_read(l, (unsigned)(offset >> 4) & 0xff, &v);
	if (ret == -ENOENT)
		lapic_error(l, ESR_ILLEGAL_REGISTER);
	if (ret < 0 || byte >= 4)
		return 0;
	return (v & 0xffffffffu) >> (8 * byte);
}

void lapic_mmio_write(struct lapic *l, uint64_t offset, unsigned size, uint64_t value)
{
	if (!hw_enabled(l) || x2apic_mode(l))
		return;
	if (size != 4 || (offset & 15)) {
		if (l->vm->cfg.debug_mask & DEBUG_GUEST_ERRORS)
			log_debug("lapic%u: %u-byte write at %#llx dropped", l->cpu, size,
				  (unsigned long long)offset);
		return;
	}
	if (reg_write(l, (unsigned)(offset >> 4) & 0xff, value & 0xffffffffu) == -ENOENT)
		lapic_error(l, ESR_ILLEGAL_REGISTER);
}

/* ---- MSRs ---- */

static void lapic_clear_state(struct lapic *l);

static int apic_base_write(struct lapic *l, uint64_t v)
{
	uint64_t addr_mask = ((1ull << APIC_BASE_PHYS_BITS) - 1) & ~0xfffull;
	uint64_t allowed = addr_mask | APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN;
	bool was_en = hw_enabled(l), was_x2 = x2apic_mode(l);
	bool en = v & APIC_BASE_EN, x2 = v & APIC_BASE_EXTD;

	if (v & ~allowed)
		return -EINVAL;
	/* the invalid transitions: x2APIC without the APIC, x2APIC back to
	 * xAPIC without disabling, disabled straight into x2APIC */
	if ((x2 && !en) || (was_x2 && en && !x2) || (!was_en && x2))
		return -EINVAL;
	/* The base address stays put: all APICs share one MMIO range, and
	 * no OS we run relocates it.  The BSP flag is the hardware's. */
	if ((v & addr_mask) != APIC_DEFAULT_BASE && (l->vm->cfg.debug_mask & DEBUG_GUEST_ERRORS))
		log_debug("lapic%u: APIC base relocation to %#llx ignored", l->cpu,
			  (unsigned long long)(v & addr_mask));
	l->apic_base = APIC_DEFAULT_BASE | (l->apic_base & APIC_BASE_BSP) |
		       (en ? APIC_BASE_EN : 0) | (x2 ? APIC_BASE_EXTD : 0);
	if (was_en && !en)
		lapic_clear_state(l);	/* back as at power-up when enabled again */
	if (!was_x2 && x2)
		l->ldr = (l->cpu >> 4) << 16 | 1u << (l->cpu & 15);
	lapic_kick(l);
	return 0;
}

static struct lapic *lapic_of(struct vm *vm, unsigned cpu)
{
	return vm->irq_router ? irq_router_lapic(vm->irq_router, cpu) : NULL;
}

int lapic_msr_read(struct vm *vm, unsigned cpu, uint32_t msr, uint64_t *val)
{
	struct lapic *l = lapic_of(vm, cpu);
	int ret = 0;

	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&vm->dev_lock);
	if (msr == MSR_APIC_BASE) {
		*val = l->apic_base;
	} else if (msr == MSR_TSC_DEADLINE) {
		*val = timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
	} else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST && x2apic_mode(l)) {
		if (reg_read(l, msr - MSR_X2APIC_FIRST, val) < 0)
			ret = -EINVAL;
	} else {
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&vm->dev_lock);
	return ret;
}

int lapic_msr_write(struct vm *vm, unsigned cpu, uint32_t msr, uint64_t val)
{
	struct lapic *l = lapic_of(vm, cpu);
	int ret = 0;

	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&vm->dev_lock);
	if (msr == MSR_APIC_BASE) {
		ret = apic_base_write(l, val);
	} else if (msr == MSR_TSC_DEADLINE) {
		/* ignored outside TSC-deadline mode */
		if (timer_mode(l) == TIMER_TSC_DEADLINE && hw_enabled(l)) {
			l->tsc_deadline = val;
			tsc_deadline_arm(l);
		}
	} else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST && x2apic_mode(l)) {
		if (reg_write(l, msr - MSR_X2APIC_FIRST, val) < 0)
			ret = -EINVAL;
	} else {
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&vm->dev_lock);
	return ret;
}

uint64_t lapic_read_cr8(struct vm *vm, unsigned cpu)
{
	struct lapic *l = lapic_of(vm, cpu);
	if (!l)
		return 0;
	pthread_mutex_lock(&vm->dev_lock);
	uint64_t cr8 = l->tpr >> 4 & 15;
	pthread_mutex_unlock(&vm->dev_lock);
	return cr8;
}

void lapic_write_cr8(struct vm *vm, unsigned cpu, uint64_t cr8)
{
	struct lapic *l = lapic_of(vm, cpu);
	if (!l)
		return;
	pthread_mutex_lock(&vm->dev_lock);
	l->tpr = (uint32_t)(cr8 & 15) << 4;
	lapic_kick(l);
	pthread_mutex_unlock(&vm->dev_lock);
}

/* ---- messages from the bus ---- */

bool lapic_match_dest(const struct lapic *l, uint32_t dest, bool logical, bool wide)
{
	if (!hw_enabled(l))
		return false;
	if (x2apic_mode(l) && wide) {
		if (dest == 0xffffffffu)
			return true;
		if (!logical)
			return dest == l->cpu;
		/* cluster in bits 31:16, one bit per APIC in 15:0 */
		return (dest >> 16) == (l->ldr >> 16) && (dest & l->ldr & 0xffff);
	}
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	if (!logical)
		return dest == (x2apic_mode(l) ? l->cpu : l->id >> 24);
	uint32_t ldr = l->ldr >> 24;
	if ((l->dfr >> 28) == 0xf)	/* flat: one bit per APIC */
		return ldr & dest;
	/* cluster: cluster number in the high nibble, 15 is all */
	return ((dest >> 4) == 0xf || (dest >> 4) == (ldr >> 4)) && (dest & ldr & 0xf);
}

int lapic_arbitration_priority(const struct lapic *l, uint8_t vector)
{
	if (!hw_enabled(l) || !sw_enabled(l))
		return -1;
	/* the focus processor, already busy with the vector, takes it */
	if (!(l->svr & SVR_FOCUS_OFF) && (vector_test(l->isr, vector) || vector_test(l->irr, vector)))
		return 0;
	return 1 + (int)lapic_ppr(l);
}

/* INIT: the registers to their power-on values; ID and base stay */
static void lapic_clear_state(struct lapic *l)
{
	timer_del(l->vm, &l->timer);
	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xffffffffu;
	l->svr = SVR_RESET;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	for (int i = 0; i < LVT_COUNT; i++)
		l->lvt[i] = LVT_MASKED;
	l->extint_pending = false;
	l->timer_initial = l->timer_dcr = 0;
	l->timer_start_ns = 0;
	l->timer_start_count = 0;
	l->tsc_deadline = 0;
	if (x2apic_mode(l))
		l->ldr = (l->cpu >> 4) << 16 | 1u << (l->cpu & 15);
}

bool lapic_accept(struct lapic *l, const struct apic_msg *m)
{
	if (!hw_enabled(l))
		return false;
	switch (m->mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		return accept_fixed(l, m->vector, m->level);
	case APIC_DM_NMI:
		irq_router_tell_vcpu(l->router, l->cpu, VCPU_DELIVER_NMI, 0);
		return true;
	case APIC_DM_INIT:
		if (m->init_deassert)
			return true;
		lapic_clear_state(l);
		irq_router_tell_vcpu(l->router, l->cpu, VCPU_DELIVER_INIT, 0);
		return true;
	case APIC_DM_SIPI:
		irq_router_tell_vcpu(l->router, l->cpu, VCPU_DELIVER_SIPI, m->vector);
		return true;
	case APIC_DM_EXTINT:
		l->extint_pending = true;
		lapic_kick(l);
		return true;
	default:	/* SMI: no SMM */
		return false;
	}
}

/* ---- the CPU's interrupt acknowledge ---- */

bool lapic_accepts_pic(const struct lapic *l)
{
	if (l->extint_pending)
		return true;
	if (l->cpu != 0)	/* the PIC's wire reaches the BSP's LINT0 only */
		return false;
	if (!hw_enabled(l) || !sw_enabled(l))
		return true;	/* LINT0 is the CPU's INTR pin then */
	uint32_t lint0 = l->lvt[LVT_LINT0];
	return !(lint0 & LVT_MASKED) && (lint0 >> LVT_DELIVERY_SHIFT & 7) == APIC_DM_EXTINT;
}

void lapic_pic_acked(struct lapic *l)
{
	l->extint_pending = false;
}

bool lapic_has_interrupt(const struct lapic *l)
{
	if (!hw_enabled(l) || !sw_enabled(l))
		return false;
	int v = highest_vector(l->irr);
	return v >= 0 && ((unsigned)v & 0xf0) > (lapic_ppr(l) & 0xf0);
}

int lapic_ack(struct lapic *l)
{
	int v = highest_vector(l->irr);
	if (v < 0 || !hw_enabled(l))
		return -1;
	/* the request fell below the priority (or the APIC was disabled)
	 * between INTR and INTA */
	if (!sw_enabled(l) || ((unsigned)v & 0xf0) <= (lapic_ppr(l) & 0xf0))
		return l->svr & 0xff;
	vector_clear(l->irr, (unsigned)v);
	vector_set(l->isr, (unsigned)v);
	return v;
}

/* ---- life cycle ---- */

void lapic_reset(struct lapic *l)
{
	l->apic_base = APIC_DEFAULT_BASE | APIC_BASE_EN | (l->cpu == 0 ? APIC_BASE_BSP : 0);
	l->id = l->cpu << 24;
	lapic_clear_state(l);
	/* as a PC BIOS leaves the BSP (MP spec virtual-wire mode): the PIC
	 * on LINT0, NMI on LINT1 */
	if (l->cpu == 0) {
		l->lvt[LVT_LINT0] = APIC_DM_EXTINT << LVT_DELIVERY_SHIFT;
		l->lvt[LVT_LINT1] = APIC_DM_NMI << LVT_DELIVERY_SHIFT;
	}
}

struct lapic *lapic_new(struct vm *vm, struct irq_router *router, unsigned cpu)
{
	struct lapic *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->vm = vm;
	l->router = router;
	l->cpu = cpu;
	timer_init(&l->timer, lapic_timer_expired, l);
	lapic_reset(l);
	return l;
}

void lapic_free(struct lapic *l)
{
	if (!l)
		return;
	timer_del(l->vm, &l->timer);
	free(l);
}

uint32_t lapic_id(const struct lapic *l)
{
	return x2apic_mode(l) ? l->cpu : l->id >> 24;
}

uint64_t lapic_apic_base(const struct lapic *l)
{
	return l->apic_base;
}
