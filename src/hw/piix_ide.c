/* The PIIX3 IDE function (00:01.1): two channels at the legacy ports
 * (0x1f0-0x1f7 and 0x3f6 on IRQ 14, 0x170-0x177 and 0x376 on IRQ 15), as a
 * PC's BIOS and drivers expect, and the bus-master DMA registers in BAR 4:
 * per channel a command register (START, direction), a status register
 * (ACTIVE, ERROR and INTERRUPT, the last two write-1-to-clear, and the
 * drives' DMA-capable bits) and the PRD table's address. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/ide.h"
#include "hw/pc.h"
#include "hw/pci.h"

#define IDE_SLOT 1
#define IDE_FUNC 1
#define BM_IO_SIZE 16
#define PIIX_IDETIM 0x40	/* primary 0x40-0x41, secondary 0x42-0x43 */
#define IDETIM_DECODE 0x8000

static const struct {
	uint16_t cmd, ctl;
	unsigned irq;
} legacy[2] = { { 0x1f0, 0x3f6, 14 }, { 0x170, 0x376, 15 } };

struct piix_ide {
	struct vm *vm;
	struct pci_device pci;
	struct ide_channel ch[2];
};

static uint64_t ide_cmd_io_read(void *opaque, uint64_t offset, unsigned size)
{
	return ide_cmd_read(opaque, (unsigned)offset, size);
}

static void ide_cmd_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	ide_cmd_write(opaque, (unsigned)offset, size, (uint32_t)value);
}

static uint64_t ide_ctl_io_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)offset;
	(void)size;
	return ide_ctl_read(opaque);
}

static void ide_ctl_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)offset;
	(void)size;
	ide_ctl_write(opaque, (uint8_t)value);
}

static const struct io_ops ide_cmd_ops = { .read = ide_cmd_io_read, .write = ide_cmd_io_write };
static const struct io_ops ide_ctl_ops = { .read = ide_ctl_io_read, .write = ide_ctl_io_write };

/* ---- bus master ---- */

static uint8_t bm_read_byte(struct ide_channel *ch, unsigned off)
{
	switch (off) {
	case 0:
		return ch->bm_cmd;
	case 2:
		return ch->bm_status;
	case 4: case 5: case 6: case 7:
		return (uint8_t)(ch->bm_prdt >> (8 * (off - 4)));
	default:
		return 0;
	}
}

static void bm_write_byte(struct ide_channel *ch, unsigned off, uint8_t v)
{
	switch (off) {
	case 0: {
		bool was = ch->bm_cmd & BM_CMD_START;
		ch->bm_cmd = v & (BM_CMD_START | BM_CMD_READ);
		if ((v & BM_CMD_START) && !was) {
			ch->bm_status |= BM_ACTIVE;
			ide_bm_start(ch);
		} else if (!(v & BM_CMD_START) && was) {
			/* stopping the engine ends the transfer as it stands */
			ch->bm_status &= (uint8_t)~BM_ACTIVE;
		}
		break;
	}
	case 2:
		ch->bm_status = (uint8_t)((ch->bm_status & (BM_ACTIVE | ~0x67u)) |
					  (v & 0x60) | (ch->bm_status & (BM_ERROR | BM_INTR) &
							~(v & (BM_ERROR | BM_INTR))));
		break;
	case 4: case 5: case 6: case 7: {
		unsigned sh = 8 * (off - 4);
		ch->bm_prdt = (ch->bm_prdt & ~(0xffu << sh)) | (uint32_t)v << sh;
		ch->bm_prdt &= ~3u;
		break;
	}
	default:
		break;
	}
}

static uint64_t bm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct piix_ide *s = opaque;
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < BM_IO_SIZE; i++) {
		unsigned o = (unsigned)offset + i;
		v |= (uint64_t)bm_read_byte(&s->ch[o / 8], o % 8) << (8 * i);
	}
	return v;
}

static void bm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct piix_ide *s = opaque;
	for (unsigned i = 0; i < size && offset + i < BM_IO_SIZE; i++) {
		unsigned o = (unsigned)offset + i;
		bm_write_byte(&s->ch[o / 8], o % 8, (uint8_t)(value >> (8 * i)));
	}
}

static const struct io_ops bm_ops = { .read = bm_read, .write = bm_write };

static void piix_ide_pci_reset(struct pci_device *dev)
{
	/* both channels decode at power-on, as QEMU's */
	dev->config[PIIX_IDETIM + 1] = IDETIM_DECODE >> 8;
	dev->config[PIIX_IDETIM + 3] = IDETIM_DECODE >> 8;
}

static void piix_ide_reset(void *opaque)
{
	struct piix_ide *s = opaque;
	for (int i = 0; i < 2; i++)
		ide_channel_reset(&s->ch[i]);
}

static void piix_ide_destroy(void *opaque)
{
	struct piix_ide *s = opaque;
	pci_unregister_device(&s->pci);
	for (int i = 0; i < 2; i++) {
		io_bus_unregister(&s->vm->pio, legacy[i].cmd);
		io_bus_unregister(&s->vm->pio, legacy[i].ctl);
		ide_channel_destroy(&s->ch[i]);
	}
	free(s);
}

/* The IDE drives of the command line: -hda..-hdd, -cdrom, -drive if=ide;
 * index 0-3 is primary master, primary slave, secondary master, slave */
static int piix_ide_attach(struct piix_ide *s)
{
	const struct vm_config *cfg = &s->vm->cfg;
	for (unsigned i = 0; i < cfg->nr_drives; i++) {
		const struct drive_config *d = &cfg->drives[i];
		if (d->interface != DRIVE_IF_IDE)
			continue;
		struct blk *blk;
		int ret = blk_open(d, &blk);
		if (ret < 0)
			return ret;	/* blk_open said why */
		unsigned idx = (unsigned)d->index;
		if (d->cdrom && blk_size(blk) % CD_SECTOR)
			log_warn("ide: CD-ROM image '%s' is not a whole number of 2048-byte "
				 "blocks: the rest is not read", d->file);
		ret = ide_drive_attach(&s->ch[idx / 2], idx % 2, blk, d->cdrom, d->serial);
		if (ret < 0) {
			blk_close(blk);
			log_error("ide: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int piix_ide_create(struct vm *vm)
{
	struct piix_ide *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	for (int i = 0; i < 2; i++)
		ide_channel_init(&s->ch[i], vm, legacy[i].irq);
	pci_device_init(&s->pci, "piix3-ide", 0x8086, 0x7010, 0x010180, 0x00);
	s->pci.devfn = PCI_DEVFN(IDE_SLOT, IDE_FUNC);
	s->pci.config[PCI_STATUS + 1] = 0x02;	/* medium DEVSEL timing */
	s->pci.wmask[PIIX_IDETIM] = s->pci.wmask[PIIX_IDETIM + 1] = 0xff;
	s->pci.wmask[PIIX_IDETIM + 2] = s->pci.wmask[PIIX_IDETIM + 3] = 0xff;
	s->pci.reset = piix_ide_pci_reset;
	piix_ide_pci_reset(&s->pci);
	if (pci_device_set_bar(&s->pci, 4, PCI_BAR_IO, BM_IO_SIZE, false, &bm_ops, s) < 0) {
		free(s);
		return -EINVAL;
	}
	ret = vm_add_device(vm, "piix3-ide", s, piix_ide_reset, piix_ide_destroy);
	if (ret < 0) {
		free(s);
		return ret;
	}
	if ((ret = piix_ide_attach(s)) < 0)
		return ret;
	for (int i = 0; i < 2; i++) {
		if ((ret = io_bus_register(&vm->pio, legacy[i].cmd, 8, &ide_cmd_ops, &s->ch[i],
					   "ide")) < 0 ||
		    (ret = io_bus_register(&vm->pio, legacy[i].ctl, 1, &ide_ctl_ops, &s->ch[i],
					   "ide-ctl")) < 0) {
			log_error("ide: cannot claim ports 0x%x-0x%x and 0x%x: %s", legacy[i].cmd,
				  legacy[i].cmd + 7, legacy[i].ctl,
				  ret == -EEXIST ? "another device uses them" : strerror(-ret));
			return ret;
		}
	}
	ret = pci_register_device(vm->pci, &s->pci);
	if (ret < 0) {
		log_error("ide: PCI function 00:01.1 is taken");
		return ret;
	}
	piix_ide_reset(s);
	return 0;
}
