/* Linux bzImage kernels (x86 boot protocol 2.06 and later,
 * Documentation/arch/x86/boot.rst), booted the way Firecracker and
 * kvmtool do: the real-mode setup code is skipped, the protected-mode
 * kernel goes to its preferred address and is entered at its 64-bit entry
 * point (load address + 0x200) in long mode with identity paging and RSI
 * pointing at the zero page.  Kernels without a 64-bit entry
 * (XLF_KERNEL_64, protocol 2.12) get the 32-bit entry at the load address
 * with ESI pointing at the zero page instead.
 *
 * The boot protocol wants CS = 0x10 and DS = 0x18 at the 32-bit entry,
 * which is what our GDT has.  At the 64-bit entry our CS is 0x08; the
 * kernel loads its own GDT before it depends on a selector value, as
 * Firecracker's identical choice shows. */
#include <errno.h>
#include <string.h>

#include "boot/loaders.h"
#include "core/log.h"
#include "core/vm.h"

#define BZ_SETUP_SECTS 0x1f1
#define BZ_BOOT_FLAG 0x1fe
#define BZ_JUMP 0x200
#define BZ_MAGIC_OFFSET 0x202
#define BZ_MAGIC 0x53726448u	/* "HdrS" */
#define BZ_VERSION 0x206
#define BZ_LOADFLAGS 0x211
#define BZ_CODE32_START 0x214
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE 0x234
#define BZ_XLOADFLAGS 0x236
#define BZ_CMDLINE_SIZE 0x238
#define BZ_PREF_ADDRESS 0x258
#define BZ_INIT_SIZE 0x260

#define BOOT_FLAG 0xaa55
#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x0001
#define SETUP_SECTS_MAX 64	/* the kernel's build tool allows no more */
#define ENTRY64_OFFSET 0x200
#define KERNEL_LOW_ADDR 0x100000ull

static bool bzimage_probe(const struct boot_image *img)
{
	return img->size >= BZ_MAGIC_OFFSET + 4 &&
	       boot_le32(img->data + BZ_MAGIC_OFFSET) == BZ_MAGIC;
}

/* The header must reach the last field of its protocol version */
static uint64_t bzimage_header_needs(uint16_t version)
{
	if (version >= 0x20a)
		return BZ_INIT_SIZE + 4;
	return BZ_CMDLINE_SIZE + 4;
}

int bzimage_parse_header(const struct boot_image *img, struct bzimage_header *h)
{
	const uint8_t *d = img->data;

	*h = (struct bzimage_header){ 0 };
	if (!bzimage_probe(img)) {
		log_error("kernel '%s': no Linux setup header (\"HdrS\" at 0x202)", img->path);
		return -ENOEXEC;
	}
	if (boot_le16(d + BZ_BOOT_FLAG) != BOOT_FLAG) {
		log_error("kernel '%s': Linux setup header without the 0xAA55 boot flag", img->path);
		return -ENOEXEC;
	}
	if (img->size < BZ_VERSION + 2) {
		log_error("kernel '%s': Linux setup header is truncated (file is %zu bytes)",
			  img->path, img->size);
		return -ENOEXEC;
	}
	h->version = boot_le16(d + BZ_VERSION);
	if (h->version < 0x206) {
		log_error("kernel '%s': Linux boot protocol %u.%02u is older than 2.06, the oldest minivmm boots",
			  img->path, h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	h->hdr_end = BZ_MAGIC_OFFSET + (uint64_t)d[BZ_JUMP + 1];
	uint64_t needs = bzimage_header_needs(h->version);
	if (h->hdr_end < needs)
		h->hdr_end = needs;	/* an odd jump: take the fields the version promises */
	h->setup_sects = d[BZ_SETUP_SECTS] ? d[BZ_SETUP_SECTS] : 4;
	if (h->setup_sects > SETUP_SECTS_MAX) {
		log_error("kernel '%s': %u setup sectors, more than the %u a Linux kernel has",
			  img->path, h->setup_sects, SETUP_SECTS_MAX);
		return -ENOEXEC;
	}
	h->setup_size = ((uint64_t)h->setup_sects + 1) * 512;
	if (h->hdr_end > h->setup_size) {
		log_error("kernel '%s': setup header runs past the %u setup sectors", img->path,
			  h->setup_sects);
		return -ENOEXEC;
	}
	if (img->size <= h->setup_size) {
		log_error("kernel '%s': file ends (%zu bytes) before the protected-mode kernel at 0x%llx",
			  img->path, img->size, (unsigned long long)h->setup_size);
		return -ENOEXEC;
	}
	h->loadflags = d[BZ_LOADFLAGS];
	if (!(h->loadflags & LOADED_HIGH)) {
		log_error("kernel '%s': a zImage (kernel loaded low), which minivmm does not boot",
			  img->path);
		return -ENOEXEC;
	}
	h->initrd_addr_max = boot_le32(d + BZ_INITRD_ADDR_MAX);
	h->kernel_alignment = boot_le32(d + BZ_KERNEL_ALIGNMENT);
	h->relocatable = d[BZ_RELOCATABLE] != 0;
	h->cmdline_size = boot_le32(d + BZ_CMDLINE_SIZE);
	if (h->version >= 0x20c)
		h->xloadflags = boot_le16(d + BZ_XLOADFLAGS);
	uint64_t kernel_size = img->size - h->setup_size;
	if (h->version >= 0x20a) {
		h->pref_address = boot_le64(d + BZ_PREF_ADDRESS);
		h->init_size = boot_le32(d + BZ_INIT_SIZE);
	} else {
		h->pref_address = KERNEL_LOW_ADDR;
	}
	/* an init_size below the file's kernel would be a lie; never trust it */
	if (h->init_size < kernel_size)
		h->init_size = kernel_size > UINT32_MAX ? UINT32_MAX : (uint32_t)kernel_size;
	return 0;
}

/* Where the protected-mode kernel goes: its preferred address when it may
 * be moved there, else the classic 1 MiB */
static uint64_t bzimage_load_addr(const struct vm *vm, const struct bzimage_header *h)
{
	uint64_t pref = h->pref_address;
	uint64_t align = h->kernel_alignment;
	if (h->relocatable && pref >= KERNEL_LOW_ADDR && pref < PC_LOWMEM_LIMIT &&
	    (align == 0 || (align & (align - 1)) != 0 || (pref & (align - 1)) == 0) &&
	    guest_mem_ptr(&vm->mem, pref, h->init_size))
		return pref;
	return KERNEL_LOW_ADDR;
}

int bzimage_load_image(struct vm *vm, const struct boot_image *img, struct boot_entry *entry)
{
	struct bzimage_header h;
	int ret = bzimage_parse_header(img, &h);
	if (ret < 0)
		return ret;

	bool entry64 = h.xloadflags & XLF_KERNEL_64;
	uint64_t load = bzimage_load_addr(vm, &h);
	uint64_t kernel_size = img->size - h.setup_size;
	/* below its preferred address the kernel decompresses itself up there
	 * (LOAD_PHYSICAL_ADDR), so that range must be RAM as well */
	uint64_t run = h.pref_address > load && h.pref_address < PC_LOWMEM_LIMIT ? h.pref_address : load;
	uint64_t end = run + h.init_size;
	if (!guest_mem_ptr(&vm->mem, load, end - load)) {
		log_error("kernel '%s' needs RAM up to 0x%llx (%llu MiB) to unpack; -m %llu MiB is too small",
			  img->path, (unsigned long long)end, (unsigned long long)((end + (1 << 20) - 1) >> 20),
			  (unsigned long long)(vm->mem.ram_size >> 20));
		return -ENOMEM;
	}
	ret = boot_check_placement(vm, img->path, "kernel", load, end - load,
				   BOOT_AREA_GDT | BOOT_AREA_INFO | BOOT_AREA_STACK |
				   BOOT_AREA_PAGETABLES | BOOT_AREA_ACPI);
	if (ret < 0)
		return ret;

	/* the setup header as the kernel wants to find it in the zero page */
	uint8_t hdr[0x200];
	uint64_t hdr_len = h.hdr_end - LINUX_SETUP_HEADER_OFFSET;
	if (hdr_len > sizeof(hdr))
		hdr_len = sizeof(hdr);
	memcpy(hdr, img->data + LINUX_SETUP_HEADER_OFFSET, hdr_len);
	/* the 32-bit entry is where we put the kernel */
	boot_put_le32(hdr + (BZ_CODE32_START - LINUX_SETUP_HEADER_OFFSET), (uint32_t)load);
	struct linux_boot lb = {
		.setup_header = hdr,
		.hdr_len = hdr_len,
		.kernel_end = end,
		.initrd_addr_max = h.initrd_addr_max,
		.cmdline_size = h.cmdline_size,
	};
	ret = linux_write_zeropage(vm, img->path, &lb);
	if (ret < 0)
		return ret;
	memcpy(guest_mem_ptr(&vm->mem, load, kernel_size), img->data + h.setup_size, kernel_size);

	if (entry64) {
		entry->mode = BOOT_MODE_LONG64;
		entry->rip = load + ENTRY64_OFFSET;
	} else {
		entry->mode = BOOT_MODE_PROT32;
		entry->rip = load;
	}
	entry->gpr[X86_RSI] = BOOT_ZEROPAGE_ADDR;
	entry->gpr[X86_RSP] = BOOT_STACK_TOP;
	return 0;
}

const struct boot_format bzimage_format = {
	.name = "Linux bzImage",
	.probe = bzimage_probe,
	.load = bzimage_load_image,
};
