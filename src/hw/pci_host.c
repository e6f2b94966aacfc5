/* The PCI host bridge and bus 0.  Configuration mechanism #1: a dword
 * written to 0xCF8 picks bus, device, function and register, and
 * 0xCFC-0xCFF reach that dword of config space in any width.  Absent
 * functions read as all ones, which is how the guest finds empty slots.
 * 0xCF9, inside the address register's range, is the PIIX reset control
 * register. */
#include "hw/pci.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

#define PCI_ADDR_PORT 0xcf8
#define PCI_DATA_PORT 0xcfc
#define PCI_ENABLE 0x80000000u
#define RCR_SYS_RST 0x02
#define RCR_RST_CPU 0x04
#define RCR_FULL_RST 0x08
#define MAX_GSI 32
/* i440FX host bridge registers */
#define I440FX_PAM0 0x59	/* PAM0-PAM6: 0x59-0x5f */
#define I440FX_PAM_COUNT 7
#define I440FX_SMRAM 0x72
#define SMRAM_C_BASE_SEG 0x02	/* SMRAM at 0xA0000, fixed */
#define SMRAM_G_SMRAME 0x08
#define SMRAM_D_LCK 0x10
#define SMRAM_D_CLS 0x20
#define SMRAM_D_OPEN 0x40
#define QEMU_SUBSYS_VENDOR 0x1af4	/* what SeaBIOS looks for to know it runs on QEMU */
#define QEMU_SUBSYS_ID 0x1100
/* where pci_bus_assign_bars places BARs */
#define PCI_IO_START 0xc000
#define PCI_IO_END 0x10000
#define PCI_MEM_START PC_LOWMEM_LIMIT	/* where RAM below 4 GiB ends */
#define PCI_MEM_END 0xfec00000ull	/* the I/O APIC and LAPIC above */

struct pci_bus {
	struct vm *vm;
	uint32_t config_address;
	uint8_t rcr;
	struct pci_device *devs[256];	/* by devfn */
	struct pci_device host;
	unsigned pirq_gsi[4];
	unsigned gsi_users[MAX_GSI];	/* devices asserting each line */
	bool assign_bars;	/* play firmware: place BARs at reset */
	int last_devfn;
};

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->devfn = PCI_DEVFN_AUTO;
	uint8_t *c = dev->config;
	c[PCI_VENDOR_ID] = (uint8_t)vendor;
	c[PCI_VENDOR_ID + 1] = (uint8_t)(vendor >> 8);
	c[PCI_DEVICE_ID] = (uint8_t)device;
	c[PCI_DEVICE_ID + 1] = (uint8_t)(device >> 8);
	c[PCI_REVISION_ID] = revision;
	c[PCI_CLASS_PROG] = (uint8_t)class_code;
	c[PCI_CLASS_DEVICE] = (uint8_t)(class_code >> 8);
	c[PCI_CLASS_DEVICE + 1] = (uint8_t)(class_code >> 16);
	uint16_t cmd = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		       PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;
	dev->wmask[PCI_COMMAND] = (uint8_t)cmd;
	dev->wmask[PCI_COMMAND + 1] = (uint8_t)(cmd >> 8);
	dev->w1cmask[PCI_STATUS + 1] = 0xf9;	/* the error bits */
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	dev->wmask[PCI_LATENCY_TIMER] = 0xff;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci_device_set_bar(struct pci_device *dev, unsigned n, enum pci_bar_kind kind, uint64_t size,
		       bool prefetchable, const struct io_ops *ops, void *opaque)
{
	uint64_t min = kind == PCI_BAR_IO ? 4 : 16;
	uint64_t max = kind == PCI_BAR_IO ? 0x10000 : kind == PCI_BAR_MEM32 ? 1ull << 31 : 1ull << 62;
	if (n >= PCI_NUM_BARS || kind == PCI_BAR_NONE || !ops || size < min || size > max ||
	    (size & (size - 1)) || (kind == PCI_BAR_MEM64 && n == PCI_NUM_BARS - 1))
		return -EINVAL;
	dev->bars[n] = (struct pci_bar){ .kind = kind, .prefetchable = prefetchable, .size = size,
					 .ops = ops, .opaque = opaque };
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * n;
	uint32_t flags = kind == PCI_BAR_IO ? 1 : (kind == PCI_BAR_MEM64 ? 4 : 0) | (prefetchable ? 8 : 0);
	/* the size is the address bits that cannot be written */
	uint64_t wmask = ~(size - 1) & (kind == PCI_BAR_IO ? ~3ull : ~15ull);
	unsigned dwords = kind == PCI_BAR_MEM64 ? 2 : 1;
	for (unsigned i = 0; i < 4 * dwords; i++) {
		dev->config[off + i] = i == 0 ? (uint8_t)flags : 0;
		dev->wmask[off + i] = (uint8_t)(wmask >> (8 * i));
	}
	if (kind == PCI_BAR_MEM64)
		dev->bars[n + 1] = (struct pci_bar){ .kind = PCI_BAR_NONE };
	return 0;
}

int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned len)
{
	unsigned at = dev->cap_free ? dev->cap_free : 0x40;
	if (len < 2 || at + len > PCI_CONFIG_SIZE)
		return -ENOSPC;
	dev->config[at] = id;
	dev->config[at + 1] = 0;
	if (dev->cap_last)
		dev->config[dev->cap_last + 1] = (uint8_t)at;
	else
		dev->config[PCI_CAPABILITY_LIST] = (uint8_t)at;
	dev->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->cap_last = (uint8_t)at;
	dev->cap_free = (at + len + 3) & ~3u;
	return (int)at;
}

void pci_device_set_interrupt_pin(struct pci_device *dev, unsigned pin)
{
	dev->config[PCI_INTERRUPT_PIN] = pin <= 4 ? (uint8_t)pin : 0;
}

static uint32_t get_le(const uint8_t *p, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

uint32_t pci_default_config_read(struct pci_device *dev, unsigned offset, unsigned size)
{
	if (offset >= PCI_CONFIG_SIZE || size > PCI_CONFIG_SIZE - offset)
		return 0xffffffffu;
	return get_le(&dev->config[offset], size);
}

void pci_default_config_write(struct pci_device *dev, unsigned offset, unsigned size,
			      uint32_t value)
{
	if (offset >= PCI_CONFIG_SIZE || size > PCI_CONFIG_SIZE - offset)
		return;
	for (unsigned i = 0; i < size; i++) {
		unsigned o = offset + i;
		uint8_t v = (uint8_t)(value >> (8 * i));
		dev->config[o] = (uint8_t)(((dev->config[o] & ~dev->wmask[o]) | (v & dev->wmask[o])) &
					   ~(v & dev->w1cmask[o]));
	}
}

static uint16_t pci_command(const struct pci_device *dev)
{
	return (uint16_t)get_le(&dev->config[PCI_COMMAND], 2);
}

/* Where BAR n decodes now, or false when it does not */
static bool pci_bar_address(const struct pci_device *dev, unsigned n, uint64_t *addr)
{
	const struct pci_bar *bar = &dev->bars[n];
	uint64_t a = get_le(&dev->config[PCI_BASE_ADDRESS_0 + 4 * n], 4);
	uint16_t cmd = pci_command(dev);

	if (bar->kind == PCI_BAR_IO) {
		a &= ~3ull;
		if (!(cmd & PCI_COMMAND_IO) || a == 0 || a + bar->size > 0x10000)
			return false;
	} else {
		if (bar->kind == PCI_BAR_MEM64)
			a |= (uint64_t)get_le(&dev->config[PCI_BASE_ADDRESS_0 + 4 * n + 4], 4) << 32;
		a &= ~15ull;
		/* all address bits set is the guest sizing the BAR, not a place */
		if (!(cmd & PCI_COMMAND_MEMORY) || a == 0 || a + bar->size < a ||
		    a == (~(bar->size - 1) & (bar->kind == PCI_BAR_MEM64 ? ~15ull : 0xfffffff0ull)))
			return false;
	}
	*addr = a;
	return true;
}

static void pci_update_bars(struct pci_device *dev)
{
	struct vm *vm = dev->bus->vm;
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		struct pci_bar *bar = &dev->bars[n];
		struct io_bus *iob = bar->kind == PCI_BAR_IO ? &vm->pio : &vm->mmio;
		uint64_t addr = 0;
		bool want = bar->kind != PCI_BAR_NONE && dev->bus->devs[dev->devfn] == dev &&
			    pci_bar_address(dev, n, &addr);

		if (bar->mapped && (!want || addr != bar->mapped_at)) {
			io_bus_unregister(iob, bar->mapped_at);
			bar->mapped = false;
			if (dev->bar_mapped)
				dev->bar_mapped(dev, n, false, bar->mapped_at);
		}
		if (want && !bar->mapped) {
			if (io_bus_register(iob, addr, bar->size, bar->ops, bar->opaque, dev->name) == 0) {
				bar->mapped = true;
				bar->mapped_at = addr;
				if (dev->bar_mapped)
					dev->bar_mapped(dev, n, true, addr);
			} else if (vm->cfg.debug_mask & DEBUG_GUEST_ERRORS) {
				log_debug("pci %s: BAR%u at 0x%" PRIx64 " overlaps another device",
					  dev->name, n, addr);
			}
		}
	}
}

/* Drive the device's share of its line: asserted unless INTx is disabled */
static void pci_update_irq(struct pci_device *dev)
{
	struct pci_bus *bus = dev->bus;
	bool assert = dev->irq_level && !(pci_command(dev) & PCI_COMMAND_INTX_DISABLE) &&
		      dev->config[PCI_INTERRUPT_PIN] && dev->gsi < MAX_GSI;
	if (dev->irq_level)
		dev->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	if (assert == dev->irq_asserted)
		return;
	dev->irq_asserted = assert;
	unsigned before = bus->gsi_users[dev->gsi];
	bus->gsi_users[dev->gsi] += assert ? 1 : -1;
	if ((before == 0) != (bus->gsi_users[dev->gsi] == 0))
		vm_set_irq(bus->vm, dev->gsi, bus->gsi_users[dev->gsi] != 0);
}

void pci_set_irq(struct pci_device *dev, int level)
{
	if (!dev->bus)
		return;
	pthread_mutex_lock(&dev->bus->vm->dev_lock);
	dev->irq_level = level != 0;
	pci_update_irq(dev);
	pthread_mutex_unlock(&dev->bus->vm->dev_lock);
}

int pci_register_device(struct pci_bus *bus, struct pci_device *dev)
{
	int devfn = dev->devfn;
	if (devfn == PCI_DEVFN_AUTO) {
		for (devfn = PCI_DEVFN(1, 0); devfn < 256 && bus->devs[devfn]; devfn += 8)
			;
		if (devfn >= 256)
			return -ENOSPC;
	} else if (devfn < 0 || devfn > 255) {
		return -EINVAL;
	} else if (bus->devs[devfn]) {
		return -EBUSY;
	}
	dev->devfn = devfn;
	dev->bus = bus;
	unsigned pin = dev->config[PCI_INTERRUPT_PIN];
	if (pin >= 1 && pin <= 4) {
		dev->gsi = pci_intx_gsi(bus->pirq_gsi, (unsigned)devfn / 8, pin);
		/* what firmware would have written there */
		dev->config[PCI_INTERRUPT_LINE] = (uint8_t)dev->gsi;
	}
	pthread_mutex_lock(&bus->vm->dev_lock);
	bus->devs[devfn] = dev;
	bus->last_devfn = devfn;
	pthread_mutex_unlock(&bus->vm->dev_lock);
	return 0;
}

int pci_bus_last_devfn(const struct pci_bus *bus)
{
	return bus->last_devfn;
}

void pci_unregister_device(struct pci_device *dev)
{
	struct pci_bus *bus = dev->bus;
	if (!bus || bus->devs[dev->devfn] != dev)
		return;
	pthread_mutex_lock(&bus->vm->dev_lock);
	dev->irq_level = false;
	pci_update_irq(dev);
	bus->devs[dev->devfn] = NULL;
	pci_update_bars(dev);
	pthread_mutex_unlock(&bus->vm->dev_lock);
	dev->bus = NULL;
}

void pci_bus_set_pirq_gsis(struct pci_bus *bus, const unsigned gsi[4])
{
	memcpy(bus->pirq_gsi, gsi, sizeof(bus->pirq_gsi));
}

uint32_t pci_bus_gsi_mask(const struct pci_bus *bus)
{
	uint32_t mask = 0;
	for (int i = 0; i < 4; i++)
		if (bus->pirq_gsi[i] < 32)
			mask |= 1u << bus->pirq_gsi[i];
	return mask;
}

/* The function 0xCF8 selects, and the register offset in it */
static struct pci_device *pci_selected(struct pci_bus *bus, unsigned *reg)
{
	uint32_t a = bus->config_address;
	if (!(a & PCI_ENABLE) || (a >> 16 & 0xff) != 0)
		return NULL;
	*reg = a & 0xfc;
	return bus->devs[a >> 8 & 0xff];
}

static uint64_t pci_data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_bus *bus = opaque;
	unsigned reg;
	struct pci_device *dev = pci_selected(bus, &reg);
	if (!dev || size > 4)
		return 0xffffffffu;
	reg += (unsigned)offset;
	if (dev->config_read)
		return dev->config_read(dev, reg, size);
	return pci_default_config_read(dev, reg, size);
}

static void pci_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_bus *bus = opaque;
	unsigned reg;
	struct pci_device *dev = pci_selected(bus, &reg);
	if (!dev || size > 4)
		return;
	reg += (unsigned)offset;
	if (dev->config_write)
		dev->config_write(dev, reg, size, (uint32_t)value);
	else
		pci_default_config_write(dev, reg, size, (uint32_t)value);
	pci_update_bars(dev);
	pci_update_irq(dev);
}

/* 0xCF8 takes dword accesses only; the byte at 0xCF9 is the reset control
 * register, other narrow accesses go nowhere (and do not look like the
 * old mechanism #2 to a probing guest) */
static uint64_t pci_addr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_bus *bus = opaque;
	if (offset == 0 && size == 4)
		return bus->config_address;
	if (offset == 1 && size == 1)
		return bus->rcr;
	return 0xffffffffu;
}

static void pci_addr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_bus *bus = opaque;
	if (offset == 0 && size == 4) {
		bus->config_address = (uint32_t)value & (PCI_ENABLE | 0x00fffffc);
	} else if (offset == 1 && size == 1) {
		bus->rcr = value & (RCR_SYS_RST | RCR_FULL_RST);
		if (value & RCR_RST_CPU)
			vm_request_reset(bus->vm);
	}
}

static const struct io_ops pci_addr_ops = { .read = pci_addr_read, .write = pci_addr_write };
static const struct io_ops pci_data_ops = { .read = pci_data_read, .write = pci_data_write };

/* Place every BAR the way firmware does before an OS runs: I/O from
 * 0xC000, memory in the hole below the I/O APIC, each naturally aligned,
 * and turn decoding on.  What does not fit stays unassigned. */
static void pci_place_bars(struct pci_bus *bus)
{
	uint64_t io = PCI_IO_START, mem = PCI_MEM_START;
	for (int i = 1; i < 256; i++) {
		struct pci_device *dev = bus->devs[i];
		uint16_t cmd = 0;
		if (!dev)
			continue;
		for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
			struct pci_bar *bar = &dev->bars[n];
			bool is_io = bar->kind == PCI_BAR_IO;
			uint64_t *next = is_io ? &io : &mem;
			uint64_t limit = is_io ? PCI_IO_END : PCI_MEM_END;
			if (bar->kind == PCI_BAR_NONE)
				continue;
			uint64_t a = (*next + bar->size - 1) & ~(bar->size - 1);
			if (a + bar->size > limit)
				continue;
			*next = a + bar->size;
			uint8_t *reg = &dev->config[PCI_BASE_ADDRESS_0 + 4 * n];
			for (int k = 0; k < 4; k++)
				reg[k] = (uint8_t)((reg[k] & ~dev->wmask[PCI_BASE_ADDRESS_0 + 4 * n + k]) |
						   (a >> (8 * k)));
			if (bar->kind == PCI_BAR_MEM64)
				memset(reg + 4, 0, 4);
			cmd |= is_io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
		}
		dev->config[PCI_COMMAND] |= (uint8_t)cmd;
		pci_update_bars(dev);
	}
}

void pci_bus_assign_bars(struct pci_bus *bus)
{
	pthread_mutex_lock(&bus->vm->dev_lock);
	bus->assign_bars = true;
	pci_place_bars(bus);
	pthread_mutex_unlock(&bus->vm->dev_lock);
}

/* PCI reset: decoding off and BARs cleared in every function; the
 * interrupt line keeps what "firmware" put there */
static void pci_host_reset(void *opaque)
{
	struct pci_bus *bus = opaque;
	bus->config_address = 0;
	bus->rcr = 0;
	for (int i = 0; i < 256; i++) {
		struct pci_device *dev = bus->devs[i];
		if (!dev)
			continue;
		dev->config[PCI_COMMAND] = dev->config[PCI_COMMAND + 1] = 0;
		dev->config[PCI_STATUS + 1] &= ~dev->w1cmask[PCI_STATUS + 1];
		for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
			uint8_t *b = &dev->config[PCI_BASE_ADDRESS_0 + 4 * n];
			for (int k = 0; k < 4; k++)
				b[k] &= ~dev->wmask[PCI_BASE_ADDRESS_0 + 4 * n + k];
		}
		dev->config[PCI_CACHE_LINE_SIZE] = dev->config[PCI_LATENCY_TIMER] = 0;
		if (dev->reset)
			dev->reset(dev);
		pci_update_bars(dev);
		pci_update_irq(dev);
	}
	if (bus->assign_bars)
		pci_place_bars(bus);
}

/* The SMRAM register: once D_LCK is set, only D_CLS may change until reset
 * (the i440FX datasheet); D_OPEN is then forced off.  There is no SMM, so
 * the register only keeps what the firmware wrote. */
static void i440fx_config_write(struct pci_device *dev, unsigned offset, unsigned size,
				uint32_t value)
{
	uint8_t smram = dev->config[I440FX_SMRAM];
	pci_default_config_write(dev, offset, size, value);
	if (I440FX_SMRAM < offset || I440FX_SMRAM >= offset + size)
		return;
	uint8_t v = (uint8_t)(value >> (8 * (I440FX_SMRAM - offset)));
	if (smram & SMRAM_D_LCK)
		v = (uint8_t)((smram & ~SMRAM_D_CLS) | (v & SMRAM_D_CLS));
	else if (v & SMRAM_D_LCK)
		v &= (uint8_t)~SMRAM_D_OPEN;
	dev->config[I440FX_SMRAM] = (uint8_t)((v & (SMRAM_G_SMRAME | SMRAM_D_LCK | SMRAM_D_CLS |
						     SMRAM_D_OPEN)) | SMRAM_C_BASE_SEG);
}

static void i440fx_reset(struct pci_device *dev)
{
	memset(&dev->config[I440FX_PAM0], 0, I440FX_PAM_COUNT);
	dev->config[I440FX_SMRAM] = SMRAM_C_BASE_SEG;
}

void pci_bus_set_pirq(struct pci_bus *bus, unsigned pirq, unsigned gsi)
{
	if (pirq >= 4 || bus->pirq_gsi[pirq] == gsi)
		return;
	pthread_mutex_lock(&bus->vm->dev_lock);
	bus->pirq_gsi[pirq] = gsi;
	for (int i = 0; i < 256; i++) {
		struct pci_device *dev = bus->devs[i];
		unsigned pin = dev ? dev->config[PCI_INTERRUPT_PIN] : 0;
		if (pin < 1 || pin > 4 || ((unsigned)i / 8 + pin - 1) % 4 != pirq)
			continue;
		/* move an asserted line: drop it on the old GSI, raise it on the new */
		bool level = dev->irq_level;
		dev->irq_level = false;
		pci_update_irq(dev);
		dev->gsi = gsi;
		dev->irq_level = level;
		pci_update_irq(dev);
	}
	pthread_mutex_unlock(&bus->vm->dev_lock);
}

/* Devices on the bus are gone by now (they came later, so they were
 * destroyed first, and took themselves off the bus) */
static void pci_host_destroy(void *opaque)
{
	free(opaque);
}

int pci_host_create(struct vm *vm, struct pci_bus **out)
{
	static const unsigned default_gsis[4] = PCI_PC_INTX_GSIS;
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	int ret;

	if (!bus)
		return -ENOMEM;
	bus->vm = vm;
	bus->last_devfn = -1;
	pci_bus_set_pirq_gsis(bus, default_gsis);
	/* an i440FX host bridge: what Linux expects to find at 00:00.0 */
	pci_device_init(&bus->host, "i440fx", 0x8086, 0x1237, 0x060000, 0x02);
	bus->host.devfn = PCI_DEVFN(0, 0);
	bus->host.config[PCI_STATUS + 1] = 0x02;	/* medium DEVSEL timing */
	bus->host.config[PCI_SUBSYSTEM_VENDOR_ID] = (uint8_t)QEMU_SUBSYS_VENDOR;
	bus->host.config[PCI_SUBSYSTEM_VENDOR_ID + 1] = QEMU_SUBSYS_VENDOR >> 8;
	bus->host.config[PCI_SUBSYSTEM_ID] = (uint8_t)QEMU_SUBSYS_ID;
	bus->host.config[PCI_SUBSYSTEM_ID + 1] = QEMU_SUBSYS_ID >> 8;
	/* PAM: read and write enables of each shadow segment (PAM0 has the
	 * F segment in its upper nibble only) */
	bus->host.wmask[I440FX_PAM0] = 0x30;
	memset(&bus->host.wmask[I440FX_PAM0 + 1], 0x33, I440FX_PAM_COUNT - 1);
	bus->host.config_write = i440fx_config_write;
	bus->host.reset = i440fx_reset;
	i440fx_reset(&bus->host);
	ret = vm_add_device(vm, "pci-host", bus, pci_host_reset, pci_host_destroy);
	if (ret < 0) {
		free(bus);
		return ret;
	}
	(void)pci_register_device(bus, &bus->host);	/* slot 0 is free */
	if ((ret = io_bus_register(&vm->pio, PCI_ADDR_PORT, 4, &pci_addr_ops, bus, "pci-addr")) < 0 ||
	    (ret = io_bus_register(&vm->pio, PCI_DATA_PORT, 4, &pci_data_ops, bus, "pci-data")) < 0) {
		log_error("pci: cannot register ports 0xcf8-0xcff: %s", strerror(-ret));
		return ret;
	}
	if (out)
		*out = bus;
	return 0;
}
