/* The I/O APIC (82093AA-like, version 0x20 with the EOI register) at
 * 0xFEC00000: 24 input pins, each with a redirection entry that turns
 * the pin into a message to the local APICs.  Used with the software CPU. */
#ifndef MINIVMM_IOAPIC_H
#define MINIVMM_IOAPIC_H

#include <stdint.h>

struct vm;
struct ioapic;
struct irq_router;

#define IOAPIC_DEFAULT_BASE 0xfec00000ull
#define IOAPIC_MMIO_SIZE 0x1000
#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x20

/* Registers the MMIO range; the board's router owns the result */
int ioapic_new(struct vm *vm, struct irq_router *router, struct ioapic **out);
void ioapic_free(struct ioapic *io);
void ioapic_reset(struct ioapic *io);

/* Input pin now at level (1 = asserted: the wire's polarity is the board's
 * business, as with KVM's in-kernel I/O APIC) */
void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);
/* A local APIC ended a level-triggered vector (or the guest wrote the EOI
 * register): remote IRR clears and a line still asserted is sent again */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* A redirection entry, for tests and debugging */
uint64_t ioapic_redirection(const struct ioapic *io, unsigned pin);

#endif
