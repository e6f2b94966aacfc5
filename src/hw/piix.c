/* The PIIX functions of QEMU's pc machine in slot 1: function 0, the PIIX3
 * PCI-to-ISA bridge, whose PIRQ route control registers (0x60-0x63) say
 * which ISA IRQ each PCI interrupt line PIRQA-D reaches; function 3, the
 * PIIX4 power-management function, whose PMBA (0x40) and PMREGMISC (0x80)
 * place and enable the ACPI registers (acpi_pm.c) and whose SMBBA (0x90)
 * and SMBHSTCFG (0xd2) place and enable the SMBus host controller.  The
 * SMBus has no device on it: every transaction ends with DEV_ERR, as a
 * bus where no address answers.  Its completion interrupt is not raised.
 *
 * A BIOS programs all of this; when minivmm boots a kernel itself it sets
 * the registers as SeaBIOS would (the same values the DSDT and FADT
 * name). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"
#include "hw/pci.h"

#define PIIX_SLOT 1
#define PIIX3_PIRQRC 0x60	/* 4 registers: bit 7 disables, bits 3:0 the IRQ */
#define PIRQRC_DISABLE 0x80
#define PIIX4_PMBA 0x40
#define PIIX4_PMREGMISC 0x80
#define PMREGMISC_PMIOSE 0x01
#define PIIX4_DEVACTB 0x58
#define DEVACTB_APMC_EN 0x02	/* in byte 0x5b: SMI on writes to 0xB2 */
#define PIIX4_SMBBA 0x90
#define PIIX4_SMBHSTCFG 0xd2
#define SMBHSTCFG_HST_EN 0x01
#define SMB_IO_LEN 16

/* SMBus host registers */
#define SMB_HSTSTS 0
#define SMB_HSTCNT 2
#define SMB_HSTCMD 3
#define SMB_HSTADD 4
#define SMB_HSTDAT0 5
#define SMB_HSTDAT1 6
#define SMB_BLKDAT 7
#define HSTSTS_DEV_ERR 0x04
#define HSTSTS_MASK 0x1f	/* HOST_BUSY, INTR, DEV_ERR, BUS_ERR, FAILED */
#define HSTCNT_START 0x40

struct piix {
	struct vm *vm;
	bool firmware;
	struct pci_device isa;
	struct pci_device pm;
	struct acpi_pm *acpi;
	uint16_t smb_base;	/* 0: not decoding */
	uint8_t smb[8];
};

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void piix_route_pirqs(struct piix *px)
{
	for (unsigned i = 0; i < 4; i++) {
		uint8_t r = px->isa.config[PIIX3_PIRQRC + i];
		/* IRQs 0-2, 8 and 13 cannot be routed (PIIX3 datasheet) */
		unsigned irq = r & 0x0f;
		bool off = (r & PIRQRC_DISABLE) || irq < 3 || irq == 8 || irq == 13;
		pci_bus_set_pirq(px->vm->pci, i, off ? 32 : irq);
	}
}

static void piix_isa_config_write(struct pci_device *dev, unsigned offset, unsigned size,
				  uint32_t value)
{
	pci_default_config_write(dev, offset, size, value);
	if (offset < PIIX3_PIRQRC + 4 && offset + size > PIIX3_PIRQRC)
		piix_route_pirqs(dev->opaque);
}

static void piix_isa_reset(struct pci_device *dev)
{
	struct piix *px = dev->opaque;
	uint8_t *c = dev->config;
	c[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	c[0x4c] = 0x4d;		/* ISA I/O recovery timer */
	c[0x4e] = 0x03;		/* X-bus chip select: BIOS ROM, keyboard */
	c[0x69] = 0x02;		/* top of memory */
	c[0x70] = 0x80;		/* motherboard IRQ routing: off */
	c[0x76] = c[0x77] = 0x0c;	/* motherboard DMA: off */
	c[0x78] = 0x02;
	c[0xa0] = 0x08;
	memset(&c[PIIX3_PIRQRC], PIRQRC_DISABLE, 4);
	if (!px->firmware) {
		static const unsigned gsis[4] = PCI_PC_INTX_GSIS;
		for (int i = 0; i < 4; i++)
			c[PIIX3_PIRQRC + i] = (uint8_t)gsis[i];
	}
	piix_route_pirqs(px);
}

/* ---- SMBus: a host controller with no devices ---- */

static uint64_t smbus_read(void *opaque, uint64_t offset, unsigned size)
{
	struct piix *px = opaque;
	(void)size;
	return offset < sizeof(px->smb) ? px->smb[offset] : 0;
}

static void smbus_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct piix *px = opaque;
	uint8_t v = (uint8_t)value;
	(void)size;
	switch (offset) {
	case SMB_HSTSTS:
		px->smb[SMB_HSTSTS] &= (uint8_t)~(v & HSTSTS_MASK);
		break;
	case SMB_HSTCNT:
		px->smb[SMB_HSTCNT] = v & (uint8_t)~HSTCNT_START;
		/* no device acknowledges the address */
		if (v & HSTCNT_START)
			px->smb[SMB_HSTSTS] |= HSTSTS_DEV_ERR;
		break;
	case SMB_HSTCMD: case SMB_HSTADD: case SMB_HSTDAT0: case SMB_HSTDAT1: case SMB_BLKDAT:
		px->smb[offset] = v;
		break;
	default:
		break;
	}
}

static const struct io_ops smbus_ops = { .read = smbus_read, .write = smbus_write };

static void piix_pm_update(struct piix *px)
{
	const uint8_t *c = px->pm.config;
	bool io = px->pm.config[PCI_COMMAND] & PCI_COMMAND_IO;
	uint16_t pm = (c[PIIX4_PMREGMISC] & PMREGMISC_PMIOSE) ?
			      (uint16_t)(get_le32(&c[PIIX4_PMBA]) & 0xffc0) : 0;
	uint16_t smb = io && (c[PIIX4_SMBHSTCFG] & SMBHSTCFG_HST_EN) ?
			       (uint16_t)(get_le32(&c[PIIX4_SMBBA]) & 0xfff0) : 0;
	if (acpi_pm_set_base(px->acpi, pm) < 0 && (px->vm->cfg.debug_mask & DEBUG_GUEST_ERRORS))
		log_debug("piix4-pm: PM base 0x%x overlaps another device", pm);
	if (smb != px->smb_base) {
		if (px->smb_base)
			io_bus_unregister(&px->vm->pio, px->smb_base);
		px->smb_base = 0;
		if (smb && io_bus_register(&px->vm->pio, smb, SMB_IO_LEN, &smbus_ops, px, "smbus") == 0)
			px->smb_base = smb;
	}
}

static void piix_pm_config_write(struct pci_device *dev, unsigned offset, unsigned size,
				 uint32_t value)
{
	pci_default_config_write(dev, offset, size, value);
	piix_pm_update(dev->opaque);
}

static void piix_pm_reset(struct pci_device *dev)
{
	struct piix *px = dev->opaque;
	uint8_t *c = dev->config;
	memset(&c[PIIX4_PMBA], 0, 4);
	memset(&c[PIIX4_SMBBA], 0, 4);
	c[PIIX4_PMBA] = c[PIIX4_SMBBA] = 0x01;	/* I/O space indicators */
	c[PIIX4_PMREGMISC] = 0;
	c[PIIX4_SMBHSTCFG] = 0;
	/* there is no SMM: say its set-up is done, as QEMU does without SMM,
	 * so that firmware does not wait for an SMI handler */
	memset(&c[PIIX4_DEVACTB], 0, 4);
	c[PIIX4_DEVACTB + 3] = DEVACTB_APMC_EN;
	memset(px->smb, 0, sizeof(px->smb));
	if (!px->firmware) {
		/* what SeaBIOS writes: PM at 0x600, SMBus at 0x700 */
		c[PIIX4_PMBA] = (uint8_t)(ACPI_PM_IO_BASE | 1);
		c[PIIX4_PMBA + 1] = ACPI_PM_IO_BASE >> 8;
		c[PIIX4_PMREGMISC] = PMREGMISC_PMIOSE;
		c[PIIX4_SMBBA] = (uint8_t)((ACPI_PM_IO_BASE + 0x100) | 1);
		c[PIIX4_SMBBA + 1] = (ACPI_PM_IO_BASE + 0x100) >> 8;
		c[PIIX4_SMBHSTCFG] = 0x09;	/* enabled, SMBus interrupt on IRQ 9 */
		c[PCI_COMMAND] |= PCI_COMMAND_IO;
		c[PCI_INTERRUPT_LINE] = ACPI_SCI_IRQ;
	}
	piix_pm_update(px);
}

static void piix_destroy(void *opaque)
{
	struct piix *px = opaque;
	pci_unregister_device(&px->pm);
	pci_unregister_device(&px->isa);
	if (px->smb_base)
		io_bus_unregister(&px->vm->pio, px->smb_base);
	free(px);
}

int piix_create(struct vm *vm, bool firmware)
{
	struct piix *px = calloc(1, sizeof(*px));
	int ret;

	if (!px)
		return -ENOMEM;
	px->vm = vm;
	px->firmware = firmware;
	ret = acpi_pm_create_at(vm, 0, &px->acpi);
	if (ret < 0) {
		free(px);
		return ret;
	}

	pci_device_init(&px->isa, "piix3-isa", 0x8086, 0x7000, 0x060100, 0x00);
	px->isa.devfn = PCI_DEVFN(PIIX_SLOT, 0);
	px->isa.config[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_MULTI;
	px->isa.config[PCI_STATUS + 1] = 0x02;	/* medium DEVSEL timing */
	for (int i = 0; i < 4; i++)
		px->isa.wmask[PIIX3_PIRQRC + i] = PIRQRC_DISABLE | 0x0f;
	px->isa.config_write = piix_isa_config_write;
	px->isa.reset = piix_isa_reset;
	px->isa.opaque = px;

	pci_device_init(&px->pm, "piix4-pm", 0x8086, 0x7113, 0x068000, 0x03);
	px->pm.devfn = PCI_DEVFN(PIIX_SLOT, 3);
	px->pm.config[PCI_STATUS + 1] = 0x02;
	pci_device_set_interrupt_pin(&px->pm, 1);
	px->pm.wmask[PIIX4_PMBA] = 0xc0;
	px->pm.wmask[PIIX4_PMBA + 1] = 0xff;
	px->pm.wmask[PIIX4_PMREGMISC] = PMREGMISC_PMIOSE;
	px->pm.wmask[PIIX4_SMBBA] = 0xf0;
	px->pm.wmask[PIIX4_SMBBA + 1] = 0xff;
	px->pm.wmask[PIIX4_SMBHSTCFG] = 0x0f;
	px->pm.config_write = piix_pm_config_write;
	px->pm.reset = piix_pm_reset;
	px->pm.opaque = px;

	ret = vm_add_device(vm, "piix", px, NULL, piix_destroy);
	if (ret < 0) {
		free(px);
		return ret;
	}
	if ((ret = pci_register_device(vm->pci, &px->isa)) < 0 ||
	    (ret = pci_register_device(vm->pci, &px->pm)) < 0) {
		log_error("piix: slot %d is taken", PIIX_SLOT);
		return ret;
	}
	pthread_mutex_lock(&vm->dev_lock);
	piix_isa_reset(&px->isa);
	piix_pm_reset(&px->pm);
	pthread_mutex_unlock(&vm->dev_lock);
	return 0;
}
