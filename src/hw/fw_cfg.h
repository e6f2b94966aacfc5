/* QEMU's firmware configuration device (docs/specs/fw_cfg.rst): a 16-bit
 * selector at 0x510 picks an item, whose bytes are read one at a time
 * from 0x511, or moved by the DMA interface (the big-endian address of an
 * access descriptor written to 0x514/0x518).  Items are blobs;
 * FW_CFG_FILE_DIR lists the named ones ("files") that fw_cfg_add_file
 * adds. */
#ifndef MINIVMM_FW_CFG_H
#define MINIVMM_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

struct fw_cfg;

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514	/* 8 bytes: address high (0x514), low (0x518) */

/* Selector keys */
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID 0x0001
#define FW_CFG_UUID 0x0002
#define FW_CFG_RAM_SIZE 0x0003
#define FW_CFG_NOGRAPHIC 0x0004
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_NUMA 0x000d
#define FW_CFG_BOOT_MENU 0x000e
#define FW_CFG_MAX_CPUS 0x000f
#define FW_CFG_FILE_DIR 0x0019
/* what an option ROM reads to load -kernel (QEMU's linuxboot_dma.bin):
 * each _ADDR and _SIZE a 32-bit little-endian integer */
#define FW_CFG_KERNEL_ADDR 0x0007
#define FW_CFG_KERNEL_SIZE 0x0008
#define FW_CFG_INITRD_ADDR 0x000a
#define FW_CFG_INITRD_SIZE 0x000b
#define FW_CFG_KERNEL_ENTRY 0x0010
#define FW_CFG_KERNEL_DATA 0x0011
#define FW_CFG_INITRD_DATA 0x0012
#define FW_CFG_CMDLINE_ADDR 0x0013
#define FW_CFG_CMDLINE_SIZE 0x0014
#define FW_CFG_CMDLINE_DATA 0x0015
#define FW_CFG_SETUP_ADDR 0x0016
#define FW_CFG_SETUP_SIZE 0x0017
#define FW_CFG_SETUP_DATA 0x0018
#define FW_CFG_FILE_FIRST 0x0020
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_ENTRY_MASK 0x3fff

/* FW_CFG_ID bits */
#define FW_CFG_VERSION 0x01	/* the traditional port interface */
#define FW_CFG_VERSION_DMA 0x02	/* the DMA interface */

/* The DMA access descriptor: be32 control, be32 length, be64 address */
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_READ 0x02
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10
#define FW_CFG_DMA_SIGNATURE "QEMU CFG"	/* what reads of 0x514-0x51b return */

/* A file name is at most 55 bytes and a NUL */
#define FW_CFG_MAX_FILE_PATH 56
/* One FW_CFG_FILE_DIR entry: size (be32), select (be16), reserved, name */
#define FW_CFG_FILE_ENTRY_SIZE 64
#define FW_CFG_MAX_FILES 64

/* Add a named blob (the bytes are copied); it gets the next free key from
 * FW_CFG_FILE_FIRST and appears in FW_CFG_FILE_DIR, sorted by name.
 * Returns 0, -EINVAL (empty or too long name, blob over 4 GiB), -EEXIST
 * (name taken), -ENOSPC or -ENOMEM. */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len);
/* A numbered item holding a copy of len bytes of data; 0, -EINVAL (not a
 * numbered item) or -ENOMEM */
int fw_cfg_set_data(struct fw_cfg *fw, uint16_t key, const void *data, uint32_t len);
/* A numbered item (FW_CFG_BOOT_MENU, ...) as a little-endian integer of
 * bytes bytes; 0 or -ENOMEM */
int fw_cfg_set_int(struct fw_cfg *fw, uint16_t key, uint64_t value, unsigned bytes);
/* What an option ROM copies into RAM: the load address and the size as
 * 32-bit items, and the data, under their three keys */
int fw_cfg_set_blob(struct fw_cfg *fw, uint16_t addr_key, uint32_t addr, uint16_t size_key,
		    uint16_t data_key, const void *data, size_t len);

/* Run the DMA access whose descriptor is at guest address desc: select,
 * read, skip (writes are refused); the control word is written back 0, or
 * with FW_CFG_DMA_ERROR when a range is not RAM or the request is bad.
 * Called by the port handler; for tests and fuzzing. */
void fw_cfg_dma(struct fw_cfg *fw, uint64_t desc);

#endif
