/* fw_cfg, QEMU's firmware configuration device, as docs/specs/fw_cfg.rst
 * gives it: the port interface and the DMA interface.
 *
 * Not here yet: the arch-local x86 items (firmware reads them as empty:
 * E820 reservations, ACPI and SMBIOS come as files), guest writes (the
 * write channel and DMA writes are refused), and the kernel, initrd and
 * command line items (FW_CFG_KERNEL_SIZE 0x08, FW_CFG_INITRD_SIZE 0x0b,
 * FW_CFG_CMDLINE_SIZE 0x14 and their data and address items), which come
 * with -kernel under -bios. */
#include "hw/fw_cfg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"
#include "mem/dma.h"

#define FW_CFG_NR_KEYS (FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)

struct fw_cfg_item {
	uint8_t *data;
	uint32_t len;
};

struct fw_cfg_file {
	char name[FW_CFG_MAX_FILE_PATH];
	uint16_t key;
};

struct fw_cfg {
	struct vm *vm;
	struct fw_cfg_item items[FW_CFG_NR_KEYS];	/* by key; empty reads as 0 */
	struct fw_cfg_file files[FW_CFG_MAX_FILES];	/* sorted by name */
	unsigned nr_files;
	bool selected;		/* the selector names an item we have */
	uint16_t key;
	uint32_t offset;	/* next byte of the item to read */
	uint32_t dma_high;	/* the descriptor address's upper half */
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Install a copy of data as item key; the old blob goes */
static int fw_cfg_set_item(struct fw_cfg *fw, uint16_t key, const void *data, uint32_t len)
{
	uint8_t *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	free(fw->items[key].data);
	fw->items[key].data = copy;
	fw->items[key].len = len;
	return 0;
}

int fw_cfg_set_data(struct fw_cfg *fw, uint16_t key, const void *data, uint32_t len)
{
	if (key & ~FW_CFG_ENTRY_MASK || key >= FW_CFG_FILE_FIRST)
		return -EINVAL;
	return fw_cfg_set_item(fw, key, data, len);
}

static int fw_cfg_set_le(struct fw_cfg *fw, uint16_t key, uint64_t value, unsigned bytes)
{
	uint8_t buf[8];
	put_le(buf, value, bytes);
	return fw_cfg_set_item(fw, key, buf, bytes);
}

int fw_cfg_set_int(struct fw_cfg *fw, uint16_t key, uint64_t value, unsigned bytes)
{
	if (key >= FW_CFG_FILE_FIRST || bytes > 8)
		return -EINVAL;
	pthread_mutex_lock(&fw->vm->dev_lock);
	int ret = fw_cfg_set_le(fw, key, value, bytes);
	pthread_mutex_unlock(&fw->vm->dev_lock);
	return ret;
}

int fw_cfg_set_blob(struct fw_cfg *fw, uint16_t addr_key, uint32_t addr, uint16_t size_key,
		    uint16_t data_key, const void *data, size_t len)
{
	int ret;
	if (len > UINT32_MAX)
		return -EINVAL;
	if ((ret = fw_cfg_set_int(fw, addr_key, addr, 4)) < 0 ||
	    (ret = fw_cfg_set_int(fw, size_key, len, 4)) < 0 ||
	    (ret = fw_cfg_set_data(fw, data_key, data, (uint32_t)len)) < 0)
		return ret;
	return 0;
}

/* FW_CFG_FILE_DIR: a big-endian count, then one 64-byte entry a file */
static int fw_cfg_rebuild_dir(struct fw_cfg *fw)
{
	uint32_t len = 4 + fw->nr_files * FW_CFG_FILE_ENTRY_SIZE;
	uint8_t *dir = calloc(1, len);
	if (!dir)
		return -ENOMEM;
	put_be32(dir, fw->nr_files);
	for (unsigned i = 0; i < fw->nr_files; i++) {
		uint8_t *e = dir + 4 + i * FW_CFG_FILE_ENTRY_SIZE;
		const struct fw_cfg_file *f = &fw->files[i];
		put_be32(e, fw->items[f->key].len);
		e[4] = (uint8_t)(f->key >> 8);
		e[5] = (uint8_t)f->key;
		memcpy(e + 8, f->name, strlen(f->name) + 1);
	}
	free(fw->items[FW_CFG_FILE_DIR].data);
	fw->items[FW_CFG_FILE_DIR].data = dir;
	fw->items[FW_CFG_FILE_DIR].len = len;
	return 0;
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len)
{
	size_t name_len = name ? strlen(name) : 0;
	unsigned pos;
	int ret;

	if (!name_len || name_len >= FW_CFG_MAX_FILE_PATH || len > UINT32_MAX || (len && !data))
		return -EINVAL;
	pthread_mutex_lock(&fw->vm->dev_lock);
	for (pos = 0; pos < fw->nr_files; pos++) {
		int c = strcmp(name, fw->files[pos].name);
		if (c == 0) {
			ret = -EEXIST;
			goto out;
		}
		if (c < 0)
			break;
	}
	if (fw->nr_files == FW_CFG_MAX_FILES) {
		ret = -ENOSPC;
		goto out;
	}
	uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + fw->nr_files);
	ret = fw_cfg_set_item(fw, key, data, (uint32_t)len);
	if (ret < 0)
		goto out;
	memmove(&fw->files[pos + 1], &fw->files[pos],
		(fw->nr_files - pos) * sizeof(fw->files[0]));
	memset(&fw->files[pos], 0, sizeof(fw->files[pos]));
	memcpy(fw->files[pos].name, name, name_len + 1);
	fw->files[pos].key = key;
	fw->nr_files++;
	ret = fw_cfg_rebuild_dir(fw);
	if (ret < 0) {
		/* keep the directory and the items consistent */
		fw->nr_files--;
		memmove(&fw->files[pos], &fw->files[pos + 1],
			(fw->nr_files - pos) * sizeof(fw->files[0]));
		fw_cfg_set_item(fw, key, NULL, 0);
	}
out:
	pthread_mutex_unlock(&fw->vm->dev_lock);
	return ret;
}

static void fw_cfg_select(struct fw_cfg *fw, uint16_t selector)
{
	/* the write-channel bit does not change what is read; there are no
	 * arch-local items, so those keys read as nothing */
	fw->key = selector & FW_CFG_ENTRY_MASK;
	fw->selected = !(selector & FW_CFG_ARCH_LOCAL) && fw->key < FW_CFG_NR_KEYS;
	fw->offset = 0;
}

static uint8_t fw_cfg_read_byte(struct fw_cfg *fw)
{
	if (!fw->selected)
		return 0;
	const struct fw_cfg_item *item = &fw->items[fw->key];
	/* past the end reads 0 */
	if (fw->offset >= item->len)
		return 0;
	return item->data[fw->offset++];
}

/* Byte reads at either port return item data, as QEMU's combined port
 * does; the selector is write-only, so a 16-bit read returns 0. */
static uint64_t fw_cfg_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fw_cfg *fw = opaque;
	(void)offset;
	if (size != 1)
		return 0;
	return fw_cfg_read_byte(fw);
}

/* The selector takes a 16-bit write at 0x510.  Byte writes are data
 * writes, which fw_cfg has ignored since QEMU 2.4. */
static void fw_cfg_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct fw_cfg *fw = opaque;
	if (offset == 0 && size == 2)
		fw_cfg_select(fw, (uint16_t)value);
}

static const struct io_ops fw_cfg_ops = {
	.read = fw_cfg_io_read,
	.write = fw_cfg_io_write,
};

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Item bytes from the current offset into guest RAM at gpa, zeros past
 * the item's end; the offset moves on by len.  Guest RAM is checked a
 * chunk at a time before each copy. */
static int fw_cfg_dma_read(struct fw_cfg *fw, uint64_t gpa, uint32_t len)
{
	static const uint8_t zeros[4096];
	const struct fw_cfg_item *item = fw->selected ? &fw->items[fw->key] : NULL;
	while (len) {
		uint32_t n;
		const uint8_t *src;
		if (item && fw->offset < item->len) {
			n = item->len - fw->offset;
			src = item->data + fw->offset;
		} else {
			n = sizeof(zeros);
			src = zeros;
		}
		if (n > len)
			n = len;
		if (dma_write(fw->vm, gpa, src, n) < 0)
			return -EFAULT;
		gpa += n;
		len -= n;
		fw->offset = fw->offset + n < fw->offset ? UINT32_MAX : fw->offset + n;
	}
	return 0;
}

void fw_cfg_dma(struct fw_cfg *fw, uint64_t desc)
{
	uint8_t d[16];
	if (guest_mem_read(&fw->vm->mem, desc, d, sizeof(d)) < 0) {
		/* nowhere to report it: the guest sees its control word unchanged */
		if (fw->vm->cfg.debug_mask & DEBUG_GUEST_ERRORS)
			log_debug("fw_cfg: DMA descriptor at 0x%llx is not RAM",
				  (unsigned long long)desc);
		return;
	}
	uint32_t control = get_be32(d), len = get_be32(d + 4);
	uint64_t addr = (uint64_t)get_be32(d + 8) << 32 | get_be32(d + 12);
	bool error = false;

	if (control & FW_CFG_DMA_SELECT)
		fw_cfg_select(fw, (uint16_t)(control >> 16));
	if (control & FW_CFG_DMA_READ) {
		if (addr + len < addr || fw_cfg_dma_read(fw, addr, len) < 0)
			error = true;
	} else if (control & FW_CFG_DMA_WRITE) {
		error = true;	/* no item takes writes */
	} else if (control & FW_CFG_DMA_SKIP) {
		fw->offset = fw->offset + len < fw->offset ? UINT32_MAX : fw->offset + len;
	}
	uint8_t status[4] = { 0, 0, 0, error ? FW_CFG_DMA_ERROR : 0 };
	(void)dma_write(fw->vm, desc, status, sizeof(status));
}

/* Reads give the signature; a 32-bit write to 0x514 holds the upper half
 * of the descriptor address, one to 0x518 the lower half and starts the
 * transfer, as the big-endian 64-bit register of the spec */
static uint64_t fw_cfg_dma_io_read(void *opaque, uint64_t offset, unsigned size)
{
	static const char sig[] = FW_CFG_DMA_SIGNATURE;
	uint64_t v = 0;
	(void)opaque;
	for (unsigned i = 0; i < size && offset + i < 8; i++)
		v |= (uint64_t)(uint8_t)sig[offset + i] << (8 * i);
	return v;
}

static uint32_t bswap32_u(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

static void fw_cfg_dma_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct fw_cfg *fw = opaque;
	if (size != 4)
		return;
	if (offset == 0) {
		fw->dma_high = bswap32_u((uint32_t)value);
	} else if (offset == 4) {
		uint64_t desc = (uint64_t)fw->dma_high << 32 | bswap32_u((uint32_t)value);
		fw->dma_high = 0;
		fw_cfg_dma(fw, desc);
	}
}

static const struct io_ops fw_cfg_dma_ops = {
	.read = fw_cfg_dma_io_read,
	.write = fw_cfg_dma_io_write,
};

static void fw_cfg_reset(void *opaque)
{
	struct fw_cfg *fw = opaque;
	pthread_mutex_lock(&fw->vm->dev_lock);
	fw_cfg_select(fw, FW_CFG_SIGNATURE);
	fw->dma_high = 0;
	pthread_mutex_unlock(&fw->vm->dev_lock);
}

static void fw_cfg_free(struct fw_cfg *fw)
{
	for (unsigned i = 0; i < FW_CFG_NR_KEYS; i++)
		free(fw->items[i].data);
	free(fw);
}

static void fw_cfg_destroy(void *opaque)
{
	struct fw_cfg *fw = opaque;
	io_bus_unregister(&fw->vm->pio, FW_CFG_PORT_SEL);
	io_bus_unregister(&fw->vm->pio, FW_CFG_PORT_DMA);
	if (fw->vm->fw_cfg == fw)
		fw->vm->fw_cfg = NULL;
	fw_cfg_free(fw);
}

static int fw_cfg_add_standard_items(struct fw_cfg *fw)
{
	const struct vm_config *cfg = &fw->vm->cfg;
	int ret = 0;

	ret |= fw_cfg_set_item(fw, FW_CFG_SIGNATURE, "QEMU", 4);
	ret |= fw_cfg_set_le(fw, FW_CFG_ID, FW_CFG_VERSION | FW_CFG_VERSION_DMA, 4);
	/* all zero without -uuid, as QEMU's */
	ret |= fw_cfg_set_item(fw, FW_CFG_UUID, cfg->smbios.uuid, sizeof(cfg->smbios.uuid));
	ret |= fw_cfg_set_le(fw, FW_CFG_RAM_SIZE, cfg->ram_size, 8);
	ret |= fw_cfg_set_le(fw, FW_CFG_NOGRAPHIC, cfg->nographic, 2);
	ret |= fw_cfg_set_le(fw, FW_CFG_NB_CPUS, cfg->smp, 2);
	/* no CPU hotplug: the most there can be is what there is */
	ret |= fw_cfg_set_le(fw, FW_CFG_MAX_CPUS, cfg->smp, 2);
	ret |= fw_cfg_set_le(fw, FW_CFG_BOOT_MENU, cfg->boot_menu, 2);
	ret |= fw_cfg_rebuild_dir(fw);
	return ret ? -ENOMEM : 0;
}

int fw_cfg_create(struct vm *vm)
{
	struct fw_cfg *fw = calloc(1, sizeof(*fw));
	int ret;

	if (!fw) {
		log_error("fw_cfg: out of memory");
		return -ENOMEM;
	}
	fw->vm = vm;
	ret = fw_cfg_add_standard_items(fw);
	if (ret < 0) {
		log_error("fw_cfg: out of memory");
		goto fail;
	}
	fw_cfg_select(fw, FW_CFG_SIGNATURE);
	/* selector and data as one 2-port range, so a word at 0x510 is the
	 * selector and a byte at 0x511 is data */
	ret = io_bus_register(&vm->pio, FW_CFG_PORT_SEL, 2, &fw_cfg_ops, fw, "fw_cfg");
	if (ret < 0) {
		log_error("fw_cfg: cannot claim ports 0x%x-0x%x: %s", FW_CFG_PORT_SEL,
			  FW_CFG_PORT_DATA,
			  ret == -EEXIST ? "another device uses them" : strerror(-ret));
		goto fail;
	}
	ret = io_bus_register(&vm->pio, FW_CFG_PORT_DMA, 8, &fw_cfg_dma_ops, fw, "fw_cfg-dma");
	if (ret < 0) {
		log_error("fw_cfg: cannot claim ports 0x%x-0x%x: %s", FW_CFG_PORT_DMA,
			  FW_CFG_PORT_DMA + 7,
			  ret == -EEXIST ? "another device uses them" : strerror(-ret));
		io_bus_unregister(&vm->pio, FW_CFG_PORT_SEL);
		goto fail;
	}
	ret = vm_add_device(vm, "fw_cfg", fw, fw_cfg_reset, fw_cfg_destroy);
	if (ret < 0) {
		log_error("fw_cfg: too many devices");
		io_bus_unregister(&vm->pio, FW_CFG_PORT_SEL);
		io_bus_unregister(&vm->pio, FW_CFG_PORT_DMA);
		goto fail;
	}
	vm->fw_cfg = fw;
	return 0;
fail:
	fw_cfg_free(fw);
	return ret;
}
