/* PCI bus 0 behind the host bridge: configuration mechanism #1 (0xCF8 and
 * 0xCFC-0xCFF), a registry of devices by device/function number, and BARs
 * that the bus maps on vm->pio or vm->mmio when the guest places them and
 * turns decoding on.  A device (virtio-pci, ...) embeds a struct
 * pci_device, fills it with pci_device_init and pci_device_set_bar, and
 * calls pci_register_device. */
#ifndef MINIVMM_PCI_H
#define MINIVMM_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct io_ops;
struct pci_bus;

#define PCI_CONFIG_SIZE 256
#define PCI_NUM_BARS 6
#define PCI_DEVFN(slot, fn) ((slot) << 3 | (fn))
#define PCI_DEVFN_AUTO (-1)

/* Type 0 header */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_HEADER_TYPE_MULTI 0x80
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_PARITY 0x0040
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010

enum pci_bar_kind {
	PCI_BAR_NONE,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,		/* takes this BAR and the next */
};

struct pci_bar {
	enum pci_bar_kind kind;
	bool prefetchable;
	uint64_t size;		/* a power of two */
	const struct io_ops *ops;	/* called with the offset into the BAR */
	void *opaque;
	/* the bus's: where it is mapped now */
	bool mapped;
	uint64_t mapped_at;
};

struct pci_device {
	const char *name;
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];		/* bits the guest may change */
	uint8_t w1cmask[PCI_CONFIG_SIZE];	/* bits a written 1 clears */
	struct pci_bar bars[PCI_NUM_BARS];
	int devfn;		/* PCI_DEVFN_AUTO: the first free slot */
	/* Optional: the device's own handling of config space (for
	 * capabilities, say).  Called with size 1, 2 or 4 and an offset that
	 * keeps the access inside the 256 bytes; may call the defaults below.
	 * The bus remaps BARs and the interrupt after every write. */
	uint32_t (*config_read)(struct pci_device *dev, unsigned offset, unsigned size);
	void (*config_write)(struct pci_device *dev, unsigned offset, unsigned size, uint32_t value);
	/* Optional: BAR n now decodes at addr, or (mapped false) no longer
	 * does; called under vm->dev_lock */
	void (*bar_mapped)(struct pci_device *dev, unsigned n, bool mapped, uint64_t addr);
	/* Optional: the device's own registers back to their reset values,
	 * after the bus has cleared the header's; under vm->dev_lock */
	void (*reset)(struct pci_device *dev);
	void *opaque;
	unsigned cap_free;	/* where pci_add_capability puts the next one */
	uint8_t cap_last;
	/* the bus's */
	struct pci_bus *bus;
	unsigned gsi;
	bool irq_level, irq_asserted;
};

/* A clean type 0 header: the IDs, a class code (class << 16 | subclass <<
 * 8 | prog-if), the revision, and the usual writable bits. */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision);
/* Declare BAR n: size a power of two, at least 4 for I/O and 16 for
 * memory.  Returns 0 or -EINVAL. */
int pci_device_set_bar(struct pci_device *dev, unsigned n, enum pci_bar_kind kind, uint64_t size,
		       bool prefetchable, const struct io_ops *ops, void *opaque);
/* Append a capability of len bytes (at least 2) with ID id to the list,
 * dword aligned after the header; returns its offset, or -ENOSPC.  Its
 * bytes are the caller's to fill; none is writable unless the caller says
 * so in wmask. */
int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned len);
/* How the PC wires INTA-INTD of slot 0 to GSIs; slot s is rotated by s
 * (INTA of slot 1 is the second line).  The DSDT's _PRT (boot/acpi.c)
 * tells the OS the same. */
#define PCI_PC_INTX_GSIS { 10, 10, 11, 11 }

static inline unsigned pci_intx_gsi(const unsigned gsis[4], unsigned slot, unsigned pin)
{
	return gsis[(slot + pin - 1) & 3];
}

/* Interrupt pin 1-4 (INTA-INTD); 0 for none.  Before registering. */
void pci_device_set_interrupt_pin(struct pci_device *dev, unsigned pin);

/* Returns 0, -EBUSY when dev->devfn is taken, -ENOSPC when no slot is
 * free, -EINVAL for a bad devfn. */
int pci_register_device(struct pci_bus *bus, struct pci_device *dev);
/* Unmaps the BARs, drops the interrupt, frees the slot: a device calls it
 * from its destroy function */
void pci_unregister_device(struct pci_device *dev);

/* The device's INTx line; lines shared by several devices are ORed */
void pci_set_irq(struct pci_device *dev, int level);

uint32_t pci_default_config_read(struct pci_device *dev, unsigned offset, unsigned size);
void pci_default_config_write(struct pci_device *dev, unsigned offset, unsigned size,
			      uint32_t value);

/* The bus, with the host bridge at 00:00.0 and the reset control register
 * at 0xCF9 */
int pci_host_create(struct vm *vm, struct pci_bus **out);
/* The GSIs that INTA-INTD of slot 0 reach (rotated by slot, as the PC
 * wires them); 10, 10, 11, 11 unless changed.  Before devices register. */
void pci_bus_set_pirq_gsis(struct pci_bus *bus, const unsigned gsi[4]);
/* Do what firmware does before the OS: give every BAR an address (I/O
 * from 0xC000, memory from 0xC0000000) and turn decoding on; again after
 * each reset.  Call once the devices are registered.  An OS may still
 * move them. */
void pci_bus_assign_bars(struct pci_bus *bus);
/* A PIRQ routing register changed (hw/piix.c): INTx lines on PIRQ pirq
 * (0-3, INTA of slot 0 rotated by slot) now reach gsi; gsi >= 32
 * disconnects them */
void pci_bus_set_pirq(struct pci_bus *bus, unsigned pirq, unsigned gsi);
/* The devfn of the device registered last (-1: none yet), to name it to
 * firmware (a boot order) */
int pci_bus_last_devfn(const struct pci_bus *bus);
/* The GSIs PCI devices use: level-triggered lines for the ELCR */
uint32_t pci_bus_gsi_mask(const struct pci_bus *bus);

#endif
