/* The I/O APIC: an index register (IOREGSEL) and a data window (IOWIN)
 * reach the ID, version and arbitration registers and one 64-bit
 * redirection entry per pin; version 0x20 adds the EOI register at 0x40.
 * An edge-triggered pin sends its message when it goes up; a
 * level-triggered one sends it while it is up and no EOI is outstanding
 * (remote IRR), so a line still up after the EOI interrupts again.  Runs
 * under vm->dev_lock. */
#include "hw/ioapic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/irq_router.h"
#include "hw/lapic.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOEOI 0x40

#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARBITRATION 0x02
#define REG_REDIR 0x10		/* two per pin: low, high */

#define RTE_VECTOR 0xffull
#define RTE_MODE_SHIFT 8
#define RTE_LOGICAL (1ull << 11)
#define RTE_DELIVERY_STATUS (1ull << 12)
#define RTE_POLARITY_LOW (1ull << 13)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_DEST_SHIFT 56
/* delivery status and remote IRR are the chip's */
#define RTE_WRITABLE (0xff00000000000000ull | 0x1afffull)

struct ioapic {
	struct vm *vm;
	struct irq_router *router;
	uint32_t regsel;
	uint32_t id;		/* bits 27:24 */
	uint64_t redir[IOAPIC_PINS];
	uint32_t lines;		/* pins asserted now */
};

/* Send pin's message if its entry lets it */
static void ioapic_service(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->redir[pin];
	if (e & RTE_MASKED)
		return;
	if ((e & RTE_LEVEL) && (e & RTE_REMOTE_IRR))
		return;	/* the last one is not EOIed yet */
	struct apic_msg m = {
		.dest = (uint32_t)(e >> RTE_DEST_SHIFT),
		.vector = (uint8_t)(e & RTE_VECTOR),
		.mode = (uint8_t)(e >> RTE_MODE_SHIFT & 7),
		.logical = e & RTE_LOGICAL,
		.level = e & RTE_LEVEL,
	};
	/* INIT/SIPI/reserved modes mean nothing from an I/O APIC pin */
	if (m.mode == APIC_DM_SIPI || m.mode == 3)
		return;
	unsigned accepted = irq_router_send(io->router, &m, NULL, APIC_DEST_NONE);
	/* remote IRR only for a message someone will EOI */
	if ((e & RTE_LEVEL) && accepted &&
	    (m.mode == APIC_DM_FIXED || m.mode == APIC_DM_LOWEST))
		io->redir[pin] |= RTE_REMOTE_IRR;
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	if (pin >= IOAPIC_PINS)
		return;
	uint32_t mask = 1u << pin;
	bool was = io->lines & mask;
	if (level)
		io->lines |= mask;
	else
		io->lines &= ~mask;
	if (!level)
		return;
	if (io->redir[pin] & RTE_LEVEL)
		ioapic_service(io, pin);
	else if (!was)
		ioapic_service(io, pin);	/* rising edge; lost while masked */
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = io->redir[pin];
		if (!(e & RTE_LEVEL) || !(e & RTE_REMOTE_IRR) || (e & RTE_VECTOR) != vector)
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		if (io->lines & (1u << pin))
			ioapic_service(io, pin);
	}
}

static uint32_t ioapic_reg_read(struct ioapic *io, uint32_t reg)
{
	switch (reg) {
	case REG_ID:
	case REG_ARBITRATION:
		return io->id;
	case REG_VERSION:
		return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
	default:
		if (reg >= REG_REDIR && reg < REG_REDIR + 2 * IOAPIC_PINS) {
			uint64_t e = io->redir[(reg - REG_REDIR) / 2];
			return (uint32_t)(reg & 1 ? e >> 32 : e);
		}
		return 0;	/* reserved */
	}
}

static void ioapic_reg_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	if (reg == REG_ID) {
		io->id = v & 0x0f000000u;
		return;
	}
	if (reg < REG_REDIR || reg >= REG_REDIR + 2 * IOAPIC_PINS)
		return;	/* read-only or reserved */
	unsigned pin = (reg - REG_REDIR) / 2;
	uint64_t e = io->redir[pin];
	if (reg & 1)
		e = (e & 0xffffffffull) | (uint64_t)v << 32;
	else
		e = (e & ~0xffffffffull) | v;
	e = (e & RTE_WRITABLE) | (io->redir[pin] & ~RTE_WRITABLE);
	if (!(e & RTE_LEVEL))
		e &= ~RTE_REMOTE_IRR;	/* nothing to wait for on an edge pin */
	io->redir[pin] = e;
	/* unmasked (or made level) while the line is up */
	if ((e & RTE_LEVEL) && (io->lines & (1u << pin)))
		ioapic_service(io, pin);
}

/* IOREGSEL and IOWIN are 32-bit registers; narrower reads see the bytes
 * they cover, writes other than 32-bit ones are dropped except for
 * IOREGSEL, whose low byte is all there is */
static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ioapic *io = opaque;
	uint32_t v;
	(void)size;
	switch (offset & ~3ull) {
	case IOREGSEL:
		v = io->regsel;
		break;
	case IOWIN:
		v = ioapic_reg_read(io, io->regsel);
		break;
	default:
		return 0;	/* the EOI register is write-only */
	}
	return v >> (8 * (offset & 3));
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct ioapic *io = opaque;
	if (offset == IOREGSEL) {
		io->regsel = (uint32_t)value & 0xff;
		return;
	}
	if (size != 4 && !(size == 8 && (offset == IOWIN || offset == IOEOI))) {
		if (io->vm->cfg.debug_mask & DEBUG_GUEST_ERRORS)
			log_debug("ioapic: %u-byte write at %#llx dropped", size,
				  (unsigned long long)offset);
		return;
	}
	if (offset == IOWIN)
		ioapic_reg_write(io, io->regsel, (uint32_t)value);
	else if (offset == IOEOI)
		ioapic_eoi(io, (uint8_t)value);
}

static const struct io_ops ioapic_mmio_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

void ioapic_reset(struct ioapic *io)
{
	io->regsel = 0;
	io->id = 0;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		io->redir[pin] = RTE_MASKED;
	/* the lines keep their level: devices reset on their own */
}

uint64_t ioapic_redirection(const struct ioapic *io, unsigned pin)
{
	return pin < IOAPIC_PINS ? io->redir[pin] : 0;
}

int ioapic_new(struct vm *vm, struct irq_router *router, struct ioapic **out)
{
	struct ioapic *io = calloc(1, sizeof(*io));
	int ret;

	if (!io)
		return -ENOMEM;
	io->vm = vm;
	io->router = router;
	ioapic_reset(io);
	ret = io_bus_register(&vm->mmio, IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE, &ioapic_mmio_ops,
			      io, "ioapic");
	if (ret < 0) {
		log_error("ioapic: cannot register its MMIO range: %s", strerror(-ret));
		free(io);
		return ret;
	}
	*out = io;
	return 0;
}

void ioapic_free(struct ioapic *io)
{
	if (!io)
		return;
	io_bus_unregister(&io->vm->mmio, IOAPIC_DEFAULT_BASE);
	free(io);
}
