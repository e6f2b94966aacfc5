/* The GSI routing table handed to KVM must match the MADT: IRQ 0 on I/O
 * APIC pin 2, every other ISA IRQ on its own PIC input and pin. */
#include "accel/kvm/kvm_internal.h"
#include "test.h"

static const struct kvm_irq_routing_entry *find(const struct kvm_irq_routing_entry *e, unsigned n,
						uint32_t gsi, uint32_t chip)
{
	for (unsigned i = 0; i < n; i++)
		if (e[i].gsi == gsi && e[i].u.irqchip.irqchip == chip)
			return &e[i];
	return NULL;
}

TEST(timer_reaches_ioapic_pin_2)
{
	struct kvm_irq_routing_entry e[KVM_PC_IRQ_ROUTES];
	unsigned n = kvm_pc_irq_routes(e);
	CHECK_EQ(n, KVM_PC_IRQ_ROUTES);
	const struct kvm_irq_routing_entry *t = find(e, n, 0, KVM_IRQCHIP_IOAPIC);
	CHECK(t && t->u.irqchip.pin == 2);
	CHECK(!find(e, n, 2, KVM_IRQCHIP_IOAPIC));
	CHECK(!find(e, n, 2, KVM_IRQCHIP_PIC_MASTER));
}

TEST(isa_irqs_reach_pic_and_ioapic)
{
	struct kvm_irq_routing_entry e[KVM_PC_IRQ_ROUTES];
	unsigned n = kvm_pc_irq_routes(e);
	for (uint32_t gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++) {
		if (gsi == 2)
			continue;
		const struct kvm_irq_routing_entry *io = find(e, n, gsi, KVM_IRQCHIP_IOAPIC);
		CHECK(io && io->type == KVM_IRQ_ROUTING_IRQCHIP);
		CHECK(io && io->u.irqchip.pin == (gsi ? gsi : 2));
		if (gsi < 16) {
			uint32_t chip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			const struct kvm_irq_routing_entry *pic = find(e, n, gsi, chip);
			CHECK(pic && pic->u.irqchip.pin == gsi % 8);
		} else {
			CHECK(!find(e, n, gsi, KVM_IRQCHIP_PIC_MASTER));
			CHECK(!find(e, n, gsi, KVM_IRQCHIP_PIC_SLAVE));
		}
	}
}

RUN_TESTS(T(timer_reaches_ioapic_pin_2), T(isa_irqs_reach_pic_and_ioapic))
