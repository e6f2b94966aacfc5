/* Multiboot version 1 kernels, as QEMU's -kernel and GRUB load them.
 *
 * The header lies 4-aligned in the first 8192 bytes.  With the address
 * flag (bit 16, the "a.out kludge") the header says where the file goes;
 * otherwise the file must be ELF and loads like one (ELF64 is accepted, as
 * GRUB does; it is still entered in 32-bit mode).  Entry: 32-bit protected
 * mode, paging off, EAX = 0x2BADB002, EBX = the information structure.
 *
 * -append becomes the command line after the kernel's file name, as QEMU
 * passes it.  -initrd "file1 args,file2 args" loads each file as a module,
 * page-aligned after the kernel; a module's string is its whole text,
 * "file1 args"; ",," stands for a comma inside a module's text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/loaders.h"
#include "core/log.h"
#include "core/vm.h"

#define MB_HEADER_MAGIC 0x1badb002u
#define MB_BOOT_MAGIC 0x2badb002u
#define MB_SEARCH_LIMIT 8192
/* how far to look for a header that is there but too late */
#define MB_MISPLACED_LIMIT 65536

#define MB_FLAG_PAGE_ALIGN (1u << 0)
#define MB_FLAG_MEMORY_INFO (1u << 1)
#define MB_FLAG_VIDEO_MODE (1u << 2)
#define MB_FLAG_ADDRESSES (1u << 16)
#define MB_FLAGS_REQUIRED_KNOWN (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO | MB_FLAG_VIDEO_MODE)
#define MB_FLAGS_REQUIRED 0xffffu

/* struct multiboot_info offsets and flags */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_BOOT_LOADER_NAME 64
#define MBI_SIZE 120
#define MBI_HAS_MEMORY (1u << 0)
#define MBI_HAS_CMDLINE (1u << 2)
#define MBI_HAS_MODS (1u << 3)
#define MBI_HAS_MMAP (1u << 6)
#define MBI_HAS_LOADER_NAME (1u << 9)
#define MB_MOD_ENTRY_SIZE 16
#define MB_MMAP_ENTRY_SIZE 24

_Static_assert(BOOT_INFO_ADDR + MBI_SIZE <= BOOT_MEMMAP_ADDR, "info overlaps memory map");
_Static_assert(BOOT_MEMMAP_ADDR + BOOT_MEMMAP_MAX * MB_MMAP_ENTRY_SIZE <= BOOT_MODLIST_ADDR,
	       "memory map overlaps module list");
_Static_assert(BOOT_MODLIST_ADDR + BOOT_MODULES_MAX * 32 <= BOOT_INFO_END,
	       "module list overlaps strings");

static bool mb_header_at(const struct boot_image *img, size_t off)
{
	const uint8_t *p = img->data + off;
	uint32_t magic = boot_le32(p), flags = boot_le32(p + 4), sum = boot_le32(p + 8);
	return magic == MB_HEADER_MAGIC && (uint32_t)(magic + flags + sum) == 0;
}

/* Offset of the first valid header in [from, limit), or -1 */
static long mb_find_header(const struct boot_image *img, size_t from, size_t limit)
{
	if (limit > img->size)
		limit = img->size;
	for (size_t off = from; off + 12 <= limit; off += 4)
		if (mb_header_at(img, off))
			return (long)off;
	return -1;
}

static bool multiboot_probe(const struct boot_image *img)
{
	return mb_find_header(img, 0, MB_SEARCH_LIMIT) >= 0;
}

static bool multiboot_misplaced_probe(const struct boot_image *img)
{
	return mb_find_header(img, MB_SEARCH_LIMIT, MB_MISPLACED_LIMIT) >= 0;
}

static int multiboot_misplaced_load(struct vm *vm, const struct boot_image *img,
				    struct boot_entry *entry)
{
	(void)vm;
	(void)entry;
	log_error("kernel '%s': Multiboot header at offset 0x%lx is not within the first %d bytes of the file",
		  img->path, mb_find_header(img, MB_SEARCH_LIMIT, MB_MISPLACED_LIMIT),
		  MB_SEARCH_LIMIT);
	return -ENOEXEC;
}

/* The magic without a matching checksum, where a header belongs */
static bool multiboot_bad_checksum_probe(const struct boot_image *img)
{
	size_t limit = img->size < MB_SEARCH_LIMIT ? img->size : MB_SEARCH_LIMIT;
	for (size_t off = 0; off + 12 <= limit; off += 4)
		if (boot_le32(img->data + off) == MB_HEADER_MAGIC)
			return true;
	return false;
}

static int multiboot_bad_checksum_load(struct vm *vm, const struct boot_image *img,
				       struct boot_entry *entry)
{
	size_t off = 0;
	(void)vm;
	(void)entry;
	while (boot_le32(img->data + off) != MB_HEADER_MAGIC)
		off += 4;
	log_error("kernel '%s': Multiboot header at offset 0x%zx has a bad checksum (magic + flags + checksum must be 0)",
		  img->path, off);
	return -ENOEXEC;
}

/* The a.out kludge: the header's address fields place the file */
static int mb_load_by_addresses(struct vm *vm, const struct boot_image *img, size_t off,
				unsigned areas, uint64_t *entry, uint64_t *kernel_start,
				uint64_t *kernel_end)
{
	const uint8_t *h = img->data + off;
	uint32_t header_addr = boot_le32(h + 12), load_addr = boot_le32(h + 16);
	uint32_t load_end_addr = boot_le32(h + 20), bss_end_addr = boot_le32(h + 24);
	uint32_t entry_addr = boot_le32(h + 28);
	uint64_t load_size, mem_end;
	char where[512];

	if (load_addr > header_addr) {
		log_error("kernel '%s': Multiboot load_addr 0x%x is above header_addr 0x%x",
			  img->path, load_addr, header_addr);
		return -ENOEXEC;
	}
	uint64_t header_delta = header_addr - load_addr;
	if (header_delta > off) {
		log_error("kernel '%s': Multiboot header_addr 0x%x - load_addr 0x%x puts the load start before the beginning of the file",
			  img->path, header_addr, load_addr);
		return -ENOEXEC;
	}
	uint64_t file_off = off - header_delta;
	if (load_end_addr == 0) {
		load_size = img->size - file_off;
	} else {
		if (load_end_addr < load_addr) {
			log_error("kernel '%s': Multiboot load_end_addr 0x%x is below load_addr 0x%x",
				  img->path, load_end_addr, load_addr);
			return -ENOEXEC;
		}
		load_size = load_end_addr - load_addr;
		if (load_size > img->size - file_off) {
			log_error("kernel '%s': Multiboot load_end_addr 0x%x lies past the end of the file (%zu bytes)",
				  img->path, load_end_addr, img->size);
			return -ENOEXEC;
		}
	}
	mem_end = load_addr + load_size;
	if (bss_end_addr) {
		if (bss_end_addr < mem_end) {
			log_error("kernel '%s': Multiboot bss_end_addr 0x%x is below the end of the loaded file 0x%llx",
				  img->path, bss_end_addr, (unsigned long long)mem_end);
			return -ENOEXEC;
		}
		mem_end = bss_end_addr;
	}
	if (mem_end > 1ull << 32) {
		log_error("kernel '%s': Multiboot image at 0x%x with 0x%llx bytes goes past 4 GiB",
			  img->path, load_addr, (unsigned long long)load_size);
		return -ENOEXEC;
	}
	if (mem_end == load_addr) {
		log_error("kernel '%s': Multiboot address fields load nothing", img->path);
		return -ENOEXEC;
	}
	if (entry_addr < load_addr || entry_addr >= mem_end) {
		log_error("kernel '%s': Multiboot entry_addr 0x%x is outside the image at 0x%x-0x%llx",
			  img->path, entry_addr, load_addr, (unsigned long long)(mem_end - 1));
		return -ENOEXEC;
	}
	snprintf(where, sizeof(where), "kernel '%s'", img->path);
	int ret = boot_check_placement(vm, where, "Multiboot image", load_addr, mem_end - load_addr,
				       areas);
	if (ret < 0)
		return ret;
	uint8_t *dst = guest_mem_ptr(&vm->mem, load_addr, mem_end - load_addr);
	memcpy(dst, img->data + file_off, load_size);
	memset(dst + load_size, 0, mem_end - load_addr - load_size);
	*entry = entry_addr;
	*kernel_start = load_addr;
	*kernel_end = mem_end;
	return 0;
}

static int mb_load_elf(struct vm *vm, const struct boot_image *img, unsigned areas,
		       uint64_t *entry, uint64_t *kernel_start, uint64_t *kernel_end)
{
	struct elf_image elf;
	int ret = elf_load_segments(vm, img, areas, &elf);
	if (ret < 0)
		return ret;
	if (elf.entry > UINT32_MAX || !guest_mem_is_ram(&vm->mem, elf.entry)) {
		log_error("kernel '%s': entry point 0x%llx is not in guest RAM below 4 GiB",
			  img->path, (unsigned long long)elf.entry);
		return -ENOEXEC;
	}
	*entry = elf.entry;
	*kernel_start = elf.low;
	*kernel_end = elf.high;
	return 0;
}

/* Split -initrd into module texts: ',' separates, ",," is a comma.
 * Returns the number of modules, each a NUL-terminated string in buf. */
int multiboot_split_modules(const char *spec, char *buf, const char **texts, int max,
			    const char *path)
{
	int n = 0;
	char *out = buf;
	const char *p = spec;

	while (*p) {
		if (n == max) {
			log_error("kernel '%s': more than %d Multiboot modules in -initrd", path, max);
			return -E2BIG;
		}
		texts[n++] = out;
		for (; *p; p++) {
			if (*p == ',') {
				if (p[1] != ',')
					break;
				p++;
			}
			*out++ = *p;
		}
		*out++ = 0;
		if (*p == ',')
			p++;
	}
	return n;
}

static int mb_load_modules(struct vm *vm, const char *path, struct boot_strings *strings,
			   uint64_t kernel_end, uint8_t *modlist, uint32_t *count)
{
	const char *texts[BOOT_MODULES_MAX];
	const char *spec = vm->cfg.initrd;
	uint64_t next = kernel_end > BOOT_MODULES_MIN ? kernel_end : BOOT_MODULES_MIN;
	int ret = 0;

	*count = 0;
	if (!spec)
		return 0;
	char *buf = malloc(strlen(spec) + 1);
	if (!buf)
		return -ENOMEM;
	int n = multiboot_split_modules(spec, buf, texts, BOOT_MODULES_MAX, path);
	for (int i = 0; i < n && ret == 0; i++) {
		struct boot_module mod;
		size_t text_len = strlen(texts[i]);
		char *file = strndup(texts[i], strcspn(texts[i], " "));
		if (!file) {
			ret = -ENOMEM;
			break;
		}
		ret = boot_load_module(vm, file, &next,
				       BOOT_AREA_GDT | BOOT_AREA_STACK | BOOT_AREA_INFO, &mod);
		free(file);
		if (ret < 0)
			break;
		uint64_t str = boot_strings_put(vm, strings, path, texts[i], text_len);
		if (!str) {
			ret = -E2BIG;
			break;
		}
		uint8_t *e = modlist + i * MB_MOD_ENTRY_SIZE;
		boot_put_le32(e, (uint32_t)mod.start);
		boot_put_le32(e + 4, (uint32_t)mod.end);
		boot_put_le32(e + 8, (uint32_t)str);
		boot_put_le32(e + 12, 0);
		(*count)++;
	}
	if (n < 0)
		ret = n;
	free(buf);
	return ret;
}

static int mb_write_info(struct vm *vm, const char *path, uint64_t kernel_end, uint64_t *info_gpa)
{
	struct boot_memmap_entry map[BOOT_MEMMAP_MAX];
	struct boot_strings strings;
	uint32_t mods_count;

	uint8_t *info = guest_mem_ptr(&vm->mem, BOOT_INFO_ADDR, BOOT_STRINGS_END - BOOT_INFO_ADDR);
	if (!info) {
		log_error("kernel '%s': guest RAM is too small for the Multiboot information", path);
		return -ENOMEM;
	}
	memset(info, 0, BOOT_INFO_END - BOOT_INFO_ADDR);
	boot_strings_init(&strings);

	/* QEMU's command line: the kernel's file name, then -append */
	const char *append = vm->cfg.append;
	size_t len = strlen(path) + (append ? 1 + strlen(append) : 0);
	char *cmdline = malloc(len + 1);
	if (!cmdline)
		return -ENOMEM;
	snprintf(cmdline, len + 1, "%s%s%s", path, append ? " " : "", append ? append : "");
	uint64_t cmdline_gpa = boot_strings_put(vm, &strings, path, cmdline, len);
	free(cmdline);
	if (!cmdline_gpa)
		return -E2BIG;

	uint8_t *modlist = info + (BOOT_MODLIST_ADDR - BOOT_INFO_ADDR);
	int ret = mb_load_modules(vm, path, &strings, kernel_end, modlist, &mods_count);
	if (ret < 0)
		return ret;

	static const char loader_name[] = "minivmm";
	uint64_t name_gpa = boot_strings_put(vm, &strings, path, loader_name, sizeof(loader_name) - 1);
	if (!name_gpa)
		return -E2BIG;

	int n = boot_memmap(&vm->mem, map, BOOT_MEMMAP_MAX);
	for (int i = 0; i < n; i++) {
		uint8_t *e = info + (BOOT_MEMMAP_ADDR - BOOT_INFO_ADDR) + i * MB_MMAP_ENTRY_SIZE;
		boot_put_le32(e, MB_MMAP_ENTRY_SIZE - 4);	/* size excludes itself */
		boot_put_le64(e + 4, map[i].addr);
		boot_put_le64(e + 12, map[i].size);
		boot_put_le32(e + 20, map[i].type);
	}

	/* mem_lower/mem_upper agree with the map: conventional memory up to
	 * the EBDA, and from 1 MiB up to the first hole */
	uint64_t low_end = guest_mem_lowmem_end(&vm->mem);
	uint64_t mem_lower = (low_end < 0x9fc00 ? low_end : 0x9fc00) >> 10;
	uint64_t mem_upper = low_end > 0x100000 ? (low_end - 0x100000) >> 10 : 0;

	boot_put_le32(info + MBI_FLAGS, MBI_HAS_MEMORY | MBI_HAS_CMDLINE | MBI_HAS_MODS |
					   MBI_HAS_MMAP | MBI_HAS_LOADER_NAME);
	boot_put_le32(info + MBI_MEM_LOWER, (uint32_t)mem_lower);
	boot_put_le32(info + MBI_MEM_UPPER, (uint32_t)mem_upper);
	boot_put_le32(info + MBI_CMDLINE, (uint32_t)cmdline_gpa);
	boot_put_le32(info + MBI_MODS_COUNT, mods_count);
	boot_put_le32(info + MBI_MODS_ADDR, (uint32_t)BOOT_MODLIST_ADDR);
	boot_put_le32(info + MBI_MMAP_LENGTH, (uint32_t)(n * MB_MMAP_ENTRY_SIZE));
	boot_put_le32(info + MBI_MMAP_ADDR, (uint32_t)BOOT_MEMMAP_ADDR);
	boot_put_le32(info + MBI_BOOT_LOADER_NAME, (uint32_t)name_gpa);
	*info_gpa = BOOT_INFO_ADDR;
	return 0;
}

int multiboot_place_kernel(struct vm *vm, const struct boot_image *img, unsigned areas,
			   uint64_t *entry, uint64_t *start, uint64_t *end)
{
	long found = mb_find_header(img, 0, MB_SEARCH_LIMIT);
	if (found < 0) {
		log_error("kernel '%s': no Multiboot header in the first %d bytes", img->path,
			  MB_SEARCH_LIMIT);
		return -ENOEXEC;
	}
	size_t off = (size_t)found;
	uint32_t flags = boot_le32(img->data + off + 4);
	if (flags & MB_FLAGS_REQUIRED & ~MB_FLAGS_REQUIRED_KNOWN) {
		log_error("kernel '%s': Multiboot header requires features minivmm does not know (flags 0x%x)",
			  img->path, flags & MB_FLAGS_REQUIRED & ~MB_FLAGS_REQUIRED_KNOWN);
		return -ENOEXEC;
	}
	/* the video mode request (bit 2) is a preference: text mode it is */
	size_t header_size = flags & MB_FLAG_VIDEO_MODE ? 48 : flags & MB_FLAG_ADDRESSES ? 32 : 12;
	if (off + header_size > img->size || off + header_size > MB_SEARCH_LIMIT) {
		log_error("kernel '%s': Multiboot header at offset 0x%zx is cut off (it needs %zu bytes within the first %d of the file)",
			  img->path, off, header_size, MB_SEARCH_LIMIT);
		return -ENOEXEC;
	}

	if (flags & MB_FLAG_ADDRESSES)
		return mb_load_by_addresses(vm, img, off, areas, entry, start, end);
	if (elf_probe(img))
		return mb_load_elf(vm, img, areas, entry, start, end);
	log_error("kernel '%s': Multiboot kernel is not ELF and its header has no address fields (flag 16)",
		  img->path);
	return -ENOEXEC;
}

int multiboot_load_image(struct vm *vm, const struct boot_image *img, struct boot_entry *entry)
{
	const unsigned areas = BOOT_AREA_GDT | BOOT_AREA_STACK | BOOT_AREA_INFO;
	uint64_t rip, kernel_start, kernel_end, info;
	int ret = multiboot_place_kernel(vm, img, areas, &rip, &kernel_start, &kernel_end);
	if (ret < 0)
		return ret;
	ret = mb_write_info(vm, img->path, kernel_end, &info);
	if (ret < 0)
		return ret;
	entry->mode = BOOT_MODE_PROT32;
	entry->rip = rip;
	entry->gpr[X86_RAX] = MB_BOOT_MAGIC;
	entry->gpr[X86_RBX] = info;
	entry->gpr[X86_RSP] = BOOT_STACK_TOP;
	return 0;
}

const struct boot_format multiboot_format = {
	.name = "Multiboot",
	.probe = multiboot_probe,
	.load = multiboot_load_image,
};

/* A header past 8 KiB is almost surely a Multiboot kernel built wrong:
 * say so rather than run it as something else */
const struct boot_format multiboot_misplaced_format = {
	.name = "Multiboot (misplaced header)",
	.probe = multiboot_misplaced_probe,
	.load = multiboot_misplaced_load,
};

/* Only for images that are not ELF: a stray magic inside an ELF kernel's
 * code or data is not a header */
const struct boot_format multiboot_bad_checksum_format = {
	.name = "Multiboot (bad checksum)",
	.probe = multiboot_bad_checksum_probe,
	.load = multiboot_bad_checksum_load,
};
