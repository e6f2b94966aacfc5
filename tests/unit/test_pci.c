#include "test.h"

#include <errno.h>

#include "hw/pci.h"
#include "platform_vm.h"

static uint32_t cfg_addr(unsigned bus, unsigned devfn, unsigned reg)
{
	return 0x80000000u | bus << 16 | devfn << 8 | reg;
}

static uint32_t cfg_read32(struct vm *vm, unsigned devfn, unsigned reg)
{
	outl(vm, 0xcf8, cfg_addr(0, devfn, reg));
	return inl(vm, 0xcfc);
}

static void cfg_write32(struct vm *vm, unsigned devfn, unsigned reg, uint32_t v)
{
	outl(vm, 0xcf8, cfg_addr(0, devfn, reg));
	outl(vm, 0xcfc, v);
}

static struct pci_bus *pci_setup(struct vm **vmp)
{
	struct vm *vm = test_vm_new();
	struct pci_bus *bus = NULL;
	CHECK_EQ(pci_host_create(vm, &bus), 0);
	*vmp = vm;
	return bus;
}

/* A BAR's registers: remembers the last access */
struct bar_probe {
	uint64_t offset;
	unsigned size;
	uint64_t value;
	int reads, writes;
};

static uint64_t probe_read(void *opaque, uint64_t offset, unsigned size)
{
	struct bar_probe *p = opaque;
	p->offset = offset;
	p->size = size;
	p->reads++;
	return 0x1234 + offset;
}

static void probe_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct bar_probe *p = opaque;
	p->offset = offset;
	p->size = size;
	p->value = value;
	p->writes++;
}

static const struct io_ops probe_ops = { .read = probe_read, .write = probe_write };

TEST(config_mechanism_1_as_linux_probes_it)
{
	struct vm *vm;
	pci_setup(&vm);
	outb(vm, 0xcfb, 0x01);
	uint32_t saved = inl(vm, 0xcf8);
	outl(vm, 0xcf8, 0x80000000);
	CHECK_EQ(inl(vm, 0xcf8), 0x80000000);
	outl(vm, 0xcf8, saved);
	/* no mechanism #2 look-alike: byte reads of 0xCF8 and 0xCFA */
	outb(vm, 0xcf8, 0x00);
	outb(vm, 0xcfa, 0x00);
	CHECK(inb(vm, 0xcf8) != 0 || inb(vm, 0xcfa) != 0);
	/* the host bridge */
	CHECK_EQ(cfg_read32(vm, 0, 0x00), 0x12378086);
	CHECK_EQ(cfg_read32(vm, 0, 0x08) >> 8, 0x060000);
	CHECK_EQ(cfg_read32(vm, 0, 0x0c) & 0x00ff0000, 0);	/* header type 0 */
	test_vm_free(vm);
}

TEST(enable_bit_and_register_alignment)
{
	struct vm *vm;
	pci_setup(&vm);
	outl(vm, 0xcf8, 0x00000000);	/* enable bit clear */
	CHECK_EQ(inl(vm, 0xcfc), 0xffffffff);
	outl(vm, 0xcfc, 0x0);
	/* the low two address bits do not move the register */
	outl(vm, 0xcf8, 0x80000003);
	CHECK_EQ(inl(vm, 0xcf8), 0x80000000);
	CHECK_EQ(inl(vm, 0xcfc), 0x12378086);
	/* nor do the reserved bits 24-30 */
	outl(vm, 0xcf8, 0xff000000);
	CHECK_EQ(inl(vm, 0xcfc), 0x12378086);
	test_vm_free(vm);
}

TEST(sub_dword_access)
{
	struct vm *vm;
	pci_setup(&vm);
	outl(vm, 0xcf8, cfg_addr(0, 0, 0));
	CHECK_EQ(inb(vm, 0xcfc), 0x86);
	CHECK_EQ(inb(vm, 0xcfd), 0x80);
	CHECK_EQ(inb(vm, 0xcfe), 0x37);
	CHECK_EQ(inb(vm, 0xcff), 0x12);
	CHECK_EQ(inw(vm, 0xcfc), 0x8086);
	CHECK_EQ(inw(vm, 0xcfe), 0x1237);
	CHECK_EQ(inw(vm, 0xcfd), 0x3780);	/* unaligned, still inside */
	/* a byte write of the command register's high half */
	outl(vm, 0xcf8, cfg_addr(0, 0, 4));
	outb(vm, 0xcfd, 0x04);	/* INTx disable */
	outb(vm, 0xcfc, 0x06);
	CHECK_EQ(inw(vm, 0xcfc), 0x0406);
	/* read-only IDs stay */
	outl(vm, 0xcf8, cfg_addr(0, 0, 0));
	outw(vm, 0xcfe, 0xbeef);
	CHECK_EQ(inl(vm, 0xcfc), 0x12378086);
	test_vm_free(vm);
}

TEST(empty_slots_read_all_ones)
{
	struct vm *vm;
	pci_setup(&vm);
	for (unsigned slot = 1; slot < 32; slot++)
		CHECK_EQ(cfg_read32(vm, PCI_DEVFN(slot, 0), 0) & 0xffff, 0xffff);
	CHECK_EQ(cfg_read32(vm, PCI_DEVFN(0, 3), 0), 0xffffffff);
	outl(vm, 0xcf8, cfg_addr(1, 0, 0));	/* no bus 1 */
	CHECK_EQ(inl(vm, 0xcfc), 0xffffffff);
	CHECK_EQ(inw(vm, 0xcfe), 0xffff);
	outl(vm, 0xcfc, 0);	/* dropped */
	test_vm_free(vm);
}

TEST(bar_sizing_and_mapping)
{
	struct vm *vm;
	struct pci_bus *bus = pci_setup(&vm);
	struct pci_device dev;
	struct bar_probe io = { 0 }, mem = { 0 }, mem64 = { 0 };
	pci_device_init(&dev, "probe", 0x1af4, 0x1000, 0x020000, 0);
	CHECK_EQ(pci_device_set_bar(&dev, 0, PCI_BAR_IO, 32, false, &probe_ops, &io), 0);
	CHECK_EQ(pci_device_set_bar(&dev, 1, PCI_BAR_MEM32, 4096, false, &probe_ops, &mem), 0);
	CHECK_EQ(pci_device_set_bar(&dev, 2, PCI_BAR_MEM64, 16384, true, &probe_ops, &mem64), 0);
	CHECK_EQ(pci_register_device(bus, &dev), 0);
	CHECK_EQ(dev.devfn, PCI_DEVFN(1, 0));
	unsigned d = (unsigned)dev.devfn;
	CHECK_EQ(cfg_read32(vm, d, 0), 0x10001af4);
	CHECK_EQ(cfg_read32(vm, d, 0x10), 0x1);
	CHECK_EQ(cfg_read32(vm, d, 0x14), 0x0);
	CHECK_EQ(cfg_read32(vm, d, 0x18), 0xc);
	/* sizing: all ones in, the size mask out */
	for (unsigned r = 0x10; r <= 0x24; r += 4)
		cfg_write32(vm, d, r, 0xffffffff);
	CHECK_EQ(cfg_read32(vm, d, 0x10), 0xffffffe1);
	CHECK_EQ(cfg_read32(vm, d, 0x14), 0xfffff000);
	CHECK_EQ(cfg_read32(vm, d, 0x18), 0xffffc00c);
	CHECK_EQ(cfg_read32(vm, d, 0x1c), 0xffffffff);
	CHECK_EQ(cfg_read32(vm, d, 0x20), 0);	/* unused BARs */
	CHECK_EQ(cfg_read32(vm, d, 0x30), 0);	/* no ROM */
	/* the command register still has decoding off: nothing is mapped */
	CHECK(io_bus_find(&vm->pio, 0xffe0) == NULL);
	cfg_write32(vm, d, 0x10, 0xc000);
	cfg_write32(vm, d, 0x14, 0xfebf1000);
	cfg_write32(vm, d, 0x18, 0x00000000);
	cfg_write32(vm, d, 0x1c, 0x00000001);	/* at 4 GiB */
	CHECK(io_bus_find(&vm->pio, 0xc000) == NULL);
	cfg_write32(vm, d, 0x04, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	outw(vm, 0xc004, 0xabcd);
	CHECK_EQ(io.writes, 1);
	CHECK_EQ(io.offset, 4);
	CHECK_EQ(io.size, 2);
	CHECK_EQ(io.value, 0xabcd);
	uint64_t v;
	CHECK(io_bus_read(&vm->mmio, 0xfebf1010, 4, &v));
	CHECK_EQ(v, 0x1234 + 0x10);
	CHECK(io_bus_read(&vm->mmio, 0x100000000ull + 0x3ff8, 8, &v));
	CHECK_EQ(mem64.offset, 0x3ff8);
	/* moving a BAR moves the device */
	cfg_write32(vm, d, 0x10, 0xd000);
	CHECK(io_bus_find(&vm->pio, 0xc000) == NULL);
	CHECK(io_bus_find(&vm->pio, 0xd01f) != NULL);
	/* decoding off unmaps */
	cfg_write32(vm, d, 0x04, 0);
	CHECK(io_bus_find(&vm->pio, 0xd000) == NULL);
	CHECK(io_bus_find(&vm->mmio, 0xfebf1000) == NULL);
	cfg_write32(vm, d, 0x04, PCI_COMMAND_MEMORY);
	CHECK(io_bus_find(&vm->mmio, 0xfebf1000) != NULL);
	CHECK(io_bus_find(&vm->pio, 0xd000) == NULL);
	/* reset: decoding off, BARs cleared, flag bits kept */
	vm->devices[0].reset(vm->devices[0].opaque);
	CHECK(io_bus_find(&vm->mmio, 0xfebf1000) == NULL);
	CHECK_EQ(cfg_read32(vm, d, 0x04) & 0xffff, 0);
	CHECK_EQ(cfg_read32(vm, d, 0x18), 0xc);
	pci_unregister_device(&dev);
	CHECK_EQ(cfg_read32(vm, d, 0), 0xffffffff);
	test_vm_free(vm);
}

TEST(overlapping_bar_is_left_unmapped)
{
	struct vm *vm;
	struct pci_bus *bus = pci_setup(&vm);
	struct pci_device a, b;
	struct bar_probe pa = { 0 }, pb = { 0 };
	pci_device_init(&a, "a", 0x1af4, 0x1000, 0x020000, 0);
	pci_device_init(&b, "b", 0x1af4, 0x1001, 0x010000, 0);
	CHECK_EQ(pci_device_set_bar(&a, 0, PCI_BAR_IO, 64, false, &probe_ops, &pa), 0);
	CHECK_EQ(pci_device_set_bar(&b, 0, PCI_BAR_IO, 64, false, &probe_ops, &pb), 0);
	CHECK_EQ(pci_register_device(bus, &a), 0);
	CHECK_EQ(pci_register_device(bus, &b), 0);
	CHECK_EQ(b.devfn, PCI_DEVFN(2, 0));
	cfg_write32(vm, (unsigned)a.devfn, 0x10, 0xc000);
	cfg_write32(vm, (unsigned)a.devfn, 0x04, 1);
	cfg_write32(vm, (unsigned)b.devfn, 0x10, 0xc020);
	cfg_write32(vm, (unsigned)b.devfn, 0x04, 1);
	inb(vm, 0xc030);
	CHECK_EQ(pa.reads, 1);
	CHECK_EQ(pb.reads, 0);
	/* an I/O BAR past 64 KiB is not mapped */
	int ranges = vm->pio.nr_ranges;
	cfg_write32(vm, (unsigned)b.devfn, 0x10, 0x10000);
	CHECK_EQ(vm->pio.nr_ranges, ranges);
	cfg_write32(vm, (unsigned)b.devfn, 0x10, 0xffc0);	/* the last place that fits */
	CHECK(io_bus_find(&vm->pio, 0xffff) != NULL);
	cfg_write32(vm, (unsigned)b.devfn, 0x10, 0xe000);
	inb(vm, 0xe000);
	CHECK_EQ(pb.reads, 1);
	pci_unregister_device(&b);
	pci_unregister_device(&a);
	CHECK(io_bus_find(&vm->pio, 0xe000) == NULL);
	test_vm_free(vm);
}

TEST(interrupt_pin_line_and_sharing)
{
	struct vm *vm;
	struct pci_bus *bus = pci_setup(&vm);
	struct pci_device a, b;
	pci_device_init(&a, "a", 0x1af4, 0x1000, 0x020000, 0);
	pci_device_init(&b, "b", 0x1af4, 0x1001, 0x010000, 0);
	pci_device_set_interrupt_pin(&a, 1);
	pci_device_set_interrupt_pin(&b, 1);
	/* slot 1 INTA is PIRQB, slot 4 INTA is PIRQA: both GSI 10 by default */
	a.devfn = PCI_DEVFN(1, 0);
	b.devfn = PCI_DEVFN(4, 0);
	CHECK_EQ(pci_register_device(bus, &a), 0);
	CHECK_EQ(pci_register_device(bus, &b), 0);
	CHECK_EQ(a.gsi, 10);
	CHECK_EQ(b.gsi, 10);
	CHECK_EQ(cfg_read32(vm, (unsigned)a.devfn, 0x3c) & 0xffff, 0x010a);
	CHECK_EQ(pci_bus_gsi_mask(bus), (1u << 10) | (1u << 11));
	pci_set_irq(&a, 1);
	CHECK_EQ(fake_irq_level[10], 1);
	CHECK_EQ(cfg_read32(vm, (unsigned)a.devfn, 0x04) >> 16 & PCI_STATUS_INTERRUPT,
		 PCI_STATUS_INTERRUPT);
	pci_set_irq(&b, 1);
	pci_set_irq(&a, 0);
	CHECK_EQ(fake_irq_level[10], 1);	/* b still holds the shared line */
	pci_set_irq(&b, 0);
	CHECK_EQ(fake_irq_level[10], 0);
	/* INTx disable takes the device off the line but keeps its status */
	pci_set_irq(&a, 1);
	cfg_write32(vm, (unsigned)a.devfn, 0x04, PCI_COMMAND_INTX_DISABLE);
	CHECK_EQ(fake_irq_level[10], 0);
	CHECK_EQ(cfg_read32(vm, (unsigned)a.devfn, 0x04) >> 16 & PCI_STATUS_INTERRUPT,
		 PCI_STATUS_INTERRUPT);
	cfg_write32(vm, (unsigned)a.devfn, 0x04, 0);
	CHECK_EQ(fake_irq_level[10], 1);
	pci_unregister_device(&a);
	CHECK_EQ(fake_irq_level[10], 0);
	pci_unregister_device(&b);
	test_vm_free(vm);
}

TEST(registration_errors)
{
	struct vm *vm;
	struct pci_bus *bus = pci_setup(&vm);
	struct pci_device dev;
	pci_device_init(&dev, "x", 0x1af4, 0x1000, 0x020000, 0);
	CHECK_EQ(pci_device_set_bar(&dev, 6, PCI_BAR_IO, 32, false, &probe_ops, NULL), -EINVAL);
	CHECK_EQ(pci_device_set_bar(&dev, 0, PCI_BAR_IO, 24, false, &probe_ops, NULL), -EINVAL);
	CHECK_EQ(pci_device_set_bar(&dev, 0, PCI_BAR_MEM32, 8, false, &probe_ops, NULL), -EINVAL);
	CHECK_EQ(pci_device_set_bar(&dev, 5, PCI_BAR_MEM64, 4096, false, &probe_ops, NULL), -EINVAL);
	CHECK_EQ(pci_device_set_bar(&dev, 0, PCI_BAR_MEM32, 4096, false, NULL, NULL), -EINVAL);
	dev.devfn = 0;
	CHECK_EQ(pci_register_device(bus, &dev), -EBUSY);	/* the host bridge */
	dev.devfn = 256;
	CHECK_EQ(pci_register_device(bus, &dev), -EINVAL);
	struct pci_device many[32];
	int ok = 0;
	for (int i = 0; i < 32; i++) {
		pci_device_init(&many[i], "m", 0x1af4, 0x1000, 0, 0);
		if (pci_register_device(bus, &many[i]) == 0)
			ok++;
	}
	CHECK_EQ(ok, 31);
	for (int i = 0; i < 32; i++)
		pci_unregister_device(&many[i]);
	test_vm_free(vm);
}

TEST(status_bits_clear_by_writing_one)
{
	struct vm *vm;
	struct pci_bus *bus = pci_setup(&vm);
	struct pci_device dev;
	pci_device_init(&dev, "x", 0x1af4, 0x1000, 0x020000, 0);
	dev.config[PCI_STATUS + 1] = 0x82;	/* parity error seen, DEVSEL medium */
	CHECK_EQ(pci_register_device(bus, &dev), 0);
	outl(vm, 0xcf8, cfg_addr(0, (unsigned)dev.devfn, 4));
	outw(vm, 0xcfe, 0x0000);	/* writing 0 clears nothing */
	CHECK_EQ(inw(vm, 0xcfe), 0x8200);
	outw(vm, 0xcfe, 0xffff);
	CHECK_EQ(inw(vm, 0xcfe), 0x0200);
	pci_unregister_device(&dev);
	test_vm_free(vm);
}

TEST(reset_control_register)
{
	struct vm *vm;
	pci_setup(&vm);
	outb(vm, 0xcf9, 0x02);
	CHECK_EQ(inb(vm, 0xcf9), 0x02);
	CHECK(!test_reset_requested(vm));
	/* the config address is untouched by 0xCF9 */
	outl(vm, 0xcf8, 0x80000000);
	outb(vm, 0xcf9, 0x02);
	CHECK_EQ(inl(vm, 0xcf8), 0x80000000);
	outb(vm, 0xcf9, 0x06);
	CHECK(test_reset_requested(vm));
	test_vm_free(vm);
}

TEST(firmware_style_bar_assignment)
{
	struct vm *vm;
	struct pci_bus *bus = pci_setup(&vm);
	struct pci_device a, b;
	struct bar_probe p = { 0 };
	pci_device_init(&a, "a", 0x1af4, 0x1000, 0x020000, 0);
	pci_device_init(&b, "b", 0x1af4, 0x1001, 0x010000, 0);
	CHECK_EQ(pci_device_set_bar(&a, 0, PCI_BAR_IO, 32, false, &probe_ops, &p), 0);
	CHECK_EQ(pci_device_set_bar(&a, 1, PCI_BAR_MEM32, 4096, false, &probe_ops, &p), 0);
	CHECK_EQ(pci_device_set_bar(&b, 0, PCI_BAR_IO, 256, false, &probe_ops, &p), 0);
	CHECK_EQ(pci_device_set_bar(&b, 2, PCI_BAR_MEM64, 1 << 20, true, &probe_ops, &p), 0);
	CHECK_EQ(pci_device_set_bar(&b, 4, PCI_BAR_MEM32, 1ull << 31, false, &probe_ops, &p), 0);
	CHECK_EQ(pci_register_device(bus, &a), 0);
	CHECK_EQ(pci_register_device(bus, &b), 0);
	pci_bus_assign_bars(bus);
	CHECK_EQ(cfg_read32(vm, (unsigned)a.devfn, 0x10), 0xc001);
	CHECK_EQ(cfg_read32(vm, (unsigned)a.devfn, 0x14), 0xc0000000);
	CHECK_EQ(cfg_read32(vm, (unsigned)b.devfn, 0x10), 0xc101);	/* aligned to 256 */
	CHECK_EQ(cfg_read32(vm, (unsigned)b.devfn, 0x18), 0xc010000c);
	CHECK_EQ(cfg_read32(vm, (unsigned)b.devfn, 0x1c), 0);
	CHECK_EQ(cfg_read32(vm, (unsigned)b.devfn, 0x20), 0);	/* 2 GiB does not fit */
	CHECK_EQ(cfg_read32(vm, (unsigned)a.devfn, 0x04) & 3, 3);
	CHECK(io_bus_find(&vm->pio, 0xc101) != NULL);
	CHECK(io_bus_find(&vm->mmio, 0xc0100000) != NULL);
	/* and again after a reset */
	vm->devices[0].reset(vm->devices[0].opaque);
	CHECK_EQ(cfg_read32(vm, (unsigned)a.devfn, 0x14), 0xc0000000);
	CHECK(io_bus_find(&vm->mmio, 0xc0000000) != NULL);
	pci_unregister_device(&b);
	pci_unregister_device(&a);
	CHECK(io_bus_find(&vm->mmio, 0xc0000000) == NULL);
	test_vm_free(vm);
}

TEST(random_register_storm)
{
	static const uint16_t ports[] = { 0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc, 0xcfd, 0xcfe, 0xcff };
	struct vm *vm = test_vm_new();
	CHECK_EQ(pci_host_create(vm, NULL), 0);
	test_port_storm(vm, ports, (int)(sizeof(ports) / sizeof(ports[0])), 200000, 1);
	test_vm_free(vm);
}

RUN_TESTS(T(config_mechanism_1_as_linux_probes_it), T(enable_bit_and_register_alignment),
	  T(sub_dword_access), T(empty_slots_read_all_ones), T(bar_sizing_and_mapping),
	  T(overlapping_bar_is_left_unmapped), T(interrupt_pin_line_and_sharing),
	  T(registration_errors), T(status_bits_clear_by_writing_one), T(reset_control_register),
	  T(firmware_style_bar_assignment), T(random_register_storm))
