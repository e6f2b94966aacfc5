/* The GSI routing table handed to KVM must match the MADT: IRQ 0 on I/O
 * APIC pin 2, every other ISA IRQ on its own PIC input and pin.  MSI
 * routes for irqfds come above the I/O APIC's pins, and every table
 * handed to KVM_SET_GSI_ROUTING holds all routes: the PC's and the MSI
 * ones, with their messages. */
#include <errno.h>
#include <stdlib.h>

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

static const struct kvm_irq_routing_entry *find_gsi(const struct kvm_irq_routing *t, uint32_t gsi,
						    uint32_t type)
{
	for (unsigned i = 0; i < t->nr; i++)
		if (t->entries[i].gsi == gsi && t->entries[i].type == type)
			return &t->entries[i];
	return NULL;
}

static bool msi_is(const struct kvm_irq_routing *t, uint32_t gsi, uint64_t addr, uint32_t data)
{
	const struct kvm_irq_routing_entry *e = find_gsi(t, gsi, KVM_IRQ_ROUTING_MSI);
	return e && e->u.msi.address_lo == (uint32_t)addr &&
	       e->u.msi.address_hi == (uint32_t)(addr >> 32) && e->u.msi.data == data &&
	       e->flags == 0;
}

static struct kvm_gsi_routes rt;

TEST(msi_routes_above_the_ioapic_pins)
{
	kvm_routes_init(&rt, 4096);
	struct kvm_irq_routing *t = kvm_routes_table(&rt);
	CHECK(t != NULL);
	CHECK_EQ(t->nr, KVM_PC_IRQ_ROUTES);
	free(t);

	CHECK_EQ(kvm_routes_add_msi(&rt, 0xfee00000, 0x4041), 24);
	CHECK_EQ(kvm_routes_add_msi(&rt, 0x1fee01000ull, 0x4042), 25);
	CHECK_EQ(kvm_routes_add_msi(&rt, 0xfee02000, 0x4043), 26);
	t = kvm_routes_table(&rt);
	CHECK_EQ(t->nr, KVM_PC_IRQ_ROUTES + 3);
	CHECK(msi_is(t, 24, 0xfee00000, 0x4041));
	CHECK(msi_is(t, 25, 0x1fee01000ull, 0x4042));
	CHECK(msi_is(t, 26, 0xfee02000, 0x4043));
	/* the PC's routes are all still there */
	const struct kvm_irq_routing_entry *timer = find_gsi(t, 0, KVM_IRQ_ROUTING_IRQCHIP);
	CHECK(timer != NULL);
	unsigned irqchip = 0;
	for (unsigned i = 0; i < t->nr; i++)
		irqchip += t->entries[i].type == KVM_IRQ_ROUTING_IRQCHIP;
	CHECK_EQ(irqchip, KVM_PC_IRQ_ROUTES);
	free(t);

	/* a new message for 25, then 24 goes and its GSI is the next one taken */
	CHECK_EQ(kvm_routes_set_msi(&rt, 25, 0xfee03000, 0x4051), 0);
	CHECK_EQ(kvm_routes_remove(&rt, 24), 0);
	CHECK_EQ(kvm_routes_remove(&rt, 24), -ENOENT);
	CHECK_EQ(kvm_routes_set_msi(&rt, 24, 0xfee00000, 0), -ENOENT);
	CHECK_EQ(kvm_routes_set_msi(&rt, 3, 0xfee00000, 0), -ENOENT);	/* not an MSI route */
	t = kvm_routes_table(&rt);
	CHECK_EQ(t->nr, KVM_PC_IRQ_ROUTES + 2);
	CHECK(!find_gsi(t, 24, KVM_IRQ_ROUTING_MSI));
	CHECK(msi_is(t, 25, 0xfee03000, 0x4051));
	CHECK(msi_is(t, 26, 0xfee02000, 0x4043));
	free(t);
	CHECK_EQ(kvm_routes_add_msi(&rt, 0xfee00000, 0x4061), 24);
	CHECK_EQ(kvm_routes_add_msi(&rt, 0xfee00000, 0x4062), 27);
}

TEST(msi_routes_run_out)
{
	/* KVM_CAP_IRQ_ROUTING said 28 routes: GSIs 24-27 for MSIs */
	kvm_routes_init(&rt, 28);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(kvm_routes_add_msi(&rt, 0xfee00000, (uint32_t)i), 24 + i);
	CHECK_EQ(kvm_routes_add_msi(&rt, 0xfee00000, 9), -ENOSPC);
	CHECK_EQ(kvm_routes_remove(&rt, 26), 0);
	CHECK_EQ(kvm_routes_add_msi(&rt, 0xfee00000, 9), 26);
	/* and the table's own limit */
	kvm_routes_init(&rt, 1u << 20);
	for (unsigned i = 0; i < KVM_MAX_MSI_ROUTES; i++)
		CHECK_EQ(kvm_routes_add_msi(&rt, 0xfee00000, i), (int)(24 + i));
	CHECK_EQ(kvm_routes_add_msi(&rt, 0xfee00000, 0), -ENOSPC);
	struct kvm_irq_routing *t = kvm_routes_table(&rt);
	CHECK_EQ(t->nr, KVM_PC_IRQ_ROUTES + KVM_MAX_MSI_ROUTES);
	CHECK(msi_is(t, 24 + KVM_MAX_MSI_ROUTES - 1, 0xfee00000, KVM_MAX_MSI_ROUTES - 1));
	free(t);
}

RUN_TESTS(T(timer_reaches_ioapic_pin_2), T(isa_irqs_reach_pic_and_ioapic),
	  T(msi_routes_above_the_ioapic_pins), T(msi_routes_run_out))
