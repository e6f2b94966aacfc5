/* QEMU's firmware configuration device (docs/specs/fw_cfg.rst), legacy
 * port interface: a 16-bit selector at 0x510 picks an item, whose bytes
 * are read one at a time from 0x511.  Items are blobs; FW_CFG_FILE_DIR
 * lists the named ones ("files") that fw_cfg_add_file adds. */
#ifndef MINIVMM_FW_CFG_H
#define MINIVMM_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

struct fw_cfg;

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511

/* Selector keys */
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID 0x0001
#define FW_CFG_UUID 0x0002
#define FW_CFG_RAM_SIZE 0x0003
#define FW_CFG_NOGRAPHIC 0x0004
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_MAX_CPUS 0x000f
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_FILE_FIRST 0x0020
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_ENTRY_MASK 0x3fff

/* FW_CFG_ID bits */
#define FW_CFG_VERSION 0x01	/* the traditional port interface */
#define FW_CFG_VERSION_DMA 0x02	/* not offered: no DMA interface here */

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

#endif
