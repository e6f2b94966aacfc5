#include "test.h"

#include "apic_vm.h"

#define RTE_LOGICAL (1ull << 11)
#define RTE_DELIVERY_STATUS (1ull << 12)
#define RTE_POLARITY_LOW (1ull << 13)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_DEST(d) ((uint64_t)(d) << 56)
#define RTE_LOWEST (1ull << 8)

static struct ioapic *ioapic_of(struct vm *vm)
{
	return irq_router_ioapic(vm->irq_router);
}

static void eoi(struct vm *vm, unsigned cpu)
{
	apic_write(vm, cpu, 0xb0, 0);
}

TEST(id_and_version)
{
	struct vm *vm = apic_vm_new(1);
	uint64_t v;
	CHECK_EQ(ioapic_read_reg(vm, 1), 0x00170020);	/* 24 entries, version 0x20 */
	CHECK_EQ(ioapic_read_reg(vm, 0), 0);
	ioapic_write_reg(vm, 0, 0xffffffffu);
	CHECK_EQ(ioapic_read_reg(vm, 0), 0x0f000000);
	CHECK_EQ(ioapic_read_reg(vm, 2), 0x0f000000);	/* arbitration follows the ID */
	ioapic_write_reg(vm, 1, 0);	/* read-only */
	ioapic_write_reg(vm, 2, 0);
	CHECK_EQ(ioapic_read_reg(vm, 1), 0x00170020);
	CHECK_EQ(ioapic_read_reg(vm, 0x03), 0);	/* reserved */
	CHECK_EQ(ioapic_read_reg(vm, 0xff), 0);
	/* IOREGSEL reads back, 8 bits of it */
	io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE, 4, 0x1234);
	io_bus_read(&vm->mmio, IOAPIC_DEFAULT_BASE, 4, &v);
	CHECK_EQ(v, 0x34);
	test_vm_free(vm);
}

TEST(redirection_table)
{
	struct vm *vm = apic_vm_new(1);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		CHECK_EQ(ioapic_read_reg(vm, 0x10 + 2 * pin), RTE_MASKED);
		CHECK_EQ(ioapic_read_reg(vm, 0x11 + 2 * pin), 0);
	}
	/* every writable bit; delivery status and remote IRR are the chip's */
	ioapic_route(vm, 5, 0xffffffffffffffffull);
	CHECK_EQ(ioapic_read_reg(vm, 0x10 + 10), 0x1afff);
	CHECK_EQ(ioapic_read_reg(vm, 0x11 + 10), 0xff000000u);
	CHECK_EQ(ioapic_redirection(ioapic_of(vm), 5), 0xff0000000001afffull);
	ioapic_route(vm, 23, RTE_DEST(3) | RTE_LEVEL | RTE_POLARITY_LOW | 0x7b);
	CHECK_EQ(ioapic_read_reg(vm, 0x10 + 46), RTE_LEVEL | RTE_POLARITY_LOW | 0x7b);
	CHECK_EQ(ioapic_read_reg(vm, 0x11 + 46), 3u << 24);
	/* past the last entry: nothing */
	ioapic_write_reg(vm, 0x40, 0x55);
	CHECK_EQ(ioapic_read_reg(vm, 0x40), 0);
	/* reset masks them all again */
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].reset)
			vm->devices[i].reset(vm->devices[i].opaque);
	CHECK_EQ(ioapic_read_reg(vm, 0x10 + 46), RTE_MASKED);
	test_vm_free(vm);
}

TEST(every_gsi_reaches_its_vector)
{
	struct vm *vm = apic_vm_new(1);
	apic_enable(vm, 0);
	/* LINT0 masked: only the I/O APIC's path counts here */
	apic_write(vm, 0, 0x350, 1u << 16);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		ioapic_route(vm, pin, RTE_DEST(0) | (0x30 + pin));
	for (unsigned gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		if (gsi == 2)
			continue;	/* the PIC cascade: no device line */
		/* the PIT's IRQ 0 is pin 2, as the MADT's override says */
		unsigned pin = gsi == 0 ? 2 : gsi;
		CHECK(!cpu_has_interrupt(vm, 0));
		vm_set_irq(vm, gsi, 1);
		CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x30 + pin));
		CHECK(!apic_vector_in(vm, 0, APIC_TMR, 0x30 + pin));
		CHECK_EQ(cpu_ack(vm, 0), (int)(0x30 + pin));
		eoi(vm, 0);
		vm_set_irq(vm, gsi, 0);
	}
	/* lines past the last pin go nowhere */
	vm_set_irq(vm, 24, 1);
	vm_set_irq(vm, 1000, 1);
	CHECK(!cpu_has_interrupt(vm, 0));
	test_vm_free(vm);
}

TEST(edge_triggered)
{
	struct vm *vm = apic_vm_new(1);
	apic_enable(vm, 0);
	ioapic_route(vm, 4, RTE_DEST(0) | 0x44);
	ioapic_set_irq(ioapic_of(vm), 4, 1);
	CHECK_EQ(cpu_ack(vm, 0), 0x44);
	eoi(vm, 0);
	/* staying up is not another edge */
	ioapic_set_irq(ioapic_of(vm), 4, 1);
	CHECK(!cpu_has_interrupt(vm, 0));
	ioapic_set_irq(ioapic_of(vm), 4, 0);
	ioapic_set_irq(ioapic_of(vm), 4, 1);
	CHECK_EQ(cpu_ack(vm, 0), 0x44);
	eoi(vm, 0);
	ioapic_set_irq(ioapic_of(vm), 4, 0);
	/* an edge while masked is lost, and unmasking does not bring it back */
	ioapic_route(vm, 4, RTE_MASKED | RTE_DEST(0) | 0x44);
	ioapic_set_irq(ioapic_of(vm), 4, 1);
	ioapic_route(vm, 4, RTE_DEST(0) | 0x44);
	CHECK(!cpu_has_interrupt(vm, 0));
	/* the EOI of an edge vector does not reach the I/O APIC */
	CHECK_EQ(ioapic_redirection(ioapic_of(vm), 4) & RTE_REMOTE_IRR, 0);
	test_vm_free(vm);
}

TEST(level_triggered_remote_irr)
{
	struct vm *vm = apic_vm_new(1);
	struct ioapic *io = ioapic_of(vm);
	apic_enable(vm, 0);
	ioapic_route(vm, 10, RTE_LEVEL | RTE_DEST(0) | 0x5a);
	vm_set_irq(vm, 10, 1);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x5a));
	CHECK(apic_vector_in(vm, 0, APIC_TMR, 0x5a));
	CHECK(ioapic_redirection(io, 10) & RTE_REMOTE_IRR);
	CHECK(ioapic_read_reg(vm, 0x10 + 20) & RTE_REMOTE_IRR);
	CHECK_EQ(cpu_ack(vm, 0), 0x5a);
	/* still up, EOI outstanding: nothing new */
	vm_set_irq(vm, 10, 1);
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x5a));
	/* EOI while the line is still up: remote IRR clears and it comes again */
	eoi(vm, 0);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x5a));
	CHECK(ioapic_redirection(io, 10) & RTE_REMOTE_IRR);
	CHECK_EQ(cpu_ack(vm, 0), 0x5a);
	/* the device lowers the line before the EOI: over */
	vm_set_irq(vm, 10, 0);
	eoi(vm, 0);
	CHECK_EQ(ioapic_redirection(io, 10) & RTE_REMOTE_IRR, 0);
	CHECK(!cpu_has_interrupt(vm, 0));

	/* the version 0x20 EOI register does the same */
	vm_set_irq(vm, 10, 1);
	CHECK_EQ(cpu_ack(vm, 0), 0x5a);
	io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE + 0x40, 4, 0x5b);	/* another vector */
	CHECK(ioapic_redirection(io, 10) & RTE_REMOTE_IRR);
	vm_set_irq(vm, 10, 0);
	io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE + 0x40, 4, 0x5a);
	CHECK_EQ(ioapic_redirection(io, 10) & RTE_REMOTE_IRR, 0);
	eoi(vm, 0);
	test_vm_free(vm);
}

TEST(masking_level_line)
{
	struct vm *vm = apic_vm_new(1);
	apic_enable(vm, 0);
	ioapic_route(vm, 17, RTE_MASKED | RTE_LEVEL | RTE_DEST(0) | 0x61);
	vm_set_irq(vm, 17, 1);
	CHECK(!cpu_has_interrupt(vm, 0));
	CHECK_EQ(ioapic_redirection(ioapic_of(vm), 17) & RTE_REMOTE_IRR, 0);
	/* unmasked while up: delivered now */
	ioapic_route(vm, 17, RTE_LEVEL | RTE_DEST(0) | 0x61);
	CHECK_EQ(cpu_ack(vm, 0), 0x61);
	/* masked before the EOI: the EOI clears remote IRR, nothing is sent */
	ioapic_route(vm, 17, RTE_MASKED | RTE_LEVEL | RTE_DEST(0) | 0x61);
	eoi(vm, 0);
	CHECK_EQ(ioapic_redirection(ioapic_of(vm), 17) & RTE_REMOTE_IRR, 0);
	CHECK(!cpu_has_interrupt(vm, 0));
	/* a level line to a software-disabled APIC is not taken: no remote
	 * IRR left behind to block it for good */
	apic_write(vm, 0, 0xf0, 0xff);
	ioapic_route(vm, 17, RTE_LEVEL | RTE_DEST(0) | 0x61);
	CHECK_EQ(ioapic_redirection(ioapic_of(vm), 17) & RTE_REMOTE_IRR, 0);
	apic_enable(vm, 0);
	ioapic_route(vm, 17, RTE_LEVEL | RTE_DEST(0) | 0x61);
	CHECK_EQ(cpu_ack(vm, 0), 0x61);
	test_vm_free(vm);
}

TEST(destinations)
{
	struct vm *vm = apic_vm_new(2);
	apic_enable(vm, 0);
	apic_enable(vm, 1);
	/* physical */
	ioapic_route(vm, 3, RTE_DEST(1) | 0x71);
	vm_set_irq(vm, 3, 1);
	CHECK(!cpu_has_interrupt(vm, 0));
	CHECK_EQ(cpu_ack(vm, 1), 0x71);
	eoi(vm, 1);
	vm_set_irq(vm, 3, 0);
	/* logical flat, both */
	apic_write(vm, 0, 0xd0, 0x01000000);
	apic_write(vm, 1, 0xd0, 0x02000000);
	ioapic_route(vm, 3, RTE_LOGICAL | RTE_DEST(3) | 0x72);
	vm_set_irq(vm, 3, 1);
	CHECK_EQ(cpu_ack(vm, 0), 0x72);
	CHECK_EQ(cpu_ack(vm, 1), 0x72);
	eoi(vm, 0);
	eoi(vm, 1);
	vm_set_irq(vm, 3, 0);
	/* lowest priority: to the one with the lower TPR */
	apic_write(vm, 0, 0x80, 0x40);
	ioapic_route(vm, 3, RTE_LOGICAL | RTE_LOWEST | RTE_DEST(3) | 0x73);
	vm_set_irq(vm, 3, 1);
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x73));
	CHECK_EQ(cpu_ack(vm, 1), 0x73);
	eoi(vm, 1);
	vm_set_irq(vm, 3, 0);
	/* NMI from a pin */
	ioapic_route(vm, 3, RTE_DEST(1) | 4ull << 8);
	vm_set_irq(vm, 3, 1);
	CHECK_EQ(nr_deliveries, 1);
	CHECK_EQ(deliveries[0].cpu, 1);
	CHECK_EQ(deliveries[0].what, VCPU_DELIVER_NMI);
	vm_set_irq(vm, 3, 0);
	/* an ExtINT pin: the CPU takes the PIC's vector */
	outb(vm, 0x20, 0x11);
	outb(vm, 0x21, 0x20);
	outb(vm, 0x21, 0x04);
	outb(vm, 0x21, 0x01);
	outb(vm, 0x21, 0xf7);	/* IRQ 3 only */
	apic_write(vm, 1, 0x80, 0);
	ioapic_route(vm, 3, RTE_DEST(1) | 7ull << 8);
	vm_set_irq(vm, 3, 1);
	CHECK(cpu_has_interrupt(vm, 1));
	CHECK_EQ(cpu_ack(vm, 1), 0x23);
	outb(vm, 0x20, 0x20);
	vm_set_irq(vm, 3, 0);
	CHECK(!cpu_has_interrupt(vm, 1));
	test_vm_free(vm);
}

TEST(malformed_accesses)
{
	struct vm *vm = apic_vm_new(2);
	uint64_t v;
	/* byte reads of the window see bytes of the register */
	io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE, 1, 1);
	io_bus_read(&vm->mmio, IOAPIC_DEFAULT_BASE + 0x12, 1, &v);
	CHECK_EQ(v, 0x17);
	/* narrow window writes are dropped */
	io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE, 4, 0x10);
	io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE + 0x10, 1, 0x20);
	CHECK_EQ(ioapic_read_reg(vm, 0x10), RTE_MASKED);
	io_bus_read(&vm->mmio, IOAPIC_DEFAULT_BASE + 0x800, 4, &v);
	CHECK_EQ(v, 0);

	uint32_t seed = 99;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	apic_enable(vm, 0);
	apic_enable(vm, 1);
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		uint64_t off = (seed >> 8) & 0x4f;
		unsigned size = sizes[(seed >> 4) & 3];
		seed = seed * 1103515245u + 12345u;
		uint64_t val = (uint64_t)seed << 32 | (seed * 2654435761u);
		switch (seed & 3) {
		case 0:
			io_bus_read(&vm->mmio, IOAPIC_DEFAULT_BASE + off, size, &v);
			break;
		case 1:
			io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE + off, size, val);
			break;
		case 2:
			vm_set_irq(vm, (seed >> 12) % 26, (seed >> 20) & 1);
			break;
		default:
			for (unsigned cpu = 0; cpu < 2; cpu++) {
				if (cpu_has_interrupt(vm, cpu))
					cpu_ack(vm, cpu);
				eoi(vm, cpu);
			}
			break;
		}
	}
	test_vm_free(vm);
}

RUN_TESTS(T(id_and_version), T(redirection_table), T(every_gsi_reaches_its_vector),
	  T(edge_triggered), T(level_triggered_remote_irr), T(masking_level_line), T(destinations),
	  T(malformed_accesses))
