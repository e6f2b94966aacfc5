/* The local APIC of each vCPU (xAPIC MMIO at 0xFEE00000 and x2APIC MSRs),
 * for the software CPU; under KVM the kernel has its own.  The APICs are
 * created and wired by the interrupt router (hw/irq_router.h), which owns
 * the MMIO range and the message bus between the APICs. */
#ifndef MINIVMM_LAPIC_H
#define MINIVMM_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"

struct vm;
struct lapic;
struct irq_router;

#define APIC_DEFAULT_BASE 0xfee00000ull
#define APIC_MMIO_SIZE 0x1000

/* The APIC timer counts at this clock divided by the divide
 * configuration.  It is the core crystal clock of CPUID 0x15 (ECX), which
 * Linux takes as the APIC timer's rate without calibrating it: the CPU's
 * CPUID must report this value. */
#define APIC_BUS_HZ 25000000ull

/* The guest TSC frequency: the TSC is vm_clock_ns times
 * GUEST_TSC_HZ / 1e9, plus a per-CPU offset set through IA32_TSC.  Used for
 * TSC-deadline; the CPU's RDTSC and CPUID 0x15/0x16 must report the same
 * (the software CPU's X86_TSC_HZ; lapic.c checks they agree). */
#define GUEST_TSC_HZ 2000000000ull

static inline uint64_t guest_tsc_from_ns(uint64_t ns)
{
	return muldiv64(ns, GUEST_TSC_HZ, NS_PER_SEC);
}

static inline uint64_t guest_ns_from_tsc(uint64_t tsc)
{
	return muldiv64(tsc, NS_PER_SEC, GUEST_TSC_HZ);
}

/* MSRs that reach the APIC */
#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST 0x800
#define MSR_X2APIC_LAST 0x8ff

/* IA32_APIC_BASE bits */
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)	/* x2APIC mode */
#define APIC_BASE_EN (1ull << 11)

/* Delivery modes (ICR, LVT, I/O APIC redirection entries) */
enum apic_delivery_mode {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_SIPI = 6,
	APIC_DM_EXTINT = 7,
};

/* CR8 is TPR[7:4] in both xAPIC and x2APIC mode (0 when cpu has no APIC) */
uint64_t lapic_read_cr8(struct vm *vm, unsigned cpu);
void lapic_write_cr8(struct vm *vm, unsigned cpu, uint64_t cr8);

/* The CPU engine's view: IA32_APIC_BASE (0x1B), IA32_TSC_DEADLINE (0x6E0)
 * and the x2APIC registers (0x800-0x8FF) of vCPU cpu.  Returns 0, or
 * -EINVAL where the CPU raises #GP (x2APIC MSRs outside x2APIC mode,
 * reserved bits, read-only or write-only registers, no APIC). */
int lapic_msr_read(struct vm *vm, unsigned cpu, uint32_t msr, uint64_t *val);
int lapic_msr_write(struct vm *vm, unsigned cpu, uint32_t msr, uint64_t val);

/* The rest is for the interrupt router and the I/O APIC. */
struct lapic *lapic_new(struct vm *vm, struct irq_router *router, unsigned cpu);
void lapic_free(struct lapic *l);
/* Power-on state (the BSP's LINT0/LINT1 in virtual-wire mode) */
void lapic_reset(struct lapic *l);

/* xAPIC register access of this APIC's CPU */
uint64_t lapic_mmio_read(struct lapic *l, uint64_t offset, unsigned size);
void lapic_mmio_write(struct lapic *l, uint64_t offset, unsigned size, uint64_t value);

/* An interrupt message on the APIC bus */
struct apic_msg {
	uint32_t dest;
	uint8_t vector;
	uint8_t mode;		/* enum apic_delivery_mode */
	bool logical;
	bool level;		/* level-triggered (fixed, lowest): EOI goes back */
	bool wide;		/* 32-bit x2APIC destination (else 8-bit) */
	bool init_deassert;	/* INIT level de-assert: no effect */
};

bool lapic_match_dest(const struct lapic *l, uint32_t dest, bool logical, bool wide);
/* For lowest-priority arbitration: lower wins; -1 when it cannot accept */
int lapic_arbitration_priority(const struct lapic *l, uint8_t vector);
/* The message reached this APIC: false when the APIC ignored it (disabled;
 * fixed interrupts while software-disabled) */
bool lapic_accept(struct lapic *l, const struct apic_msg *m);

/* Would the PIC's INTR output reach this CPU (LINT0 in ExtINT mode, the
 * APIC disabled, or an ExtINT message from the I/O APIC)? */
bool lapic_accepts_pic(const struct lapic *l);
/* The PIC's vector was taken (an ExtINT message is consumed) */
void lapic_pic_acked(struct lapic *l);
/* A fixed interrupt above the processor priority is pending */
bool lapic_has_interrupt(const struct lapic *l);
/* The CPU takes it: the vector (now in service), the spurious vector when
 * the request fell below the priority before, -1 when there was none */
int lapic_ack(struct lapic *l);

/* Register values, for tests and debugging */
uint32_t lapic_id(const struct lapic *l);
uint64_t lapic_apic_base(const struct lapic *l);

#endif
