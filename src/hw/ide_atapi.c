/* The ATAPI CD-ROM: SCSI/MMC packet commands over the IDE channel, what
 * Linux's sr driver and a BIOS's El Torito boot use: TEST UNIT READY,
 * REQUEST SENSE, INQUIRY, READ CAPACITY, READ(10)/(12) by PIO or DMA,
 * MODE SENSE, READ TOC, GET CONFIGURATION, GET EVENT STATUS NOTIFICATION,
 * MECHANISM STATUS, START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL.  The
 * medium is the read-only image; it cannot be ejected or changed.
 * Anything else ends in CHECK CONDITION with ILLEGAL REQUEST sense. */
#include <string.h>

#include "hw/ide.h"

#include "core/vm.h"
#include "mem/dma.h"

/* Interrupt reason (the sector count register) */
#define IR_COD 0x01
#define IR_IO 0x02

/* Sense keys and additional sense codes */
#define SENSE_NONE 0x0
#define SENSE_NOT_READY 0x2
#define SENSE_MEDIUM_ERROR 0x3
#define SENSE_ILLEGAL_REQUEST 0x5
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD 0x24
#define ASC_READ_ERROR 0x11
#define ASC_INCOMPATIBLE_FORMAT 0x30
#define ASC_SAVING_NOT_SUPPORTED 0x39

#define GPCMD_TEST_UNIT_READY 0x00
#define GPCMD_REQUEST_SENSE 0x03
#define GPCMD_INQUIRY 0x12
#define GPCMD_MODE_SENSE_6 0x1a
#define GPCMD_START_STOP_UNIT 0x1b
#define GPCMD_PREVENT_ALLOW 0x1e
#define GPCMD_READ_CAPACITY 0x25
#define GPCMD_READ_10 0x28
#define GPCMD_SEEK_10 0x2b
#define GPCMD_READ_TOC 0x43
#define GPCMD_GET_CONFIGURATION 0x46
#define GPCMD_GET_EVENT_STATUS 0x4a
#define GPCMD_MODE_SENSE_10 0x5a
#define GPCMD_READ_12 0xa8
#define GPCMD_SET_SPEED 0xbb
#define GPCMD_MECHANISM_STATUS 0xbd

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return be16(p) << 16 | be16(p + 2);
}

void atapi_reset_signature(struct ide_channel *ch, struct ide_drive *d)
{
	(void)d;
	ch->lcyl = 0x14;
	ch->hcyl = 0xeb;
}

void atapi_identify(struct ide_drive *d, uint8_t *id)
{
	memset(id, 0, 512);
	/* ATAPI, CD-ROM, removable, DRQ within 50 us, 12-byte packets */
	id[0] = 0xc0;
	id[1] = 0x85;
	ide_put_string(id, 10, 10, d->serial);
	ide_put_string(id, 23, 4, "1.0");
	ide_put_string(id, 27, 20, "MINIVMM DVD-ROM");
	id[96] = 1;			/* word 48 */
	id[99] = (1 << 1) | (1 << 0);	/* word 49: LBA, DMA */
	id[106] = 7;			/* words 64-70 and 88 valid */
	id[126] = 0x07;			/* multiword DMA 0-2 */
	id[128] = 0x03;			/* PIO 3-4 */
	for (int w = 65; w <= 68; w++)
		id[2 * w] = 120;
	id[160] = 0x1e;			/* ATA/ATAPI-4 to -7 */
	id[165] = 0x40;			/* word 82: bit 14 */
	id[164] = 0x10;			/* PACKET feature set */
	id[167] = 0x40;
	id[169] = 0x40;
	id[170] = 0x10;
	id[175] = 0x40;
	id[176] = 0x3f;			/* UDMA 0-5 */
	id[177] = 0x20;			/* mode 5 selected */
	id[186] = 0x01;
	id[187] = 0x60;
}

/* The command ends without data: status, interrupt reason "to host,
 * command" and an interrupt */
static void atapi_ok(struct ide_drive *d)
{
	d->packet_reply = false;
	d->ch->nsector = IR_IO | IR_COD;
	d->sense_key = d->asc = d->ascq = 0;
	ide_cmd_done(d);
}

static void atapi_check(struct ide_drive *d, uint8_t key, uint8_t asc)
{
	d->packet_reply = false;
	d->dma_reply = false;
	d->xfer = IDE_XFER_NONE;
	d->sense_key = key;
	d->asc = asc;
	d->ascq = 0;
	d->error = (uint8_t)(key << 4 | ATA_ABRT);
	d->status = ATA_DRDY | ATA_ERR;
	d->ch->nsector = IR_IO | IR_COD;
	ide_set_irq(d->ch);
}

/* The byte count of the next DRQ block: what is left of the reply (or of
 * the chunk in buf), at most the limit the driver set, kept even */
static uint32_t atapi_block_len(struct ide_drive *d, uint32_t avail)
{
	uint32_t limit = d->atapi_limit;
	if (limit == 0 || limit > 0xfffe)
		limit = 0xfffe;
	limit &= ~1u;
	return avail < limit ? avail : limit;
}

static void atapi_send_block(struct ide_drive *d, uint32_t at, uint32_t len)
{
	struct ide_channel *ch = d->ch;
	d->packet_reply = true;
	d->xfer = IDE_XFER_PIO_IN;
	d->block_start = d->data_pos = at;
	d->data_end = at + len;
	ch->lcyl = (uint8_t)len;
	ch->hcyl = (uint8_t)(len >> 8);
	ch->nsector = IR_IO;
	d->status = ATA_DRDY | ATA_DRQ;
	ide_set_irq(ch);
}

/* Copy a reply in buf to the guest through the bus master's PRDs */
void atapi_dma_reply(struct ide_drive *d, uint32_t len)
{
	struct ide_channel *ch = d->ch;
	ch->prd_addr = ch->bm_prdt;
	ch->prd_off = 0;
	ch->prd_end = false;
	d->dma_reply = false;
	/* the reply is at most one buffer, the PRDs may give it in pieces */
	if (ide_prd_walk(ch, d, len) != (int64_t)len) {
		ch->bm_status = (uint8_t)((ch->bm_status & ~BM_ACTIVE) | BM_ERROR);
		atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	uint32_t done = 0;
	for (unsigned i = 0; i < d->req.iovcnt; i++) {
		memcpy(d->iov[i].iov_base, d->buf + done, d->iov[i].iov_len);
		dma_mark_written(ch->vm, d->dma_gpa[i], d->iov[i].iov_len);
		done += (uint32_t)d->iov[i].iov_len;
	}
	ch->bm_status &= (uint8_t)~BM_ACTIVE;
	atapi_ok(d);
}

/* A reply of len bytes in buf, of which the driver takes at most alloc */
static void atapi_reply(struct ide_drive *d, uint32_t len, uint32_t alloc)
{
	if (len > alloc)
		len = alloc;
	d->left = 0;
	d->dma_bytes = len;
	if (len == 0) {
		atapi_ok(d);
		return;
	}
	if (d->atapi_dma) {
		/* a driver may start the bus master after sending the packet */
		if (d->ch->bm_cmd & BM_CMD_START) {
			atapi_dma_reply(d, len);
		} else {
			d->xfer = IDE_XFER_DMA;
			d->dma_reply = true;
			d->status = ATA_DRDY | ATA_DRQ;
		}
		return;
	}
	atapi_send_block(d, 0, atapi_block_len(d, len));
}

void atapi_reply_done(struct ide_drive *d)
{
	if (d->data_end < d->dma_bytes) {
		atapi_send_block(d, d->data_end, atapi_block_len(d, d->dma_bytes - d->data_end));
		return;
	}
	if (d->left) {
		/* the next chunk of a READ */
		if (ide_start_io(d) < 0)
			atapi_check(d, SENSE_MEDIUM_ERROR, ASC_READ_ERROR);
		return;
	}
	atapi_ok(d);
}

void atapi_dma_done(struct ide_drive *d)
{
	atapi_ok(d);
}

/* A PIO chunk of a READ came in */
void atapi_io_done(struct ide_drive *d, int ret)
{
	if (ret < 0) {
		atapi_check(d, SENSE_MEDIUM_ERROR, ASC_READ_ERROR);
		return;
	}
	uint32_t blocks = d->dma_bytes / CD_SECTOR;
	d->lba += blocks;
	d->left -= blocks;
	atapi_send_block(d, 0, atapi_block_len(d, d->dma_bytes));
}

static void atapi_read(struct ide_drive *d, uint64_t lba, uint32_t count)
{
	if (lba >= d->sectors || count > d->sectors - lba) {
		atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (count == 0) {
		atapi_ok(d);
		return;
	}
	d->lba = lba;
	d->left = count;
	d->write = false;
	if (d->atapi_dma) {
		d->xfer = IDE_XFER_DMA;
		d->status = ATA_DRDY | ATA_DRQ;
		if (d->ch->bm_cmd & BM_CMD_START)
			ide_bm_start(d->ch);
		return;
	}
	/* a chunk at a time into buf, then DRQ blocks of it */
	d->xfer = IDE_XFER_PIO_IN;
	d->packet_reply = true;
	if (ide_start_io(d) < 0)
		atapi_check(d, SENSE_MEDIUM_ERROR, ASC_READ_ERROR);
}

/* MSF from an LBA, as READ TOC's MSF form gives addresses */
static void lba_to_msf(uint8_t *p, uint32_t lba)
{
	lba += 150;
	p[0] = 0;
	p[1] = (uint8_t)(lba / (75 * 60));
	p[2] = (uint8_t)(lba / 75 % 60);
	p[3] = (uint8_t)(lba % 75);
}

static void atapi_read_toc(struct ide_drive *d, const uint8_t *p)
{
	uint8_t *b = d->buf;
	bool msf = p[1] & 2;
	unsigned format = p[2] & 0x0f;
	uint32_t alloc = be16(p + 7);
	uint32_t len;
	if (format == 0) {
		/* one data track, then the lead-out */
		unsigned start = p[6];
		if (start > 1 && start != 0xaa) {
			atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
			return;
		}
		uint8_t *q = b + 4;
		b[2] = b[3] = 1;
		if (start <= 1) {
			q[1] = 0x14;	/* data track, copy allowed */
			q[2] = 1;
			if (msf)
				lba_to_msf(q + 4, 0);
			else
				put_be32(q + 4, 0);
			q += 8;
		}
		q[1] = 0x14;
		q[2] = 0xaa;
		if (msf)
			lba_to_msf(q + 4, (uint32_t)d->sectors);
		else
			put_be32(q + 4, (uint32_t)d->sectors);
		q += 8;
		len = (uint32_t)(q - b);
	} else if (format == 1) {
		/* multi-session: one session, starting at track 1 */
		memset(b, 0, 12);
		b[2] = b[3] = 1;
		b[5] = 0x14;
		b[6] = 1;
		len = 12;
	} else {
		atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	put_be16(b, len - 2);
	atapi_reply(d, len, alloc);
}

static void atapi_mode_sense(struct ide_drive *d, const uint8_t *p, bool ten)
{
	uint8_t *b = d->buf;
	unsigned page = p[2] & 0x3f, pc = p[2] >> 6;
	uint32_t alloc = ten ? be16(p + 7) : p[4];
	unsigned hdr = ten ? 8 : 4;
	uint32_t len = hdr;
	if (pc == 3) {
		atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED);
		return;
	}
	memset(b, 0, 64);
	if (page == 0x01 || page == 0x3f) {
		/* read/write error recovery */
		b[len] = 0x01;
		b[len + 1] = 6;
		len += 8;
	}
	if (page == 0x2a || page == 0x3f) {
		/* CD capabilities: reads CD-R/RW, DVD-ROM; tray, no eject */
		uint8_t *c = b + len;
		c[0] = 0x2a;
		c[1] = 0x14;
		c[2] = 0x3b;
		c[6] = 0x2d;
		c[7] = 0x00;
		put_be16(c + 8, 706);	/* max speed, kB/s */
		put_be16(c + 10, 2);	/* volume levels */
		put_be16(c + 12, 512);	/* buffer, KiB */
		put_be16(c + 14, 706);
		len += 22;
	}
	if (len == hdr) {
		atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	if (ten) {
		put_be16(b, len - 2);
		b[2] = 0x70;	/* medium type: door closed, no disc info */
	} else {
		b[0] = (uint8_t)(len - 1);
		b[1] = 0x70;
	}
	atapi_reply(d, len, alloc);
}

void atapi_packet(struct ide_drive *d)
{
	uint8_t p[12];
	uint8_t *b = d->buf;
	memcpy(p, d->buf, sizeof(p));
	d->xfer = IDE_XFER_NONE;
	d->packet_reply = false;
	d->left = 0;

	switch (p[0]) {
	case GPCMD_TEST_UNIT_READY:
	case GPCMD_SEEK_10:
	case GPCMD_SET_SPEED:
		atapi_ok(d);
		break;
	case GPCMD_START_STOP_UNIT:
		/* the image stays: loading is fine, ejecting is refused */
		if ((p[4] & 3) == 2)
			atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		else
			atapi_ok(d);
		break;
	case GPCMD_PREVENT_ALLOW:
		atapi_ok(d);
		break;
	case GPCMD_REQUEST_SENSE: {
		memset(b, 0, 18);
		b[0] = 0x70;
		b[2] = d->sense_key;
		b[7] = 10;
		b[12] = d->asc;
		b[13] = d->ascq;
		atapi_reply(d, 18, p[4]);
		break;
	}
	case GPCMD_INQUIRY:
		if (p[1] & 1) {	/* vital product data: not offered */
			atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
			break;
		}
		memset(b, 0, 36);
		b[0] = 0x05;	/* CD/DVD */
		b[1] = 0x80;	/* removable */
		b[2] = 0x00;
		b[3] = 0x21;	/* ATAPI, response format 1 */
		b[4] = 31;
		memcpy(b + 8, "MINIVMM ", 8);
		memcpy(b + 16, "DVD-ROM         ", 16);
		memcpy(b + 32, "1.0 ", 4);
		atapi_reply(d, 36, be16(p + 3));
		break;
	case GPCMD_READ_CAPACITY:
		put_be32(b, (uint32_t)(d->sectors ? d->sectors - 1 : 0));
		put_be32(b + 4, CD_SECTOR);
		atapi_reply(d, 8, 8);
		break;
	case GPCMD_READ_10:
		atapi_read(d, be32(p + 2), be16(p + 7));
		break;
	case GPCMD_READ_12:
		atapi_read(d, be32(p + 2), be32(p + 6));
		break;
	case GPCMD_READ_TOC:
		atapi_read_toc(d, p);
		break;
	case GPCMD_MODE_SENSE_6:
		atapi_mode_sense(d, p, false);
		break;
	case GPCMD_MODE_SENSE_10:
		atapi_mode_sense(d, p, true);
		break;
	case GPCMD_GET_CONFIGURATION: {
		/* the header (current profile DVD-ROM) and the profile list */
		memset(b, 0, 24);
		put_be16(b + 6, 0x0010);
		put_be16(b + 8, 0x0000);	/* feature: profile list */
		b[10] = 0x03;
		b[11] = 8;
		put_be16(b + 12, 0x0010);	/* DVD-ROM */
		b[14] = 1;			/* current */
		put_be16(b + 16, 0x0008);	/* CD-ROM */
		put_be32(b, 20 - 4);
		atapi_reply(d, 20, be16(p + 7));
		break;
	}
	case GPCMD_GET_EVENT_STATUS:
		if (!(p[1] & 1)) {	/* only the polled form */
			atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
			break;
		}
		memset(b, 0, 8);
		put_be16(b, 6);
		b[2] = 0x04;	/* media class */
		b[3] = 0x10;	/* classes supported: media */
		b[5] = 0x02;	/* media present, tray closed */
		atapi_reply(d, 8, be16(p + 7));
		break;
	case GPCMD_MECHANISM_STATUS:
		memset(b, 0, 8);
		atapi_reply(d, 8, be16(p + 8));
		break;
	default:
		atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		break;
	}
}
