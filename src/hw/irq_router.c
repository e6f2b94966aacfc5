/* The interrupt wiring of a PC with APICs, as one struct irqchip_ops for
 * the software CPU.  Every device line reaches the I/O APIC (ISA IRQ 0 at
 * pin 2, pin 0 unused); ISA lines (gsi 0-15) also reach the PIC pair, whose output is wired to the BSP's
 * LINT0.  A vCPU asks its local APIC, which lets the PIC's interrupt
 * through first (ExtINT, or the APIC disabled: the PIC is then the CPU's
 * INTR), as external interrupts outrank the APIC's own.  One MMIO range
 * at 0xFEE00000 serves every local APIC: the one of vm->current_cpu. */
#include "hw/irq_router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/i8259.h"
#include "hw/ioapic.h"
#include "hw/lapic.h"
#include "hw/pc.h"

struct irq_router {
	struct vm *vm;
	struct i8259 *pic;	/* NULL: no PIC on this board */
	struct ioapic *ioapic;
	struct lapic *lapic[VM_MAX_VCPUS];
	unsigned nr_lapics;
};

struct lapic *irq_router_lapic(struct irq_router *r, unsigned cpu)
{
	return cpu < r->nr_lapics ? r->lapic[cpu] : NULL;
}

struct ioapic *irq_router_ioapic(struct irq_router *r)
{
	return r->ioapic;
}

void irq_router_tell_vcpu(struct irq_router *r, unsigned cpu, enum vcpu_delivery what,
			  uint8_t vector)
{
	struct vm *vm = r->vm;
	if (vm->accel && vm->accel->vcpu_deliver && cpu < vm->nr_vcpus)
		vm->accel->vcpu_deliver(&vm->vcpus[cpu], what, vector);
}

static bool shorthand_names(struct lapic *l, struct lapic *from, enum apic_shorthand shorthand,
			    const struct apic_msg *m)
{
	switch (shorthand) {
	case APIC_DEST_SELF:
		return l == from;
	case APIC_DEST_ALL:
		return true;
	case APIC_DEST_OTHERS:
		return l != from;
	default:
		return lapic_match_dest(l, m->dest, m->logical, m->wide);
	}
}

unsigned irq_router_send(struct irq_router *r, const struct apic_msg *m, struct lapic *from,
			 enum apic_shorthand shorthand)
{
	unsigned accepted = 0;

	if (m->mode == APIC_DM_LOWEST) {
		/* one of them: the focus processor, else the lowest priority
		 * (the first of equals) */
		struct lapic *best = NULL;
		int best_prio = 0;
		for (unsigned i = 0; i < r->nr_lapics; i++) {
			struct lapic *l = r->lapic[i];
			if (!shorthand_names(l, from, shorthand, m))
				continue;
			int prio = lapic_arbitration_priority(l, m->vector);
			if (prio >= 0 && (!best || prio < best_prio)) {
				best = l;
				best_prio = prio;
			}
		}
		return best && lapic_accept(best, m) ? 1 : 0;
	}
	for (unsigned i = 0; i < r->nr_lapics; i++) {
		struct lapic *l = r->lapic[i];
		if (shorthand_names(l, from, shorthand, m) && lapic_accept(l, m))
			accepted++;
	}
	return accepted;
}

void irq_router_eoi(struct irq_router *r, uint8_t vector)
{
	if (r->ioapic)
		ioapic_eoi(r->ioapic, vector);
}

/* ---- struct irqchip_ops ---- */

static void router_set_irq(void *opaque, unsigned gsi, int level)
{
	struct irq_router *r = opaque;
	pthread_mutex_lock(&r->vm->dev_lock);
	if (gsi < 16 && r->pic)
		i8259_set_irq(r->pic, gsi, level);
	ioapic_set_irq(r->ioapic, gsi == 0 ? ISA_IRQ0_IOAPIC_PIN : gsi, level);
	pthread_mutex_unlock(&r->vm->dev_lock);
}

static bool pic_reaches(struct irq_router *r, struct lapic *l)
{
	return r->pic && lapic_accepts_pic(l) && i8259_has_interrupt(r->pic);
}

static bool router_has_interrupt(void *opaque, unsigned cpu)
{
	struct irq_router *r = opaque;
	struct lapic *l = irq_router_lapic(r, cpu);
	if (!l)
		return false;
	pthread_mutex_lock(&r->vm->dev_lock);
	bool pending = pic_reaches(r, l) || lapic_has_interrupt(l);
	pthread_mutex_unlock(&r->vm->dev_lock);
	return pending;
}

static int router_ack_interrupt(void *opaque, unsigned cpu)
{
	struct irq_router *r = opaque;
	struct lapic *l = irq_router_lapic(r, cpu);
	int vector;
	if (!l)
		return -1;
	pthread_mutex_lock(&r->vm->dev_lock);
	if (pic_reaches(r, l)) {
		lapic_pic_acked(l);
		vector = i8259_ack(r->pic);
	} else {
		vector = lapic_ack(l);
	}
	pthread_mutex_unlock(&r->vm->dev_lock);
	return vector;
}

/* An MSI is a write to 0xFEExxxxx: destination ID in address bits
 * 19:12, logical destination mode in bit 2; vector, delivery mode and
 * trigger in the data.  Edge triggered: a level MSI has nothing to
 * de-assert. */
static void router_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct irq_router *r = opaque;
	struct apic_msg m = {
		.dest = (uint32_t)(addr >> 12) & 0xff,
		.vector = (uint8_t)data,
		.mode = (uint8_t)(data >> 8 & 7),
		.logical = addr & 4,
	};
	if ((addr >> 20) != (APIC_DEFAULT_BASE >> 20) || m.mode == APIC_DM_SIPI || m.mode == 3) {
		if (r->vm->cfg.debug_mask & DEBUG_GUEST_ERRORS)
			log_debug("msi: message 0x%x to 0x%llx dropped", data, (unsigned long long)addr);
		return;
	}
	pthread_mutex_lock(&r->vm->dev_lock);
	irq_router_send(r, &m, NULL, APIC_DEST_NONE);
	pthread_mutex_unlock(&r->vm->dev_lock);
}

static const struct irqchip_ops irq_router_ops = {
	.set_irq = router_set_irq,
	.has_interrupt = router_has_interrupt,
	.ack_interrupt = router_ack_interrupt,
	.send_msi = router_send_msi,
};

/* ---- the local APICs' MMIO range ---- */

static uint64_t lapic_range_read(void *opaque, uint64_t offset, unsigned size)
{
	struct irq_router *r = opaque;
	struct lapic *l = irq_router_lapic(r, r->vm->current_cpu);
	return l ? lapic_mmio_read(l, offset, size) : ~0ull;
}

static void lapic_range_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct irq_router *r = opaque;
	struct lapic *l = irq_router_lapic(r, r->vm->current_cpu);
	if (l)
		lapic_mmio_write(l, offset, size, value);
}

static const struct io_ops lapic_range_ops = {
	.read = lapic_range_read,
	.write = lapic_range_write,
};

/* ---- life cycle ---- */

static void irq_router_reset(void *opaque)
{
	struct irq_router *r = opaque;
	for (unsigned i = 0; i < r->nr_lapics; i++)
		lapic_reset(r->lapic[i]);
	ioapic_reset(r->ioapic);
}

static void irq_router_destroy(void *opaque)
{
	struct irq_router *r = opaque;
	struct vm *vm = r->vm;
	if (vm->irqchip_opaque == r) {
		/* no controller answers any more (the PIC goes next) */
		vm->irqchip = NULL;
		vm->irqchip_opaque = NULL;
	}
	if (vm->irq_router == r)
		vm->irq_router = NULL;
	io_bus_unregister(&vm->mmio, APIC_DEFAULT_BASE);
	for (unsigned i = 0; i < r->nr_lapics; i++)
		lapic_free(r->lapic[i]);
	ioapic_free(r->ioapic);
	free(r);
}

int irq_router_create(struct vm *vm)
{
	struct irq_router *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	r->vm = vm;
	r->pic = vm->pic;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		r->lapic[i] = lapic_new(vm, r, i);
		if (!r->lapic[i]) {
			ret = -ENOMEM;
			goto fail;
		}
		r->nr_lapics++;
	}
	ret = ioapic_new(vm, r, &r->ioapic);
	if (ret < 0)
		goto fail;
	ret = io_bus_register(&vm->mmio, APIC_DEFAULT_BASE, APIC_MMIO_SIZE, &lapic_range_ops, r,
			      "lapic");
	if (ret < 0) {
		log_error("lapic: cannot register its MMIO range: %s", strerror(-ret));
		goto fail;
	}
	ret = vm_add_device(vm, "irq-router", r, irq_router_reset, irq_router_destroy);
	if (ret < 0) {
		io_bus_unregister(&vm->mmio, APIC_DEFAULT_BASE);
		goto fail;
	}
	vm->irq_router = r;
	vm->irqchip = &irq_router_ops;
	vm->irqchip_opaque = r;
	return 0;
fail:
	for (unsigned i = 0; i < r->nr_lapics; i++)
		lapic_free(r->lapic[i]);
	ioapic_free(r->ioapic);
	free(r);
	return ret;
}
