/* The PIIX3 IDE function driven through its ports as a driver would: ATA
 * IDENTIFY, PIO and bus-master DMA reads and writes on a disk image,
 * ATAPI packets on a CD-ROM image, and hostile requests (sectors past the
 * end, PRD entries and tables outside guest RAM, PRDs that end early, a
 * random register storm) that must end in error status, never in a touch
 * outside the image or guest RAM. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk_test.h"
#include "hw/ide.h"
#include "hw/pc.h"
#include "hw/pci.h"
#include "platform_vm.h"

#define CMD 0x1f0
#define CTL 0x3f6
#define CMD2 0x170
#define CTL2 0x376
#define DISK_SECTORS 2048	/* 1 MiB */
#define CD_BLOCKS 64
#define RAM (16ull << 20)

static uint16_t bm_base;

static void write_image(const char *path, uint64_t size, uint64_t gen)
{
	uint8_t *buf = malloc(size);
	blk_test_pattern(buf, size, 0, gen);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
}

static struct vm *ide_vm(void)
{
	struct vm *vm = test_vm_new_ram(RAM);
	const char *disk = blk_test_path("disk.img"), *cd = blk_test_path("cd.iso");
	write_image(disk, DISK_SECTORS * 512ull, 1);
	write_image(cd, CD_BLOCKS * 2048ull, 2);
	vm->cfg.drives[0] = blk_test_drive(disk);
	vm->cfg.drives[0].interface = DRIVE_IF_IDE;
	vm->cfg.drives[0].index = 0;
	vm->cfg.drives[1] = blk_test_drive(cd);
	vm->cfg.drives[1].interface = DRIVE_IF_IDE;
	vm->cfg.drives[1].index = 2;
	vm->cfg.drives[1].cdrom = vm->cfg.drives[1].readonly = true;
	vm->cfg.nr_drives = 2;
	CHECK_EQ(pci_host_create(vm, &vm->pci), 0);
	CHECK_EQ(piix_ide_create(vm), 0);
	pci_bus_assign_bars(vm->pci);
	outl(vm, 0xcf8, 0x80000000u | PCI_DEVFN(1, 1) << 8 | 0x20);
	bm_base = (uint16_t)(inl(vm, 0xcfc) & ~3u);
	CHECK(bm_base >= 0xc000);
	/* bus mastering on */
	outl(vm, 0xcf8, 0x80000000u | PCI_DEVFN(1, 1) << 8 | 0x04);
	outw(vm, 0xcfc, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	return vm;
}

/* Poll the alternate status until BSY goes (the block layer completes on
 * its own threads) */
static uint8_t wait_ready(struct vm *vm, uint16_t ctl)
{
	for (int i = 0; i < 5000; i++) {
		uint8_t s = (uint8_t)inb(vm, ctl);
		if (!(s & ATA_BSY))
			return s;
		usleep(1000);
	}
	CHECK(!"the drive stays busy");
	return 0xff;
}

static void lba_cmd(struct vm *vm, uint16_t cmd, uint32_t lba, uint8_t count, uint8_t op)
{
	outb(vm, cmd + 6, 0xe0 | (lba >> 24 & 0x0f));
	outb(vm, cmd + 2, count);
	outb(vm, cmd + 3, lba & 0xff);
	outb(vm, cmd + 4, lba >> 8 & 0xff);
	outb(vm, cmd + 5, lba >> 16 & 0xff);
	outb(vm, cmd + 7, op);
}

static void pio_in(struct vm *vm, uint16_t cmd, void *buf, size_t len)
{
	uint16_t *p = buf;
	for (size_t i = 0; i < len / 2; i++)
		p[i] = (uint16_t)inw(vm, cmd);
}

TEST(identify_and_pio)
{
	struct vm *vm = ide_vm();
	uint8_t id[512], buf[1024], want[1024];

	/* IDENTIFY: the model and the size */
	outb(vm, CMD + 6, 0xa0);
	outb(vm, CMD + 7, 0xec);
	CHECK_EQ(wait_ready(vm, CTL) & (ATA_DRQ | ATA_ERR), ATA_DRQ);
	CHECK_EQ(fake_irq_level[14], 1);
	CHECK_EQ(inb(vm, CMD + 7) & ATA_DRQ, ATA_DRQ);	/* reading status drops the line */
	CHECK_EQ(fake_irq_level[14], 0);
	pio_in(vm, CMD, id, sizeof(id));
	CHECK(!memcmp(id + 54, "IMINMV MAHDRIDKS", 16));
	CHECK_EQ(id[120] | id[121] << 8 | id[122] << 16, DISK_SECTORS);
	CHECK_EQ(id[200] | id[201] << 8, DISK_SECTORS);
	CHECK_EQ(inb(vm, CMD + 7) & (ATA_DRQ | ATA_BSY), 0);

	/* READ SECTORS: two sectors, one DRQ block each */
	lba_cmd(vm, CMD, 7, 2, 0x20);
	CHECK_EQ(wait_ready(vm, CTL) & (ATA_DRQ | ATA_ERR), ATA_DRQ);
	pio_in(vm, CMD, buf, 512);
	CHECK_EQ(wait_ready(vm, CTL) & ATA_DRQ, ATA_DRQ);
	pio_in(vm, CMD, buf + 512, 512);
	blk_test_pattern(want, sizeof(want), 7 * 512, 1);
	CHECK(!memcmp(buf, want, sizeof(want)));
	CHECK_EQ(inb(vm, CMD + 7) & (ATA_DRQ | ATA_ERR), 0);

	/* WRITE SECTORS, then read back with READ MULTIPLE (LBA48) */
	memset(buf, 0x5a, 512);
	lba_cmd(vm, CMD, 100, 1, 0x30);
	CHECK_EQ(wait_ready(vm, CTL) & ATA_DRQ, ATA_DRQ);
	for (int i = 0; i < 256; i++)
		outw(vm, CMD, 0x5a5a);
	CHECK_EQ(wait_ready(vm, CTL) & (ATA_DRQ | ATA_ERR), 0);
	outb(vm, CMD + 2, 0);	/* HOB first, then the low bytes */
	outb(vm, CMD + 3, 0);
	outb(vm, CMD + 4, 0);
	outb(vm, CMD + 5, 0);
	lba_cmd(vm, CMD, 99, 2, 0x29);
	CHECK_EQ(wait_ready(vm, CTL) & (ATA_DRQ | ATA_ERR), ATA_DRQ);
	pio_in(vm, CMD, buf, 1024);
	blk_test_pattern(want, 512, 99 * 512, 1);
	CHECK(!memcmp(buf, want, 512));
	for (int i = 512; i < 1024; i++)
		CHECK_EQ(buf[i], 0x5a);

	/* past the end: IDNF, nothing read */
	lba_cmd(vm, CMD, DISK_SECTORS - 1, 2, 0x20);
	CHECK_EQ(wait_ready(vm, CTL) & (ATA_ERR | ATA_DRQ), ATA_ERR);
	CHECK_EQ(inb(vm, CMD + 1) & ATA_IDNF, ATA_IDNF);
	/* CHS sector 0 does not exist */
	outb(vm, CMD + 6, 0xa0);
	outb(vm, CMD + 3, 0);
	outb(vm, CMD + 7, 0x20);
	CHECK_EQ(wait_ready(vm, CTL) & ATA_ERR, ATA_ERR);
	/* an unknown command aborts */
	outb(vm, CMD + 7, 0xfe);
	CHECK_EQ(wait_ready(vm, CTL) & ATA_ERR, ATA_ERR);
	CHECK_EQ(inb(vm, CMD + 1), ATA_ABRT);
	/* the absent slave reads 0 and ignores commands */
	outb(vm, CMD + 6, 0xb0);
	CHECK_EQ(inb(vm, CMD + 7), 0);
	outb(vm, CMD + 7, 0xec);
	CHECK_EQ(inb(vm, CMD + 7), 0);
	test_vm_free(vm);
}

/* A PRD table at table: entries of (addr, count), the last with EOT */
static void prd_table(struct vm *vm, uint32_t table, const uint32_t (*e)[2], int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t d[8];
		uint32_t flags = (uint32_t)(e[i][1] & 0xffff) | (i == n - 1 ? 0x80000000u : 0);
		memcpy(d, &e[i][0], 4);
		memcpy(d + 4, &flags, 4);
		CHECK_EQ(guest_mem_write(&vm->mem, table + 8u * i, d, 8), 0);
	}
}

static uint8_t dma_cmd(struct vm *vm, uint32_t table, uint32_t lba, uint8_t count, uint8_t op)
{
	outl(vm, bm_base + 4, table);
	outb(vm, bm_base + 2, BM_INTR | BM_ERROR);	/* clear */
	lba_cmd(vm, CMD, lba, count, op);
	outb(vm, bm_base, BM_CMD_START | (op == 0xc8 ? BM_CMD_READ : 0));
	uint8_t s = wait_ready(vm, CTL);
	outb(vm, bm_base, 0);
	return s;
}

TEST(bus_master_dma)
{
	struct vm *vm = ide_vm();
	uint8_t want[4096], got[4096];

	/* three pieces, odd sizes that add up to whole sectors */
	static const uint32_t prds[][2] = { { 0x10000, 1000 }, { 0x20000, 24 }, { 0x30000, 1024 } };
	prd_table(vm, 0x8000, prds, 3);
	uint8_t s = dma_cmd(vm, 0x8000, 20, 4, 0xc8);
	CHECK_EQ(s & (ATA_ERR | ATA_DRQ | ATA_BSY), 0);
	CHECK_EQ(inb(vm, bm_base + 2) & (BM_INTR | BM_ERROR | BM_ACTIVE), BM_INTR);
	blk_test_pattern(want, 2048, 20 * 512, 1);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x10000, got, 1000), 0);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x20000, got + 1000, 24), 0);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x30000, got + 1024, 1024), 0);
	CHECK(!memcmp(got, want, 2048));

	/* write by DMA, read back by DMA */
	memset(got, 0xc3, 1024);
	CHECK_EQ(guest_mem_write(&vm->mem, 0x40000, got, 1024), 0);
	static const uint32_t one[][2] = { { 0x40000, 1024 } };
	prd_table(vm, 0x8000, one, 1);
	CHECK_EQ(dma_cmd(vm, 0x8000, 300, 2, 0xca) & ATA_ERR, 0);
	static const uint32_t back[][2] = { { 0x50000, 1024 } };
	prd_table(vm, 0x8100, back, 1);
	CHECK_EQ(dma_cmd(vm, 0x8100, 300, 2, 0xc8) & ATA_ERR, 0);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x50000, got, 1024), 0);
	for (int i = 0; i < 1024; i++)
		CHECK_EQ(got[i], 0xc3);

	/* a count of 0 is 64 KiB */
	static const uint32_t big[][2] = { { 0x100000, 0 } };
	prd_table(vm, 0x8000, big, 1);
	CHECK_EQ(dma_cmd(vm, 0x8000, 0, 128, 0xc8) & ATA_ERR, 0);

	/* hostile: a buffer outside RAM, one that runs off its end, a table
	 * outside RAM, PRDs that end before the transfer: errors, and RAM
	 * past the PRDs untouched */
	static const uint32_t out[][2] = { { 0xf0000000u, 512 } };
	prd_table(vm, 0x8000, out, 1);
	CHECK_EQ(dma_cmd(vm, 0x8000, 0, 1, 0xc8) & ATA_ERR, ATA_ERR);
	CHECK_EQ(inb(vm, bm_base + 2) & BM_ERROR, BM_ERROR);
	static const uint32_t edge[][2] = { { (uint32_t)RAM - 256, 512 } };
	prd_table(vm, 0x8000, edge, 1);
	CHECK_EQ(dma_cmd(vm, 0x8000, 0, 1, 0xc8) & ATA_ERR, ATA_ERR);
	CHECK_EQ(dma_cmd(vm, 0xfff00000u, 0, 1, 0xc8) & ATA_ERR, ATA_ERR);
	memset(got, 0xee, 4096);
	CHECK_EQ(guest_mem_write(&vm->mem, 0x60000, got, 4096), 0);
	static const uint32_t shorty[][2] = { { 0x60000, 512 } };
	prd_table(vm, 0x8000, shorty, 1);
	s = dma_cmd(vm, 0x8000, 0, 4, 0xc8);
	CHECK_EQ(s & ATA_ERR, ATA_ERR);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x60200, got, 1024), 0);
	for (int i = 0; i < 1024; i++)
		CHECK_EQ(got[i], 0xee);
	/* the table runs into the end of RAM without EOT */
	uint32_t last[2] = { 0x60000, 512 };
	CHECK_EQ(guest_mem_write(&vm->mem, RAM - 8, last, 8), 0);
	CHECK_EQ(dma_cmd(vm, (uint32_t)RAM - 8, 0, 8, 0xc8) & ATA_ERR, ATA_ERR);
	/* the drive still works */
	prd_table(vm, 0x8000, one, 1);
	CHECK_EQ(dma_cmd(vm, 0x8000, 300, 2, 0xc8) & ATA_ERR, 0);
	test_vm_free(vm);
}

/* Send a 12-byte packet to the CD-ROM with a byte count limit; returns the
 * status after the command phase */
static uint8_t packet(struct vm *vm, const uint8_t *p, uint16_t limit)
{
	outb(vm, CMD2 + 6, 0xa0);
	outb(vm, CMD2 + 1, 0);
	outb(vm, CMD2 + 4, limit & 0xff);
	outb(vm, CMD2 + 5, limit >> 8);
	outb(vm, CMD2 + 7, 0xa0);
	CHECK_EQ(wait_ready(vm, CTL2) & ATA_DRQ, ATA_DRQ);
	CHECK_EQ(inb(vm, CMD2 + 2) & 3, 1);	/* C/D: the packet */
	for (int i = 0; i < 12; i += 2)
		outw(vm, CMD2, p[i] | p[i + 1] << 8);
	return wait_ready(vm, CTL2);
}

/* Read a PIO reply of DRQ blocks into buf; returns the bytes */
static size_t reply(struct vm *vm, uint8_t *buf, size_t max)
{
	size_t n = 0;
	while (wait_ready(vm, CTL2) & ATA_DRQ) {
		size_t len = inb(vm, CMD2 + 4) | inb(vm, CMD2 + 5) << 8;
		CHECK_EQ(inb(vm, CMD2 + 2) & 3, 2);	/* I/O: to the host */
		CHECK(len > 0 && n + len <= max);
		if (len == 0 || n + len > max)
			break;
		pio_in(vm, CMD2, buf + n, len);
		n += len;
	}
	return n;
}

TEST(atapi_cdrom)
{
	struct vm *vm = ide_vm();
	uint8_t buf[8192], want[4096];

	/* IDENTIFY DEVICE aborts with the ATAPI signature */
	outb(vm, CMD2 + 6, 0xa0);
	outb(vm, CMD2 + 7, 0xec);
	CHECK_EQ(wait_ready(vm, CTL2) & ATA_ERR, ATA_ERR);
	CHECK_EQ(inb(vm, CMD2 + 4), 0x14);
	CHECK_EQ(inb(vm, CMD2 + 5), 0xeb);
	outb(vm, CMD2 + 7, 0xa1);
	CHECK_EQ(wait_ready(vm, CTL2) & ATA_DRQ, ATA_DRQ);
	pio_in(vm, CMD2, buf, 512);
	CHECK_EQ(buf[1], 0x85);

	static const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36 };
	packet(vm, inquiry, 0xfffe);
	CHECK_EQ(reply(vm, buf, sizeof(buf)), 36);
	CHECK_EQ(buf[0], 0x05);
	CHECK(!memcmp(buf + 8, "MINIVMM ", 8));
	CHECK_EQ(inb(vm, CMD2 + 2) & 3, 3);	/* done */

	static const uint8_t capacity[12] = { 0x25 };
	packet(vm, capacity, 8);
	CHECK_EQ(reply(vm, buf, sizeof(buf)), 8);
	CHECK_EQ(buf[3], CD_BLOCKS - 1);
	CHECK_EQ(buf[6], 0x08);

	/* READ(10) of two blocks in DRQ blocks of at most 1000 bytes */
	static const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 5, 0, 0, 2 };
	packet(vm, read10, 1000);
	CHECK_EQ(reply(vm, buf, sizeof(buf)), 4096);
	blk_test_pattern(want, 4096, 5 * 2048, 2);
	CHECK(!memcmp(buf, want, 4096));
	CHECK_EQ(inb(vm, CMD2 + 7) & (ATA_ERR | ATA_DRQ), 0);

	/* READ(10) by DMA */
	static const uint32_t prd[][2] = { { 0x70000, 4096 } };
	prd_table(vm, 0x9000, prd, 1);
	outl(vm, bm_base + 8 + 4, 0x9000);
	outb(vm, bm_base + 8, BM_CMD_START | BM_CMD_READ);
	outb(vm, CMD2 + 1, 1);	/* DMA */
	outb(vm, CMD2 + 7, 0xa0);
	CHECK_EQ(wait_ready(vm, CTL2) & ATA_DRQ, ATA_DRQ);
	for (int i = 0; i < 12; i += 2)
		outw(vm, CMD2, read10[i] | read10[i + 1] << 8);
	CHECK_EQ(wait_ready(vm, CTL2) & (ATA_ERR | ATA_DRQ), 0);
	outb(vm, bm_base + 8, 0);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x70000, buf, 4096), 0);
	CHECK(!memcmp(buf, want, 4096));
	/* INQUIRY by DMA with the bus master started after the packet, as
	 * Linux's libata does */
	outb(vm, CMD2 + 1, 1);
	outb(vm, CMD2 + 7, 0xa0);
	CHECK_EQ(wait_ready(vm, CTL2) & ATA_DRQ, ATA_DRQ);
	for (int i = 0; i < 12; i += 2)
		outw(vm, CMD2, inquiry[i] | inquiry[i + 1] << 8);
	CHECK_EQ(wait_ready(vm, CTL2) & ATA_ERR, 0);
	outb(vm, bm_base + 8, BM_CMD_START | BM_CMD_READ);
	CHECK_EQ(wait_ready(vm, CTL2) & (ATA_ERR | ATA_DRQ), 0);
	outb(vm, bm_base + 8, 0);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x70000, buf, 36), 0);
	CHECK(!memcmp(buf + 8, "MINIVMM ", 8));
	outb(vm, CMD2 + 1, 0);

	/* past the end, an unknown opcode: CHECK CONDITION and the sense */
	static const uint8_t beyond[12] = { 0x28, 0, 0, 0, 0, CD_BLOCKS - 1, 0, 0, 2 };
	CHECK_EQ(packet(vm, beyond, 2048) & ATA_ERR, ATA_ERR);
	CHECK_EQ(inb(vm, CMD2 + 1) >> 4, 5);	/* ILLEGAL REQUEST */
	static const uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
	packet(vm, sense, 18);
	CHECK_EQ(reply(vm, buf, sizeof(buf)), 18);
	CHECK_EQ(buf[2], 5);
	CHECK_EQ(buf[12], 0x21);
	static const uint8_t bogus[12] = { 0xff };
	CHECK_EQ(packet(vm, bogus, 2048) & ATA_ERR, ATA_ERR);
	static const uint8_t huge[12] = { 0xa8, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	CHECK_EQ(packet(vm, huge, 2048) & ATA_ERR, ATA_ERR);
	/* writes are not in the command set of a CD-ROM */
	static const uint8_t write10[12] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1 };
	CHECK_EQ(packet(vm, write10, 2048) & ATA_ERR, ATA_ERR);
	/* the TOC: one track and the lead-out */
	static const uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 100 };
	packet(vm, toc, 100);
	CHECK_EQ(reply(vm, buf, sizeof(buf)), 20);
	CHECK_EQ(buf[3], 1);
	CHECK_EQ(buf[14], 0xaa);
	test_vm_free(vm);
}

TEST(register_storm_and_reset)
{
	struct vm *vm = ide_vm();
	uint64_t seed = 0x1de;
	static const uint16_t ports[] = { CMD, CMD + 1, CMD + 2, CMD + 3, CMD + 4, CMD + 5,
					  CMD + 6, CMD + 7, CTL, CMD2, CMD2 + 1, CMD2 + 2,
					  CMD2 + 3, CMD2 + 4, CMD2 + 5, CMD2 + 6, CMD2 + 7, CTL2 };
	/* PRDs that point at scattered RAM and at nothing */
	for (uint32_t a = 0x8000; a < 0x9000; a += 8) {
		uint32_t e[2] = { (uint32_t)blk_test_rand(&seed), (uint32_t)blk_test_rand(&seed) };
		CHECK_EQ(guest_mem_write(&vm->mem, a, e, 8), 0);
	}
	for (int i = 0; i < 200000; i++) {
		uint64_t r = blk_test_rand(&seed);
		unsigned which = r % (sizeof(ports) / sizeof(ports[0]) + 4);
		uint16_t port = which < sizeof(ports) / sizeof(ports[0]) ?
					ports[which] : (uint16_t)(bm_base + (r >> 8) % 16);
		unsigned size = 1u << ((r >> 16) % 3);
		if (r >> 20 & 1)
			io_bus_write(&vm->pio, port, size, r >> 24);
		else
			(void)inb(vm, port);
		if (i % 4096 == 0)
			usleep(100);
	}
	/* SRST, then a machine reset: both drives answer again */
	outb(vm, CTL, ATA_SRST);
	outb(vm, CTL, 0);
	for (int i = 0; i < vm->nr_devices; i++)
		if (!strcmp(vm->devices[i].name, "piix3-ide"))
			vm->devices[i].reset(vm->devices[i].opaque);
	outb(vm, CMD + 6, 0xa0);
	outb(vm, CMD + 7, 0xec);
	CHECK_EQ(wait_ready(vm, CTL) & (ATA_DRQ | ATA_ERR), ATA_DRQ);
	test_vm_free(vm);
}

RUN_TESTS(T(identify_and_pio), T(bus_master_dma), T(atapi_cdrom), T(register_storm_and_reset))
