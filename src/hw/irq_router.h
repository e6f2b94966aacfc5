/* The PC's interrupt wiring for the software CPU: device lines go to the
 * I/O APIC (24 pins, gsi n is pin n but for the timer's ISA IRQ 0, which
 * is pin 2 as the MADT's interrupt source override says) and, for gsi
 * 0-15, to the PIC pair too; the PIC's output reaches the BSP's LINT0.
 * Each vCPU asks its own local APIC, which takes the PIC's vector when
 * LINT0 is in ExtINT mode or the APIC is disabled.  The router also
 * carries messages between the APICs (IPIs, I/O APIC interrupts, EOIs). */
#ifndef MINIVMM_IRQ_ROUTER_H
#define MINIVMM_IRQ_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/accel.h"

/* Where ISA IRQ 0 (the PIT) enters the I/O APIC, as on PC chipsets and
 * QEMU; the MADT declares it (src/boot/acpi.c) */
#define ISA_IRQ0_IOAPIC_PIN 2

struct vm;
struct lapic;
struct ioapic;
struct apic_msg;
struct irq_router;

/* Creates the local APICs (vm->nr_vcpus) and the I/O APIC, and installs
 * itself as vm->irqchip in place of the PIC (after i8259_create). */
int irq_router_create(struct vm *vm);

/* NULL when cpu has no APIC */
struct lapic *irq_router_lapic(struct irq_router *r, unsigned cpu);
struct ioapic *irq_router_ioapic(struct irq_router *r);

/* ICR destination shorthands */
enum apic_shorthand {
	APIC_DEST_NONE = 0,
	APIC_DEST_SELF = 1,
	APIC_DEST_ALL = 2,
	APIC_DEST_OTHERS = 3,
};
/* Send a message to the APICs it names (the shorthands name them relative
 * to from, the sending APIC, NULL for the I/O APIC).  Returns how many
 * APICs accepted it. */
unsigned irq_router_send(struct irq_router *r, const struct apic_msg *m, struct lapic *from,
			 enum apic_shorthand shorthand);
/* A local APIC ended a level-triggered vector */
void irq_router_eoi(struct irq_router *r, uint8_t vector);
/* Tell the engine (if it wants to know) about vCPU cpu */
void irq_router_tell_vcpu(struct irq_router *r, unsigned cpu, enum vcpu_delivery what,
			  uint8_t vector);

#endif
