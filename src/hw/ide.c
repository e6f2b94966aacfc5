/* An IDE channel and the ATA command set of its disks (ATA/ATAPI-6):
 * PIO and bus-master DMA reads and writes in 28- and 48-bit LBA (and CHS,
 * for old loaders), READ/WRITE MULTIPLE, IDENTIFY, SET FEATURES, FLUSH
 * CACHE, the power-management and diagnostic commands a driver probes
 * with.  The CD-ROM's PACKET command is ide_atapi.c's.  See ide.h for the
 * rules on guest input. */
#include "hw/ide.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "mem/dma.h"

/* Commands */
#define CMD_DEVICE_RESET 0x08
#define CMD_RECALIBRATE 0x10	/* 0x10-0x1f */
#define CMD_READ 0x20
#define CMD_READ_NORETRY 0x21
#define CMD_READ_EXT 0x24
#define CMD_READ_DMA_EXT 0x25
#define CMD_READ_MULTIPLE_EXT 0x29
#define CMD_WRITE 0x30
#define CMD_WRITE_NORETRY 0x31
#define CMD_WRITE_EXT 0x34
#define CMD_WRITE_DMA_EXT 0x35
#define CMD_WRITE_MULTIPLE_EXT 0x39
#define CMD_VERIFY 0x40
#define CMD_VERIFY_NORETRY 0x41
#define CMD_VERIFY_EXT 0x42
#define CMD_SEEK 0x70
#define CMD_DIAGNOSTIC 0x90
#define CMD_SPECIFY 0x91
#define CMD_PACKET 0xa0
#define CMD_IDENTIFY_PACKET 0xa1
#define CMD_READ_MULTIPLE 0xc4
#define CMD_WRITE_MULTIPLE 0xc5
#define CMD_SET_MULTIPLE 0xc6
#define CMD_READ_DMA 0xc8
#define CMD_READ_DMA_NORETRY 0xc9
#define CMD_WRITE_DMA 0xca
#define CMD_WRITE_DMA_NORETRY 0xcb
#define CMD_STANDBY_IMMEDIATE 0xe0
#define CMD_IDLE_IMMEDIATE 0xe1
#define CMD_STANDBY 0xe2
#define CMD_IDLE 0xe3
#define CMD_CHECK_POWER 0xe5
#define CMD_SLEEP 0xe6
#define CMD_FLUSH 0xe7
#define CMD_FLUSH_EXT 0xea
#define CMD_IDENTIFY 0xec
#define CMD_SET_FEATURES 0xef

#define SELECT_LBA 0x40
#define MAX_MULT 16
/* CHS as the BIOS and old loaders see a disk */
#define CHS_HEADS 16
#define CHS_SPT 63

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* An ATA string: two characters a word, the first in the high byte */
void ide_put_string(uint8_t *id, unsigned word, unsigned words, const char *s)
{
	size_t n = strlen(s);
	for (unsigned i = 0; i < 2 * words; i++)
		id[2 * word + (i ^ 1)] = i < n ? (uint8_t)s[i] : ' ';
}

void ide_set_irq(struct ide_channel *ch)
{
	ch->bm_status |= BM_INTR;
	if (ch->devctl & ATA_NIEN)
		return;
	ch->irq_level = true;
	vm_set_irq(ch->vm, ch->irq, 1);
}

static void ide_clear_irq(struct ide_channel *ch)
{
	if (ch->irq_level) {
		ch->irq_level = false;
		vm_set_irq(ch->vm, ch->irq, 0);
	}
}

void ide_cmd_done(struct ide_drive *d)
{
	d->xfer = IDE_XFER_NONE;
	d->status = ATA_DRDY | ATA_DSC;
	ide_set_irq(d->ch);
}

void ide_abort(struct ide_drive *d)
{
	d->xfer = IDE_XFER_NONE;
	d->status = ATA_DRDY | ATA_ERR;
	d->error = ATA_ABRT;
	ide_set_irq(d->ch);
}

/* Hand the guest len bytes of buf by PIO (a DRQ block) */
void ide_pio_in(struct ide_drive *d, uint32_t len)
{
	d->xfer = IDE_XFER_PIO_IN;
	d->block_start = d->data_pos = 0;
	d->data_end = len;
	d->status = ATA_DRDY | ATA_DSC | ATA_DRQ;
}

/* ---- the signature and reset ---- */

static void ide_signature(struct ide_channel *ch, struct ide_drive *d)
{
	ch->nsector = ch->sector = 1;
	if (d->cdrom) {
		atapi_reset_signature(ch, d);
	} else {
		ch->lcyl = ch->hcyl = 0;
	}
}

static void ide_drive_reset(struct ide_drive *d)
{
	d->gen++;
	d->xfer = IDE_XFER_NONE;
	d->dma_reply = d->packet_reply = false;
	d->error = 0x01;	/* diagnostics passed */
	d->status = d->blk ? (d->cdrom ? 0 : ATA_DRDY | ATA_DSC) : 0;
	/* a request still in the block layer keeps the drive busy */
	if (d->io_busy)
		d->status |= ATA_BSY;
	d->mult = MAX_MULT;
	d->sense_key = d->asc = d->ascq = 0;
}

static void ide_soft_reset(struct ide_channel *ch)
{
	for (int i = 0; i < 2; i++)
		ide_drive_reset(&ch->drive[i]);
	ch->cur = 0;
	ch->select = 0xa0;
	ide_signature(ch, &ch->drive[0]);
	ch->feature = 0;
	ch->bm_status &= (uint8_t)~BM_ACTIVE;
}

/* ---- the block layer ---- */

static uint32_t ide_sector_size(const struct ide_drive *d)
{
	return d->cdrom ? CD_SECTOR : IDE_SECTOR;
}

static void ide_dma_done(struct ide_drive *d, int ret);
static void ide_pio_io_done(struct ide_drive *d, int ret);

static void ide_io_complete(struct blk_request *req, int ret)
{
	struct ide_drive *d = req->opaque;
	struct vm *vm = d->ch->vm;
	pthread_mutex_lock(&vm->dev_lock);
	d->io_busy = false;
	if (d->io_gen != d->gen) {
		/* a reset came in between: the result goes nowhere, but a
		 * read may have reached guest RAM */
		if (d->req.op == BLK_OP_READ && d->req.iov != NULL && d->req.iov[0].iov_base != d->buf)
			for (unsigned i = 0; i < d->req.iovcnt; i++)
				dma_mark_written(vm, d->dma_gpa[i], d->iov[i].iov_len);
		d->status = d->blk ? (d->cdrom ? 0 : ATA_DRDY | ATA_DSC) : 0;
	} else if (d->xfer == IDE_XFER_DMA) {
		ide_dma_done(d, ret);
	} else if (d->cdrom) {
		atapi_io_done(d, ret);
	} else {
		ide_pio_io_done(d, ret);
	}
	pthread_mutex_unlock(&vm->dev_lock);
}

/* Submit d->req as set up by the caller (op, offset, iov); BSY meanwhile */
static int ide_submit(struct ide_drive *d)
{
	d->req.complete = ide_io_complete;
	d->req.opaque = d;
	d->io_gen = d->gen;
	d->status = ATA_BSY | ATA_DRDY;
	d->io_busy = true;
	int ret = blk_submit(d->blk, &d->req);
	if (ret < 0) {
		d->io_busy = false;
		return ret;
	}
	return 0;
}

/* PIO: read the next chunk of sectors into buf, or write the DRQ block
 * the guest filled */
int ide_start_io(struct ide_drive *d)
{
	uint32_t ss = ide_sector_size(d);
	uint32_t n = d->write ? d->dma_bytes / ss : d->left;
	if (!d->write && n > IDE_BUF_SIZE / ss)
		n = IDE_BUF_SIZE / ss;
	d->dma_bytes = n * ss;
	d->iov[0] = (struct iovec){ d->buf, d->dma_bytes };
	d->req = (struct blk_request){ .op = d->write ? BLK_OP_WRITE : BLK_OP_READ,
				       .offset = d->lba * ss, .iov = d->iov, .iovcnt = 1 };
	return ide_submit(d);
}

/* ---- bus-master DMA ---- */

/* Walk the PRD table from the channel's position: up to limit bytes in at
 * most IDE_MAX_IOV pieces.  With d, fill d->iov and move the position on;
 * without, only count.  Returns the bytes, or -EFAULT when an entry or a
 * buffer is not guest RAM. */
int64_t ide_prd_walk(struct ide_channel *ch, struct ide_drive *d, uint32_t limit)
{
	uint32_t addr = ch->prd_addr, off = ch->prd_off;
	bool end = ch->prd_end;
	uint32_t total = 0;
	unsigned n = 0;
	/* a PRD table may not cross a 64 KiB boundary: at most 8192 entries */
	for (unsigned entries = 0; !end && total < limit && n < IDE_MAX_IOV && entries < 8192;
	     entries++) {
		uint8_t e[8];
		if (guest_mem_read(&ch->vm->mem, addr, e, sizeof(e)) < 0)
			return -EFAULT;
		uint32_t base = (e[0] | e[1] << 8 | e[2] << 16 | (uint32_t)e[3] << 24) & ~1u;
		uint32_t count = (e[4] | e[5] << 8) & ~1u;
		bool eot = e[7] & 0x80;
		if (count == 0)
			count = 0x10000;
		uint32_t take = count - off;
		if (take > limit - total)
			take = limit - total;
		if (d) {
			void *p = guest_mem_ptr(&ch->vm->mem, (uint64_t)base + off, take);
			if (!p)
				return -EFAULT;
			d->iov[n] = (struct iovec){ p, take };
			d->dma_gpa[n] = (uint64_t)base + off;
		}
		n++;
		total += take;
		off += take;
		if (off == count) {
			off = 0;
			if (eot)
				end = true;
			else
				addr += 8;
		}
	}
	if (d) {
		ch->prd_addr = addr;
		ch->prd_off = off;
		ch->prd_end = end;
		d->req.iovcnt = n;
	}
	return total;
}

static void ide_dma_error(struct ide_drive *d)
{
	d->ch->bm_status = (uint8_t)((d->ch->bm_status & ~BM_ACTIVE) | BM_ERROR);
	ide_abort(d);
}

/* The next chunk of the DMA command: as many whole sectors as the PRDs
 * and IDE_DMA_CHUNK allow */
static void ide_dma_run(struct ide_drive *d)
{
	struct ide_channel *ch = d->ch;
	uint32_t ss = ide_sector_size(d);
	uint64_t want = (uint64_t)d->left * ss;
	if (want > IDE_DMA_CHUNK)
		want = IDE_DMA_CHUNK;
	int64_t avail = ide_prd_walk(ch, NULL, (uint32_t)want);
	if (avail < 0) {
		ide_dma_error(d);
		return;
	}
	uint32_t bytes = (uint32_t)avail / ss * ss;
	if (bytes == 0) {
		/* the PRDs end before the transfer does */
		ch->bm_status &= (uint8_t)~BM_ACTIVE;
		ide_abort(d);
		return;
	}
	d->req = (struct blk_request){ .op = d->write ? BLK_OP_WRITE : BLK_OP_READ,
				       .offset = d->lba * ss, .iov = d->iov };
	if (ide_prd_walk(ch, d, bytes) != bytes) {
		ide_dma_error(d);
		return;
	}
	d->dma_bytes = bytes;
	if (ide_submit(d) < 0)
		ide_abort(d);
	else
		d->status |= ATA_DRQ;
}

static void ide_dma_done(struct ide_drive *d, int ret)
{
	struct ide_channel *ch = d->ch;
	uint32_t ss = ide_sector_size(d);
	if (ret < 0) {
		ide_dma_error(d);
		return;
	}
	if (!d->write)
		for (unsigned i = 0; i < d->req.iovcnt; i++)
			dma_mark_written(ch->vm, d->dma_gpa[i], d->iov[i].iov_len);
	d->lba += d->dma_bytes / ss;
	d->left -= d->dma_bytes / ss;
	if (d->left && (ch->bm_cmd & BM_CMD_START)) {
		ide_dma_run(d);
		return;
	}
	/* the PRDs may go on: then the bus master stays active */
	if (ch->prd_end || d->left)
		ch->bm_status &= (uint8_t)~BM_ACTIVE;
	if (d->left)
		ide_abort(d);	/* stopped by the guest */
	else if (d->cdrom)
		atapi_dma_done(d);
	else
		ide_cmd_done(d);
}

/* Begin a DMA command: now, or when the guest sets START */
static void ide_dma_begin(struct ide_drive *d)
{
	d->xfer = IDE_XFER_DMA;
	d->status = ATA_DRDY | ATA_DSC | ATA_DRQ;
	if (d->ch->bm_cmd & BM_CMD_START)
		ide_dma_run(d);
}

void ide_bm_start(struct ide_channel *ch)
{
	ch->prd_addr = ch->bm_prdt;
	ch->prd_off = 0;
	ch->prd_end = false;
	struct ide_drive *d = &ch->drive[ch->cur];
	if (d->xfer != IDE_XFER_DMA || d->io_busy)
		return;
	if (d->dma_reply)
		atapi_dma_reply(d, d->dma_bytes);
	else
		ide_dma_run(d);
}

/* ---- ATA commands ---- */

static void ide_identify(struct ide_drive *d)
{
	uint8_t *id = d->buf;
	uint64_t s = d->sectors;
	uint64_t cyls = s / (CHS_HEADS * CHS_SPT);
	if (cyls > 16383)
		cyls = 16383;
	uint32_t lba28 = s > 0x0fffffff ? 0x0fffffff : (uint32_t)s;
	uint32_t chs = (uint32_t)cyls * CHS_HEADS * CHS_SPT;
	memset(id, 0, 512);
	put_le16(id + 0, 0x0040);	/* fixed disk */
	put_le16(id + 2, (uint16_t)cyls);
	put_le16(id + 6, CHS_HEADS);
	put_le16(id + 12, CHS_SPT);
	ide_put_string(id, 10, 10, d->serial);
	ide_put_string(id, 23, 4, "1.0");
	ide_put_string(id, 27, 20, "MINIVMM HARDDISK");
	put_le16(id + 94, 0x8000 | MAX_MULT);
	put_le16(id + 98, (1 << 9) | (1 << 8));	/* LBA, DMA */
	put_le16(id + 102, 0x200);
	put_le16(id + 106, 7);	/* words 54-58, 64-70 and 88 are valid */
	put_le16(id + 108, (uint16_t)cyls);
	put_le16(id + 110, CHS_HEADS);
	put_le16(id + 112, CHS_SPT);
	put_le16(id + 114, (uint16_t)chs);
	put_le16(id + 116, (uint16_t)(chs >> 16));
	if (d->mult)
		put_le16(id + 118, 0x100 | d->mult);
	put_le16(id + 120, (uint16_t)lba28);
	put_le16(id + 122, (uint16_t)(lba28 >> 16));
	put_le16(id + 126, 0x07);	/* multiword DMA 0-2 */
	put_le16(id + 128, 0x03);	/* PIO 3-4 */
	for (int w = 65; w <= 68; w++)
		put_le16(id + 2 * w, 120);
	put_le16(id + 160, 0xf0);	/* ATA/ATAPI-4 to -7 */
	put_le16(id + 162, 0x16);
	put_le16(id + 164, (1 << 14) | (1 << 5));	/* write cache */
	put_le16(id + 166, (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10));	/* FLUSH, LBA48 */
	put_le16(id + 168, 1 << 14);
	put_le16(id + 170, 1 << 5);
	put_le16(id + 172, (1 << 13) | (1 << 12) | (1 << 10));
	put_le16(id + 174, 1 << 14);
	put_le16(id + 176, 0x3f | (1 << 13));	/* UDMA 0-5, mode 5 selected */
	put_le16(id + 186, 0x6001 | 0x2000);	/* reset results: 80-wire cable */
	for (int i = 0; i < 4; i++)
		put_le16(id + 200 + 2 * i, (uint16_t)(s >> (16 * i)));
	ide_pio_in(d, 512);
}

/* The starting sector of a read or write, from the task file */
static uint64_t ide_taskfile_lba(struct ide_channel *ch, bool lba48)
{
	if (lba48)
		return (uint64_t)ch->hob_hcyl << 40 | (uint64_t)ch->hob_lcyl << 32 |
		       (uint64_t)ch->hob_sector << 24 | (uint64_t)ch->hcyl << 16 |
		       (uint64_t)ch->lcyl << 8 | ch->sector;
	if (ch->select & SELECT_LBA)
		return (uint64_t)(ch->select & 0x0f) << 24 | (uint64_t)ch->hcyl << 16 |
		       (uint64_t)ch->lcyl << 8 | ch->sector;
	/* CHS; sector 0 does not exist and reads past the end */
	uint64_t cyl = (uint64_t)ch->hcyl << 8 | ch->lcyl;
	if (ch->sector == 0)
		return UINT64_MAX;
	return (cyl * CHS_HEADS + (ch->select & 0x0f)) * CHS_SPT + ch->sector - 1u;
}

/* Check and set up a read or write of the task file's sectors: false
 * (after the error) when the range is outside the disk */
static bool ide_rw_setup(struct ide_drive *d, bool lba48, bool write)
{
	struct ide_channel *ch = d->ch;
	uint32_t count = lba48 ? (uint32_t)ch->hob_nsector << 8 | ch->nsector : ch->nsector;
	if (count == 0)
		count = lba48 ? 65536 : 256;
	uint64_t lba = ide_taskfile_lba(ch, lba48);
	if (lba >= d->sectors || count > d->sectors - lba) {
		d->xfer = IDE_XFER_NONE;
		d->status = ATA_DRDY | ATA_ERR;
		d->error = ATA_IDNF | ATA_ABRT;
		ide_set_irq(ch);
		return false;
	}
	if (write && blk_is_readonly(d->blk)) {
		ide_abort(d);
		return false;
	}
	d->lba = lba;
	d->left = count;
	d->write = write;
	d->lba48 = lba48;
	return true;
}

static void ide_pio_rw(struct ide_drive *d, bool lba48, bool write, uint32_t drq)
{
	if (!ide_rw_setup(d, lba48, write))
		return;
	d->drq = drq;
	if (write) {
		uint32_t n = d->left < drq ? d->left : drq;
		d->xfer = IDE_XFER_PIO_OUT;
		d->data_pos = 0;
		d->data_end = n * IDE_SECTOR;
		d->status = ATA_DRDY | ATA_DSC | ATA_DRQ;
		return;
	}
	d->xfer = IDE_XFER_PIO_IN;
	if (ide_start_io(d) < 0)
		ide_abort(d);
}

/* The first DRQ block of the chunk just read, or the next one */
static void ide_pio_next_block(struct ide_drive *d, uint32_t at)
{
	uint32_t n = d->left < d->drq ? d->left : d->drq;
	uint32_t len = n * IDE_SECTOR;
	if (len > d->dma_bytes - at)
		len = d->dma_bytes - at;
	d->xfer = IDE_XFER_PIO_IN;
	d->block_start = d->data_pos = at;
	d->data_end = at + len;
	d->status = ATA_DRDY | ATA_DSC | ATA_DRQ;
	ide_set_irq(d->ch);
}

static void ide_pio_io_done(struct ide_drive *d, int ret)
{
	if (d->req.op == BLK_OP_FLUSH) {
		if (ret < 0)
			ide_abort(d);
		else
			ide_cmd_done(d);
		return;
	}
	if (ret < 0) {
		d->status = ATA_DRDY | ATA_ERR;
		d->error = ATA_UNC | ATA_ABRT;
		d->xfer = IDE_XFER_NONE;
		ide_set_irq(d->ch);
		return;
	}
	if (d->write) {
		uint32_t n = d->dma_bytes / IDE_SECTOR;
		d->lba += n;
		d->left -= n;
		if (!d->left) {
			ide_cmd_done(d);
			return;
		}
		n = d->left < d->drq ? d->left : d->drq;
		d->xfer = IDE_XFER_PIO_OUT;
		d->data_pos = 0;
		d->data_end = n * IDE_SECTOR;
		d->status = ATA_DRDY | ATA_DSC | ATA_DRQ;
		ide_set_irq(d->ch);
		return;
	}
	ide_pio_next_block(d, 0);
}

/* The guest moved the last byte of a DRQ block */
static void ide_pio_block_done(struct ide_drive *d)
{
	if (d->xfer == IDE_XFER_PACKET) {
		atapi_packet(d);
		return;
	}
	if (d->packet_reply) {
		atapi_reply_done(d);
		return;
	}
	if (d->xfer == IDE_XFER_PIO_OUT) {
		d->dma_bytes = d->data_end;
		if (ide_start_io(d) < 0)
			ide_abort(d);
		return;
	}
	uint32_t n = (d->data_end - d->block_start) / IDE_SECTOR;
	if (n > d->left)
		n = d->left;
	d->lba += n;
	d->left -= n;
	if (!d->left) {
		/* no interrupt at the end of a PIO read */
		d->xfer = IDE_XFER_NONE;
		d->status = ATA_DRDY | ATA_DSC;
	} else if (d->data_end < d->dma_bytes) {
		ide_pio_next_block(d, d->data_end);
	} else if (ide_start_io(d) < 0) {
		ide_abort(d);
	}
}

static void ide_flush(struct ide_drive *d)
{
	d->req = (struct blk_request){ .op = BLK_OP_FLUSH };
	d->left = 0;
	d->xfer = IDE_XFER_NONE;
	if (ide_submit(d) < 0)
		ide_abort(d);
}

static void ide_exec(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_drive *d = &ch->drive[ch->cur];
	bool lba48 = false;

	if (!d->blk) {
		/* nobody answers; the other drive does not either */
		return;
	}
	if (d->status & ATA_BSY)
		return;	/* ignored while busy */
	d->error = 0;
	ide_clear_irq(ch);
	if (d->cdrom) {
		switch (cmd) {
		case CMD_PACKET:
			d->atapi_dma = ch->feature & 1;
			d->atapi_limit = (uint32_t)ch->hcyl << 8 | ch->lcyl;
			ch->nsector = 1;	/* interrupt reason: C/D, to the device */
			d->xfer = IDE_XFER_PACKET;
			d->data_pos = 0;
			d->data_end = 12;
			d->status = ATA_DRDY | ATA_DRQ;
			return;
		case CMD_IDENTIFY_PACKET: {
			atapi_identify(d, d->buf);
			d->left = 0;
			ide_pio_in(d, 512);
			ide_set_irq(ch);
			return;
		}
		case CMD_DEVICE_RESET:
			ide_drive_reset(d);
			ide_signature(ch, d);
			d->status = 0;
			return;
		case CMD_DIAGNOSTIC:
			break;
		case CMD_CHECK_POWER:
		case CMD_IDLE_IMMEDIATE:
		case CMD_STANDBY_IMMEDIATE:
		case CMD_SET_FEATURES:
		case CMD_SLEEP:
			break;
		default:
			/* IDENTIFY DEVICE and the disk commands: abort with the
			 * signature, which is how a driver tells ATAPI apart */
			ide_signature(ch, d);
			ide_abort(d);
			return;
		}
	}
	switch (cmd) {
	case CMD_IDENTIFY:
		d->left = 0;
		ide_identify(d);
		ide_set_irq(ch);
		break;
	case CMD_READ_EXT:
		lba48 = true;
		/* fall through */
	case CMD_READ:
	case CMD_READ_NORETRY:
		ide_pio_rw(d, lba48, false, 1);
		break;
	case CMD_READ_MULTIPLE_EXT:
		lba48 = true;
		/* fall through */
	case CMD_READ_MULTIPLE:
		if (!d->mult)
			ide_abort(d);
		else
			ide_pio_rw(d, lba48, false, d->mult);
		break;
	case CMD_WRITE_EXT:
		lba48 = true;
		/* fall through */
	case CMD_WRITE:
	case CMD_WRITE_NORETRY:
		ide_pio_rw(d, lba48, true, 1);
		break;
	case CMD_WRITE_MULTIPLE_EXT:
		lba48 = true;
		/* fall through */
	case CMD_WRITE_MULTIPLE:
		if (!d->mult)
			ide_abort(d);
		else
			ide_pio_rw(d, lba48, true, d->mult);
		break;
	case CMD_READ_DMA_EXT:
		lba48 = true;
		/* fall through */
	case CMD_READ_DMA:
	case CMD_READ_DMA_NORETRY:
		if (ide_rw_setup(d, lba48, false))
			ide_dma_begin(d);
		break;
	case CMD_WRITE_DMA_EXT:
		lba48 = true;
		/* fall through */
	case CMD_WRITE_DMA:
	case CMD_WRITE_DMA_NORETRY:
		if (ide_rw_setup(d, lba48, true))
			ide_dma_begin(d);
		break;
	case CMD_VERIFY_EXT:
		lba48 = true;
		/* fall through */
	case CMD_VERIFY:
	case CMD_VERIFY_NORETRY:
		/* nothing to verify on an image: only the range is checked */
		if (ide_rw_setup(d, lba48, false))
			ide_cmd_done(d);
		break;
	case CMD_SET_MULTIPLE:
		if (ch->nsector > MAX_MULT || (ch->nsector & (ch->nsector - 1))) {
			ide_abort(d);
		} else {
			d->mult = ch->nsector;
			ide_cmd_done(d);
		}
		break;
	case CMD_SET_FEATURES:
		switch (ch->feature) {
		case 0x02: case 0x82:	/* write cache on/off: writes are flushed on FLUSH */
		case 0x03:		/* transfer mode */
		case 0x66: case 0xcc:	/* keep/revert to power-on defaults */
		case 0xaa: case 0x55:	/* read look-ahead */
			ide_cmd_done(d);
			break;
		default:
			ide_abort(d);
			break;
		}
		break;
	case CMD_FLUSH:
	case CMD_FLUSH_EXT:
		if (d->cdrom)
			ide_cmd_done(d);
		else
			ide_flush(d);
		break;
	case CMD_DIAGNOSTIC:
		ide_soft_reset(ch);
		ch->drive[0].error = 0x01;
		ch->drive[0].status = ch->drive[0].cdrom ? 0 : ATA_DRDY | ATA_DSC;
		ide_set_irq(ch);
		break;
	case CMD_SPECIFY:
	case CMD_SEEK:
	case CMD_IDLE:
	case CMD_IDLE_IMMEDIATE:
	case CMD_STANDBY:
	case CMD_STANDBY_IMMEDIATE:
	case CMD_SLEEP:
		ide_cmd_done(d);
		break;
	case CMD_CHECK_POWER:
		ch->nsector = 0xff;	/* active or idle */
		ide_cmd_done(d);
		break;
	default:
		if ((cmd & 0xf0) == CMD_RECALIBRATE) {
			ide_cmd_done(d);
			break;
		}
		if (ch->vm->cfg.debug_mask & DEBUG_UNIMP)
			log_debug("ide: command 0x%02x not supported", cmd);
		ide_abort(d);
		break;
	}
}

/* ---- registers ---- */

static uint32_t ide_data_read(struct ide_drive *d, unsigned size)
{
	if (d->xfer != IDE_XFER_PIO_IN || d->data_pos >= d->data_end)
		return 0xffffffffu >> (32 - 8 * size);
	uint32_t v = 0;
	for (unsigned i = 0; i < size && d->data_pos < d->data_end; i++)
		v |= (uint32_t)d->buf[d->data_pos++] << (8 * i);
	if (d->data_pos >= d->data_end)
		ide_pio_block_done(d);
	return v;
}

uint32_t ide_cmd_read(struct ide_channel *ch, unsigned reg, unsigned size)
{
	struct ide_drive *d = &ch->drive[ch->cur];
	bool hob = ch->devctl & ATA_HOB;
	bool none = !ch->drive[0].blk && !ch->drive[1].blk;
	if (reg == 0)
		return d->blk ? ide_data_read(d, size) : 0xffffffffu >> (32 - 8 * size);
	if (none)
		return 0xff;	/* a floating bus */
	switch (reg) {
	case 1:
		return d->blk ? (hob ? ch->hob_feature : d->error) : 0;
	case 2:
		return hob ? ch->hob_nsector : ch->nsector;
	case 3:
		return hob ? ch->hob_sector : ch->sector;
	case 4:
		return hob ? ch->hob_lcyl : ch->lcyl;
	case 5:
		return hob ? ch->hob_hcyl : ch->hcyl;
	case 6:
		return ch->select;
	case 7:
		ide_clear_irq(ch);
		return d->blk ? d->status : 0;
	default:
		return 0xff;
	}
}

static void ide_data_write(struct ide_drive *d, unsigned size, uint32_t v)
{
	if ((d->xfer != IDE_XFER_PIO_OUT && d->xfer != IDE_XFER_PACKET) ||
	    d->data_pos >= d->data_end)
		return;
	for (unsigned i = 0; i < size && d->data_pos < d->data_end; i++)
		d->buf[d->data_pos++] = (uint8_t)(v >> (8 * i));
	if (d->data_pos >= d->data_end)
		ide_pio_block_done(d);
}

void ide_cmd_write(struct ide_channel *ch, unsigned reg, unsigned size, uint32_t value)
{
	uint8_t v = (uint8_t)value;
	if (reg == 0) {
		struct ide_drive *d = &ch->drive[ch->cur];
		if (d->blk)
			ide_data_write(d, size, value);
		return;
	}
	/* writing the task file clears HOB */
	ch->devctl &= (uint8_t)~ATA_HOB;
	switch (reg) {
	case 1:
		ch->hob_feature = ch->feature;
		ch->feature = v;
		break;
	case 2:
		ch->hob_nsector = ch->nsector;
		ch->nsector = v;
		break;
	case 3:
		ch->hob_sector = ch->sector;
		ch->sector = v;
		break;
	case 4:
		ch->hob_lcyl = ch->lcyl;
		ch->lcyl = v;
		break;
	case 5:
		ch->hob_hcyl = ch->hcyl;
		ch->hcyl = v;
		break;
	case 6:
		ch->select = v | 0xa0;
		ch->cur = (v >> 4) & 1;
		break;
	case 7:
		ide_exec(ch, v);
		break;
	default:
		break;
	}
}

uint8_t ide_ctl_read(struct ide_channel *ch)
{
	struct ide_drive *d = &ch->drive[ch->cur];
	if (!ch->drive[0].blk && !ch->drive[1].blk)
		return 0xff;
	return d->blk ? d->status : 0;
}

void ide_ctl_write(struct ide_channel *ch, uint8_t value)
{
	/* SRST: the drives reset while it is set, and come back when cleared */
	if ((value & ATA_SRST) && !(ch->devctl & ATA_SRST)) {
		ide_soft_reset(ch);
		for (int i = 0; i < 2; i++)
			if (ch->drive[i].blk)
				ch->drive[i].status |= ATA_BSY;
	} else if (!(value & ATA_SRST) && (ch->devctl & ATA_SRST)) {
		for (int i = 0; i < 2; i++) {
			struct ide_drive *d = &ch->drive[i];
			if (d->blk && !d->io_busy)
				d->status = d->cdrom ? 0 : ATA_DRDY | ATA_DSC;
		}
	}
	ch->devctl = value;
	if (value & ATA_NIEN)
		ide_clear_irq(ch);
}

/* ---- life cycle ---- */

void ide_channel_init(struct ide_channel *ch, struct vm *vm, unsigned irq)
{
	memset(ch, 0, sizeof(*ch));
	ch->vm = vm;
	ch->irq = irq;
	for (unsigned i = 0; i < 2; i++) {
		ch->drive[i].ch = ch;
		ch->drive[i].unit = i;
	}
}

int ide_drive_attach(struct ide_channel *ch, unsigned unit, struct blk *blk, bool cdrom,
		     const char *serial)
{
	struct ide_drive *d = &ch->drive[unit & 1];
	d->buf = calloc(1, IDE_BUF_SIZE);
	if (!d->buf)
		return -ENOMEM;
	d->blk = blk;
	d->cdrom = cdrom;
	d->sectors = blk_size(blk) / ide_sector_size(d);
	snprintf(d->serial, sizeof(d->serial), "%s", serial ? serial : "QM0000");
	return 0;
}

void ide_channel_reset(struct ide_channel *ch)
{
	for (int i = 0; i < 2; i++)
		if (ch->drive[i].blk)
			blk_drain(ch->drive[i].blk);
	pthread_mutex_lock(&ch->vm->dev_lock);
	ide_clear_irq(ch);
	ch->devctl = 0;
	ch->bm_cmd = ch->bm_status = 0;
	ch->bm_prdt = 0;
	ide_soft_reset(ch);
	for (int i = 0; i < 2; i++)
		ch->drive[i].media_changed = false;
	pthread_mutex_unlock(&ch->vm->dev_lock);
}

void ide_channel_destroy(struct ide_channel *ch)
{
	for (int i = 0; i < 2; i++) {
		struct ide_drive *d = &ch->drive[i];
		if (d->blk)
			blk_close(d->blk);
		free(d->buf);
		d->blk = NULL;
		d->buf = NULL;
	}
}
