/* ELF32 and ELF64 x86 kernels.  Segments load at their physical address
 * (p_paddr).  An ELF with a Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)
 * is entered there in 32-bit protected mode with an hvm_start_info; a
 * Linux vmlinux without that note (an ELF64 with a "Linux" note) at
 * e_entry in long mode with a zero page in RSI (zeropage.c); any other
 * ELF32 starts in 32-bit protected mode and any other ELF64 in long mode
 * with identity paging, both at e_entry. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/loaders.h"
#include "boot/smbios.h"
#include "core/log.h"
#include "core/vm.h"

#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define ET_DYN 3
#define EM_386 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_NOTE 4
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define ELF32_EHDR_SIZE 52
#define ELF64_EHDR_SIZE 64
#define ELF32_PHDR_SIZE 32
#define ELF64_PHDR_SIZE 56
/* plenty for any kernel; keeps the overlap check quadratic in a small n */
#define ELF_MAX_PHNUM 1024

struct elf_header {
	bool is64;
	uint64_t entry, phoff;
	unsigned phentsize, phnum;
};

struct elf_phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

bool elf_probe(const struct boot_image *img)
{
	return img->size >= 4 && !memcmp(img->data, "\177ELF", 4);
}

static int elf_read_header(const struct boot_image *img, struct elf_header *h)
{
	const uint8_t *d = img->data;

	if (img->size < ELF32_EHDR_SIZE) {
		log_error("kernel '%s': ELF header is truncated (file is %zu bytes)", img->path,
			  img->size);
		return -ENOEXEC;
	}
	if (d[4] != ELFCLASS32 && d[4] != ELFCLASS64) {
		log_error("kernel '%s': unknown ELF class %u", img->path, d[4]);
		return -ENOEXEC;
	}
	h->is64 = d[4] == ELFCLASS64;
	if (h->is64 && img->size < ELF64_EHDR_SIZE) {
		log_error("kernel '%s': ELF64 header is truncated (file is %zu bytes)", img->path,
			  img->size);
		return -ENOEXEC;
	}
	if (d[5] != ELFDATA2LSB || d[6] != EV_CURRENT) {
		log_error("kernel '%s': not a little-endian ELF version 1 file", img->path);
		return -ENOEXEC;
	}
	uint16_t type = boot_le16(d + 16), machine = boot_le16(d + 18);
	if (type != ET_EXEC && type != ET_DYN) {
		log_error("kernel '%s': ELF type %u is not an executable", img->path, type);
		return -ENOEXEC;
	}
	if (machine != (h->is64 ? EM_X86_64 : EM_386)) {
		log_error("kernel '%s': ELF%d machine %u is not %s", img->path, h->is64 ? 64 : 32,
			  machine, h->is64 ? "x86-64 (EM_X86_64)" : "i386 (EM_386)");
		return -ENOEXEC;
	}
	if (h->is64) {
		h->entry = boot_le64(d + 24);
		h->phoff = boot_le64(d + 32);
		h->phentsize = boot_le16(d + 54);
		h->phnum = boot_le16(d + 56);
	} else {
		h->entry = boot_le32(d + 24);
		h->phoff = boot_le32(d + 28);
		h->phentsize = boot_le16(d + 42);
		h->phnum = boot_le16(d + 44);
	}
	if (h->phnum == 0) {
		log_error("kernel '%s': ELF file has no program headers", img->path);
		return -ENOEXEC;
	}
	if (h->phnum > ELF_MAX_PHNUM) {
		log_error("kernel '%s': ELF file has %u program headers, more than the %u minivmm accepts",
			  img->path, h->phnum, ELF_MAX_PHNUM);
		return -ENOEXEC;
	}
	if (h->phentsize < (h->is64 ? ELF64_PHDR_SIZE : ELF32_PHDR_SIZE)) {
		log_error("kernel '%s': ELF program header size %u is too small", img->path,
			  h->phentsize);
		return -ENOEXEC;
	}
	uint64_t table = (uint64_t)h->phnum * h->phentsize;
	if (h->phoff > img->size || table > img->size - h->phoff) {
		log_error("kernel '%s': ELF program headers (offset 0x%llx, %u x %u bytes) lie past the end of the file (%zu bytes)",
			  img->path, (unsigned long long)h->phoff, h->phnum, h->phentsize,
			  img->size);
		return -ENOEXEC;
	}
	return 0;
}

static struct elf_phdr elf_read_phdr(const struct boot_image *img, const struct elf_header *h,
				     unsigned i)
{
	const uint8_t *p = img->data + h->phoff + (uint64_t)i * h->phentsize;
	if (h->is64)
		return (struct elf_phdr){
			.type = boot_le32(p), .offset = boot_le64(p + 8),
			.vaddr = boot_le64(p + 16), .paddr = boot_le64(p + 24),
			.filesz = boot_le64(p + 32), .memsz = boot_le64(p + 40),
			.align = boot_le64(p + 48),
		};
	return (struct elf_phdr){
		.type = boot_le32(p), .offset = boot_le32(p + 4), .vaddr = boot_le32(p + 8),
		.paddr = boot_le32(p + 12), .filesz = boot_le32(p + 16),
		.memsz = boot_le32(p + 20), .align = boot_le32(p + 28),
	};
}

static bool elf_file_range_ok(const struct boot_image *img, uint64_t offset, uint64_t len)
{
	return offset <= img->size && len <= img->size - offset;
}

/* Look through one PT_NOTE segment for the PVH entry and a "Linux" note
 * (is_linux).  Notes that do not parse end the search in that segment:
 * other tools' notes are no concern of ours, and nothing is read outside
 * the segment. */
static int elf_find_pvh_note(const struct boot_image *img, const struct elf_phdr *ph,
			     struct elf_image *elf)
{
	const uint8_t *seg = img->data + ph->offset;
	uint64_t align = ph->align == 8 ? 8 : 4;
	uint64_t pos = 0;

	while (ph->filesz - pos >= 12) {
		uint32_t namesz = boot_le32(seg + pos), descsz = boot_le32(seg + pos + 4);
		uint32_t type = boot_le32(seg + pos + 8);
		uint64_t name = pos + 12;
		uint64_t desc = name + ((namesz + align - 1) & ~(align - 1));
		uint64_t next = desc + ((descsz + align - 1) & ~(align - 1));
		if (desc > ph->filesz || descsz > ph->filesz - desc)
			return 0;
		if (namesz == 6 && !memcmp(seg + name, "Linux", 6))
			elf->is_linux = true;
		if (namesz == 4 && !memcmp(seg + name, "Xen", 4) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY && !elf->has_pvh_entry) {
			uint64_t entry;
			if (descsz == 4)
				entry = boot_le32(seg + desc);
			else if (descsz == 8)
				entry = boot_le64(seg + desc);
			else {
				log_error("kernel '%s': PVH entry note has a %u-byte address", img->path,
					  descsz);
				return -ENOEXEC;
			}
			if (entry > UINT32_MAX) {
				log_error("kernel '%s': PVH entry 0x%llx is above 4 GiB", img->path,
					  (unsigned long long)entry);
				return -ENOEXEC;
			}
			elf->has_pvh_entry = true;
			elf->pvh_entry = entry;
		}
		if (next > ph->filesz)
			return 0;
		pos = next;
	}
	return 0;
}

int elf_parse_headers(const struct boot_image *img, struct elf_image *elf)
{
	struct elf_header h;
	int ret = elf_read_header(img, &h);
	if (ret < 0)
		return ret;
	*elf = (struct elf_image){ .is64 = h.is64, .entry = h.entry };
	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf_phdr ph = elf_read_phdr(img, &h, i);
		if (ph.type != PT_NOTE)
			continue;
		if (!elf_file_range_ok(img, ph.offset, ph.filesz)) {
			log_error("kernel '%s': ELF note segment %u (offset 0x%llx, 0x%llx bytes) lies past the end of the file",
				  img->path, i, (unsigned long long)ph.offset,
				  (unsigned long long)ph.filesz);
			return -ENOEXEC;
		}
		ret = elf_find_pvh_note(img, &ph, elf);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int elf_check_segment(struct vm *vm, const struct boot_image *img,
			     const struct elf_header *h, unsigned i, const struct elf_phdr *ph,
			     unsigned areas)
{
	char what[40];

	snprintf(what, sizeof(what), "ELF segment %u", i);
	if (ph->filesz > ph->memsz) {
		log_error("kernel '%s': %s has more file bytes (0x%llx) than memory bytes (0x%llx)",
			  img->path, what, (unsigned long long)ph->filesz,
			  (unsigned long long)ph->memsz);
		return -ENOEXEC;
	}
	if (!elf_file_range_ok(img, ph->offset, ph->filesz)) {
		log_error("kernel '%s': %s (offset 0x%llx, 0x%llx bytes) lies past the end of the file (%zu bytes)",
			  img->path, what, (unsigned long long)ph->offset,
			  (unsigned long long)ph->filesz, img->size);
		return -ENOEXEC;
	}
	uint64_t limit = h->is64 ? UINT64_MAX : UINT32_MAX;
	if (ph->memsz - 1 > limit - ph->paddr) {
		log_error("kernel '%s': %s at 0x%llx with size 0x%llx wraps around the address space",
			  img->path, what, (unsigned long long)ph->paddr,
			  (unsigned long long)ph->memsz);
		return -ENOEXEC;
	}
	/* check_placement names the file itself */
	char where[512];
	snprintf(where, sizeof(where), "kernel '%s'", img->path);
	return boot_check_placement(vm, where, what, ph->paddr, ph->memsz, areas);
}

int elf_load_segments(struct vm *vm, const struct boot_image *img, unsigned areas,
		      struct elf_image *elf)
{
	struct elf_header h;
	bool translated = false;
	unsigned nr_loads = 0;
	int ret = elf_read_header(img, &h);
	if (ret < 0)
		return ret;

	elf->low = UINT64_MAX;
	elf->high = 0;
	elf->entry = h.entry;
	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf_phdr ph = elf_read_phdr(img, &h, i);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		ret = elf_check_segment(vm, img, &h, i, &ph, areas);
		if (ret < 0)
			return ret;
		for (unsigned j = 0; j < i; j++) {
			struct elf_phdr o = elf_read_phdr(img, &h, j);
			if (o.type != PT_LOAD || o.memsz == 0)
				continue;
			/* both ranges were checked not to wrap */
			if (ph.paddr < o.paddr + o.memsz && o.paddr < ph.paddr + ph.memsz) {
				log_error("kernel '%s': ELF segments %u and %u overlap at 0x%llx",
					  img->path, j, i,
					  (unsigned long long)(ph.paddr > o.paddr ? ph.paddr : o.paddr));
				return -ENOEXEC;
			}
		}
		if (ph.paddr < elf->low)
			elf->low = ph.paddr;
		if (ph.paddr + ph.memsz > elf->high)
			elf->high = ph.paddr + ph.memsz;
		/* e_entry is often virtual: the physical address is where the
		 * segment holding it was loaded */
		if (!translated && h.entry - ph.vaddr < ph.memsz) {
			elf->entry = ph.paddr + (h.entry - ph.vaddr);
			translated = true;
		}
		nr_loads++;
	}
	if (nr_loads == 0) {
		log_error("kernel '%s': ELF file has no loadable segment", img->path);
		return -ENOEXEC;
	}

	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf_phdr ph = elf_read_phdr(img, &h, i);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		uint8_t *dst = guest_mem_ptr(&vm->mem, ph.paddr, ph.memsz);
		memcpy(dst, img->data + ph.offset, ph.filesz);
		memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
	}
	return 0;
}

static int elf_check_entry(const struct vm *vm, const struct boot_image *img, uint64_t entry,
			   enum boot_cpu_mode mode)
{
	if (mode != BOOT_MODE_LONG64 && entry > UINT32_MAX) {
		log_error("kernel '%s': entry point 0x%llx is above 4 GiB for a 32-bit entry",
			  img->path, (unsigned long long)entry);
		return -ENOEXEC;
	}
	if (mode == BOOT_MODE_LONG64 && entry >= (uint64_t)boot_pd_count(&vm->mem) << 30) {
		log_error("kernel '%s': entry point 0x%llx is not identity-mapped at boot",
			  img->path, (unsigned long long)entry);
		return -ENOEXEC;
	}
	if (!guest_mem_is_ram(&vm->mem, entry)) {
		log_error("kernel '%s': entry point 0x%llx is outside guest RAM", img->path,
			  (unsigned long long)entry);
		return -ENOEXEC;
	}
	return 0;
}

/* A Linux vmlinux without the PVH note: entered at its 64-bit entry
 * (startup_64) with RSI pointing at a zero page, as Firecracker boots an
 * uncompressed kernel.  The file has no setup header, so the zero page
 * gets a protocol 2.15 default one. */
static int elf_load_linux(struct vm *vm, const struct boot_image *img, struct elf_image *elf,
			  struct boot_entry *entry)
{
	uint8_t hdr[LINUX_HDR_MAX];
	unsigned areas = BOOT_AREA_GDT | BOOT_AREA_INFO | BOOT_AREA_STACK | BOOT_AREA_PAGETABLES |
			 BOOT_AREA_ACPI;
	int ret = elf_load_segments(vm, img, areas, elf);
	if (ret < 0)
		return ret;
	ret = elf_check_entry(vm, img, elf->entry, BOOT_MODE_LONG64);
	if (ret < 0)
		return ret;
	linux_default_setup_header(hdr);
	struct linux_boot lb = {
		.setup_header = hdr,
		.hdr_len = sizeof(hdr),
		.kernel_end = elf->high,
		.initrd_addr_max = boot_le32(hdr + 0x22c - LINUX_SETUP_HEADER_OFFSET),
		.cmdline_size = boot_le32(hdr + 0x238 - LINUX_SETUP_HEADER_OFFSET),
	};
	ret = linux_write_zeropage(vm, img->path, &lb);
	if (ret < 0)
		return ret;
	entry->mode = BOOT_MODE_LONG64;
	entry->rip = elf->entry;
	entry->gpr[X86_RSI] = BOOT_ZEROPAGE_ADDR;
	entry->gpr[X86_RSP] = BOOT_STACK_TOP;
	return 0;
}

int elf_load_image(struct vm *vm, const struct boot_image *img, struct boot_entry *entry)
{
	struct elf_image elf;
	int ret = elf_parse_headers(img, &elf);
	if (ret < 0)
		return ret;

	if (elf.has_pvh_entry) {
		unsigned areas = BOOT_AREA_GDT | BOOT_AREA_STACK | BOOT_AREA_INFO;
		uint64_t info;
		if (elf.is_linux)
			areas |= BOOT_AREA_ACPI;
		ret = elf_load_segments(vm, img, areas, &elf);
		if (ret < 0)
			return ret;
		ret = elf_check_entry(vm, img, elf.pvh_entry, BOOT_MODE_PROT32);
		if (ret < 0)
			return ret;
		ret = pvh_write_start_info(vm, img->path, elf.high, &info);
		if (ret < 0)
			return ret;
		if (elf.is_linux && acpi_enabled(vm)) {
			/* a PVH Linux finds its ACPI tables through rsdp_paddr */
			uint64_t rsdp = acpi_build_tables(vm);
			if (!rsdp)
				return -ENOMEM;
			boot_put_le64(guest_mem_ptr(&vm->mem, info + 32, 8), rsdp);
		}
		if (elf.is_linux && (ret = smbios_install(vm)) < 0)
			return ret;
		entry->mode = BOOT_MODE_PROT32;
		entry->rip = elf.pvh_entry;
		entry->gpr[X86_RBX] = info;
		entry->gpr[X86_RSP] = BOOT_STACK_TOP;
		return 0;
	}

	if (elf.is64 && elf.is_linux)
		return elf_load_linux(vm, img, &elf, entry);
	ret = boot_refuse_extras(vm, img->path, elf.is64 ? "plain ELF64 kernel" : "plain ELF32 kernel");
	if (ret < 0)
		return ret;
	entry->mode = elf.is64 ? BOOT_MODE_LONG64 : BOOT_MODE_PROT32;
	unsigned areas = BOOT_AREA_GDT | BOOT_AREA_STACK;
	if (elf.is64)
		areas |= BOOT_AREA_PAGETABLES;
	ret = elf_load_segments(vm, img, areas, &elf);
	if (ret < 0)
		return ret;
	ret = elf_check_entry(vm, img, elf.entry, entry->mode);
	if (ret < 0)
		return ret;
	entry->rip = elf.entry;
	entry->gpr[X86_RSP] = BOOT_STACK_TOP;
	return 0;
}

const struct boot_format elf_format = {
	.name = "ELF",
	.probe = elf_probe,
	.load = elf_load_image,
};
