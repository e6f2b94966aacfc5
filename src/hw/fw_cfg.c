/* fw_cfg, the legacy port interface of QEMU's firmware configuration
 * device, as docs/specs/fw_cfg.rst gives it.
 *
 * Not here yet: the DMA interface (its address register at 0x514 is left
 * unregistered and FW_CFG_ID does not announce it), the arch-local x86
 * items (E820 table, ACPI, SMBIOS) and the kernel, initrd and command line
 * items (FW_CFG_KERNEL_SIZE 0x08, FW_CFG_INITRD_SIZE 0x0b,
 * FW_CFG_CMDLINE_SIZE 0x14 and their data and address items), which come
 * with the boot loader's use of fw_cfg. */
#include "hw/fw_cfg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

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

static int fw_cfg_set_le(struct fw_cfg *fw, uint16_t key, uint64_t value, unsigned bytes)
{
	uint8_t buf[8];
	put_le(buf, value, bytes);
	return fw_cfg_set_item(fw, key, buf, bytes);
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

static void fw_cfg_reset(void *opaque)
{
	struct fw_cfg *fw = opaque;
	pthread_mutex_lock(&fw->vm->dev_lock);
	fw_cfg_select(fw, FW_CFG_SIGNATURE);
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
	if (fw->vm->fw_cfg == fw)
		fw->vm->fw_cfg = NULL;
	fw_cfg_free(fw);
}

static int fw_cfg_add_standard_items(struct fw_cfg *fw)
{
	const struct vm_config *cfg = &fw->vm->cfg;
	static const uint8_t uuid[16];	/* QEMU's default without -uuid */
	int ret = 0;

	ret |= fw_cfg_set_item(fw, FW_CFG_SIGNATURE, "QEMU", 4);
	ret |= fw_cfg_set_le(fw, FW_CFG_ID, FW_CFG_VERSION, 4);
	ret |= fw_cfg_set_item(fw, FW_CFG_UUID, uuid, sizeof(uuid));
	ret |= fw_cfg_set_le(fw, FW_CFG_RAM_SIZE, cfg->ram_size, 8);
	ret |= fw_cfg_set_le(fw, FW_CFG_NOGRAPHIC, cfg->nographic, 2);
	ret |= fw_cfg_set_le(fw, FW_CFG_NB_CPUS, cfg->smp, 2);
	/* no CPU hotplug: the most there can be is what there is */
	ret |= fw_cfg_set_le(fw, FW_CFG_MAX_CPUS, cfg->smp, 2);
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
	ret = vm_add_device(vm, "fw_cfg", fw, fw_cfg_reset, fw_cfg_destroy);
	if (ret < 0) {
		log_error("fw_cfg: too many devices");
		io_bus_unregister(&vm->pio, FW_CFG_PORT_SEL);
		goto fail;
	}
	vm->fw_cfg = fw;
	return 0;
fail:
	fw_cfg_free(fw);
	return ret;
}
