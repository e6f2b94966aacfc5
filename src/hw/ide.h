/* IDE: two ATA channels, each with a master and a slave that is an ATA
 * disk or an ATAPI CD-ROM, behind the PIIX3 IDE function (piix_ide.c),
 * which adds bus-master DMA.  ide.c is the channel and the ATA command
 * set, ide_atapi.c the ATAPI packet commands (MMC) of the CD-ROM.
 *
 * Everything the guest gives is checked: sector numbers against the
 * disk, transfer sizes against the buffer, PRD entries against guest RAM;
 * a bad request ends with ERR/ABRT (ATA) or CHECK CONDITION with sense
 * data (ATAPI) and an interrupt, never with a touch outside the disk or
 * guest RAM.  Disk I/O is asynchronous: the drive shows BSY until the
 * block layer completes on its own thread, which takes vm->dev_lock. */
#ifndef MINIVMM_IDE_H
#define MINIVMM_IDE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block/block.h"

struct vm;

#define IDE_SECTOR 512
#define CD_SECTOR 2048
/* the PIO buffer: an ATAPI reply or up to 64 KiB of sectors at a time */
#define IDE_BUF_SIZE 0x10000
#define IDE_MAX_IOV 64		/* guest buffers per DMA chunk */
#define IDE_DMA_CHUNK (1u << 20)	/* bytes per DMA chunk */

/* Status and error bits */
#define ATA_ERR 0x01
#define ATA_DRQ 0x08
#define ATA_DSC 0x10
#define ATA_DF 0x20
#define ATA_DRDY 0x40
#define ATA_BSY 0x80
#define ATA_ABRT 0x04
#define ATA_IDNF 0x10
#define ATA_UNC 0x40

/* Device control */
#define ATA_NIEN 0x02
#define ATA_SRST 0x04
#define ATA_HOB 0x80

/* Bus master status */
#define BM_ACTIVE 0x01
#define BM_ERROR 0x02
#define BM_INTR 0x04
#define BM_CMD_START 0x01
#define BM_CMD_READ 0x08	/* bus master writes to memory (a device read) */

enum ide_xfer {
	IDE_XFER_NONE,
	IDE_XFER_PIO_IN,	/* the guest reads the data register */
	IDE_XFER_PIO_OUT,	/* the guest writes it */
	IDE_XFER_PACKET,	/* the guest writes a 12-byte ATAPI packet */
	IDE_XFER_DMA,		/* waiting for, or doing, bus-master DMA */
};

struct ide_channel;

struct ide_drive {
	struct ide_channel *ch;
	unsigned unit;		/* 0 master, 1 slave */
	struct blk *blk;	/* NULL: no drive */
	bool cdrom;
	uint64_t sectors;	/* disk: 512-byte sectors; CD-ROM: 2048-byte blocks */
	char serial[21];
	uint8_t status, error;
	uint8_t mult;		/* READ/WRITE MULTIPLE sectors per DRQ block */
	/* the command in progress */
	enum ide_xfer xfer;
	bool write, lba48, io_busy;
	uint64_t lba;		/* next sector (disk) or block (CD-ROM) */
	uint32_t left;		/* sectors or blocks still to move */
	uint32_t drq;		/* sectors per DRQ block (PIO) */
	unsigned gen;		/* a reset makes I/O in flight stale */
	unsigned io_gen;	/* gen when the request in flight was submitted */
	/* PIO: data_pos..data_end of buf is what the guest moves now */
	uint8_t *buf;
	uint32_t data_pos, data_end;
	uint32_t block_start;	/* where the DRQ block began */
	/* ATAPI */
	uint8_t sense_key, asc, ascq;
	bool media_changed;	/* UNIT ATTENTION once, after reset */
	uint32_t atapi_bytes;	/* reply bytes still to go to the guest */
	uint32_t atapi_limit;	/* byte count limit of the packet's DRQ blocks */
	bool atapi_dma;
	bool packet_reply;	/* the PIO data is a packet command's */
	bool dma_reply;		/* a reply in buf waits for the bus master */
	/* one block-layer request at a time */
	struct blk_request req;
	struct iovec iov[IDE_MAX_IOV];
	uint64_t dma_gpa[IDE_MAX_IOV];	/* where each iov is, to mark it written */
	uint32_t dma_bytes;	/* bytes of this chunk */
};

struct ide_channel {
	struct vm *vm;
	unsigned irq;
	bool irq_level;
	struct ide_drive drive[2];
	unsigned cur;		/* the selected drive */
	/* the task file, as last written (HOB: the previous write of each) */
	uint8_t feature, nsector, sector, lcyl, hcyl, select;
	uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
	uint8_t devctl;
	/* bus master (piix_ide.c) */
	uint8_t bm_cmd, bm_status;
	uint32_t bm_prdt;
	uint32_t prd_addr;	/* the PRD entry the transfer is at */
	uint32_t prd_off;	/* bytes of it already used */
	bool prd_end;		/* the entry with EOT was used up */
};

/* Set up a channel on irq; drives are added with ide_drive_attach */
void ide_channel_init(struct ide_channel *ch, struct vm *vm, unsigned irq);
/* Give unit a disk or CD-ROM image (the blk is the drive's from now on) */
int ide_drive_attach(struct ide_channel *ch, unsigned unit, struct blk *blk, bool cdrom,
		     const char *serial);
/* Power-on state; waits for I/O in flight, so not under vm->dev_lock */
void ide_channel_reset(struct ide_channel *ch);
void ide_channel_destroy(struct ide_channel *ch);

/* Command block registers (offset 0-7) and the control block register
 * (alternate status, device control), under vm->dev_lock */
uint32_t ide_cmd_read(struct ide_channel *ch, unsigned reg, unsigned size);
void ide_cmd_write(struct ide_channel *ch, unsigned reg, unsigned size, uint32_t value);
uint8_t ide_ctl_read(struct ide_channel *ch);
void ide_ctl_write(struct ide_channel *ch, uint8_t value);
/* The bus master's START bit went on: run a DMA command that waits */
void ide_bm_start(struct ide_channel *ch);

/* ide.c for ide_atapi.c */
void ide_put_string(uint8_t *id, unsigned word, unsigned words, const char *s);
/* Walk the PRD table from the channel's position: up to limit bytes in at
 * most IDE_MAX_IOV pieces; with d, into d->iov (and the position moves
 * on).  The bytes, or -EFAULT when an entry or buffer is not guest RAM. */
int64_t ide_prd_walk(struct ide_channel *ch, struct ide_drive *d, uint32_t limit);
void ide_set_irq(struct ide_channel *ch);
void ide_pio_in(struct ide_drive *d, uint32_t len);
void ide_cmd_done(struct ide_drive *d);
void ide_abort(struct ide_drive *d);
int ide_start_io(struct ide_drive *d);
/* ide_atapi.c */
void atapi_packet(struct ide_drive *d);
void atapi_reply_done(struct ide_drive *d);
void atapi_dma_done(struct ide_drive *d);
void atapi_dma_reply(struct ide_drive *d, uint32_t len);
void atapi_io_done(struct ide_drive *d, int ret);
void atapi_identify(struct ide_drive *d, uint8_t *id);
void atapi_reset_signature(struct ide_channel *ch, struct ide_drive *d);

#endif
