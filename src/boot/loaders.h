/* Inside the boot path: the image formats -kernel accepts, each a probe
 * and a load function working on the image already read into memory (so
 * the fuzzers can call them on a buffer), and what they share. */
#ifndef MINIVMM_BOOT_LOADERS_H
#define MINIVMM_BOOT_LOADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "boot/layout.h"

struct vm;
struct guest_mem;

struct boot_image {
	const char *path;	/* named in every message */
	const uint8_t *data;
	size_t size;
};

struct boot_format {
	const char *name;
	/* Is this image in this format? Looks only, never prints. */
	bool (*probe)(const struct boot_image *img);
	int (*load)(struct vm *vm, const struct boot_image *img, struct boot_entry *entry);
};

/* Try each format in order and load with the first that claims the image */
int boot_load_image(struct vm *vm, const struct boot_image *img, struct boot_entry *entry);

/* The formats, in the order boot_load_image tries them */
extern const struct boot_format bzimage_format;
extern const struct boot_format multiboot_format;
extern const struct boot_format multiboot_misplaced_format;
extern const struct boot_format elf_format;
extern const struct boot_format multiboot_bad_checksum_format;
extern const struct boot_format bootsector_format;
extern const struct boot_format raw_format;

/* The Linux command line: -append, and on microvm with acpi=off (unless
 * auto-kernel-cmdline=off) "virtio_mmio.device=SIZE@ADDR:GSI" for each
 * virtio-mmio transport, for kernels built to take it; with ACPI the DSDT
 * describes them.  Returns its length, or -E2BIG when it does not fit in
 * cap bytes with its NUL. */
#define BOOT_CMDLINE_MAX 4096
int boot_linux_cmdline(const struct vm *vm, char *buf, size_t cap);

/* Little-endian field access; the caller has checked the bounds */
static inline uint16_t boot_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t boot_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t boot_le64(const uint8_t *p)
{
	return boot_le32(p) | (uint64_t)boot_le32(p + 4) << 32;
}

static inline void boot_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void boot_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void boot_put_le64(uint8_t *p, uint64_t v)
{
	boot_put_le32(p, (uint32_t)v);
	boot_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* image.c: read a whole file of at most max bytes; what names it in
 * messages ("kernel", "initrd").  *buf is malloc'd (also for an empty
 * file, which is the caller's to judge).  After boot_keep_files, a file
 * read before comes from the copy kept then, not from the disk. */
int boot_read_file(struct vm *vm, const char *path, const char *what, uint64_t max,
		   uint8_t **buf, size_t *size);

/* loader.c: check that [gpa, gpa + len) is RAM and clear of the boot
 * structures in areas (enum boot_area); prints one error naming path and
 * what on failure.  len may be 0 (checks nothing). */
int boot_check_placement(const struct vm *vm, const char *path, const char *what, uint64_t gpa,
			 uint64_t len, unsigned areas);

/* Formats with no way to hand over -initrd refuse it; -append is ignored
 * with a warning. */
int boot_refuse_extras(const struct vm *vm, const char *path, const char *format);

/* memmap.c: the e820-like map the guest is told about */
enum { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3 };
struct boot_memmap_entry {
	uint64_t addr, size;
	uint32_t type;
};
int boot_memmap(const struct guest_mem *gm, struct boot_memmap_entry *map, int max);
/* The same with the ACPI tables' segment (0xE0000-0xEFFFF) as ACPI data,
 * for the boot paths that build the tables (Linux) */
int boot_memmap_acpi(const struct guest_mem *gm, struct boot_memmap_entry *map, int max);

/* strings.c: a bump allocator for the strings area */
struct boot_strings {
	uint64_t next;		/* next free guest-physical address */
};
void boot_strings_init(struct boot_strings *s);
/* Copy len bytes of s plus a NUL into the strings area; returns the guest
 * address, or 0 after printing an error when the area is full. */
uint64_t boot_strings_put(struct vm *vm, struct boot_strings *s, const char *path, const char *str,
			  size_t len);

/* Modules (Multiboot modules, the PVH initrd) placed page-aligned from
 * *next_gpa upwards; module.c */
struct boot_module {
	uint64_t start, end;	/* end exclusive */
	uint64_t string;	/* guest address of its string, 0 for none */
};
/* Load the file at *next_gpa rounded up to a page, and advance *next_gpa
 * past it.  areas as for boot_check_placement. */
int boot_load_module(struct vm *vm, const char *file, uint64_t *next_gpa, unsigned areas,
		     struct boot_module *mod);

/* elf.c: the parts of an ELF image the loaders need */
struct elf_image {
	bool is64;
	uint64_t entry;		/* e_entry, as a physical address */
	bool has_pvh_entry;
	uint64_t pvh_entry;	/* XEN_ELFNOTE_PHYS32_ENTRY */
	bool is_linux;		/* has a "Linux" ELF note (every vmlinux has) */
	uint64_t low, high;	/* physical extent of the PT_LOAD segments */
};
bool elf_probe(const struct boot_image *img);
/* Check the headers and every segment against the file, RAM and areas,
 * then copy the segments to RAM.  Nothing is written on error. */
int elf_load_segments(struct vm *vm, const struct boot_image *img, unsigned areas,
		      struct elf_image *elf);
/* Only the headers and notes: sets is64, has_pvh_entry, pvh_entry and
 * is_linux */
int elf_parse_headers(const struct boot_image *img, struct elf_image *elf);

/* pvh.c: write hvm_start_info with the command line, initrd and memory map */
int pvh_write_start_info(struct vm *vm, const char *path, uint64_t kernel_end, uint64_t *info_gpa);

/* zeropage.c: the Linux boot protocol's struct boot_params ("zero page")
 * for a kernel already in RAM.  setup_header is the file's setup header
 * from offset 0x1f1 (hdr_len bytes, copied as is and then filled in). */
#define LINUX_SETUP_HEADER_OFFSET 0x1f1
struct linux_boot {
	const uint8_t *setup_header;
	size_t hdr_len;
	uint64_t kernel_end;		/* the initrd goes above this */
	uint32_t initrd_addr_max;	/* highest address the initrd may use */
	uint32_t cmdline_size;		/* longest command line, without the NUL */
};
/* Write the command line, load -initrd, build the ACPI tables and fill
 * the zero page at BOOT_ZEROPAGE_ADDR; returns 0 or -errno after one
 * error line naming path. */
int linux_write_zeropage(struct vm *vm, const char *path, const struct linux_boot *lb);
/* A setup header for a kernel without one (a vmlinux ELF entered at its
 * 64-bit entry point): boot protocol 2.15 defaults; fills LINUX_HDR_MAX
 * bytes */
#define LINUX_HDR_MAX 0x80
void linux_default_setup_header(uint8_t *hdr);

/* setup header offsets, in the zero page as in the file */
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_CMDLINE_SIZE 0x238

#define LOADFLAGS_LOADED_HIGH 0x01
#define LOADFLAGS_CAN_USE_HEAP 0x80

/* bzimage.c: the parts of the setup header the loader uses */
struct bzimage_header {
	uint16_t version;
	unsigned setup_sects;		/* after the 0 -> 4 rule */
	uint64_t setup_size;		/* bytes before the protected-mode kernel */
	uint64_t hdr_end;		/* file offset one past the setup header */
	uint8_t loadflags;
	bool relocatable;
	uint16_t xloadflags;
	uint32_t kernel_alignment, initrd_addr_max, cmdline_size, init_size;
	uint64_t pref_address;
};
/* Check and decode the header; one error line and -ENOEXEC when the image
 * is not a bzImage minivmm can boot */
int bzimage_parse_header(const struct boot_image *img, struct bzimage_header *h);
int bzimage_load_image(struct vm *vm, const struct boot_image *img, struct boot_entry *entry);

/* Whole loaders for one format (multiboot.c, elf.c), for the fuzzers and
 * the tests */
int multiboot_load_image(struct vm *vm, const struct boot_image *img, struct boot_entry *entry);
/* The Multiboot kernel alone, checked and placed in guest RAM as direct
 * boot places it (clear of areas): its entry point and [start, end) */
int multiboot_place_kernel(struct vm *vm, const struct boot_image *img, unsigned areas,
			   uint64_t *entry, uint64_t *start, uint64_t *end);
/* -initrd's module texts: ',' separates, ",," is a comma; each text a
 * NUL-terminated string in buf (as long as spec).  The count, or -E2BIG
 * with one error line naming path beyond max. */
int multiboot_split_modules(const char *spec, char *buf, const char **texts, int max,
			    const char *path);
int elf_load_image(struct vm *vm, const struct boot_image *img, struct boot_entry *entry);

#endif
