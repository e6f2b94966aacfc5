/* -kernel: read the image and hand it to the first format that claims it.
 * The order follows QEMU: a Linux boot header wins, then a Multiboot
 * header, then ELF; what none of them claims is a boot sector or a raw
 * binary.  Two entries only explain why a file that looks like Multiboot
 * is refused, rather than run it as a raw binary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot/acpi.h"
#include "boot/loaders.h"
#include "core/log.h"
#include "core/vm.h"
#include "virtio/virtio_mmio.h"

static const struct boot_format *const boot_formats[] = {
	&bzimage_format,
	&multiboot_format,
	&multiboot_misplaced_format,
	&elf_format,
	&multiboot_bad_checksum_format,
	&bootsector_format,
	&raw_format,
};

int boot_load_image(struct vm *vm, const struct boot_image *img, struct boot_entry *entry)
{
	for (size_t i = 0; i < sizeof(boot_formats) / sizeof(boot_formats[0]); i++) {
		const struct boot_format *f = boot_formats[i];
		if (!f->probe(img))
			continue;
		*entry = (struct boot_entry){ 0 };
		return f->load(vm, img, entry);
	}
	/* raw_format claims everything */
	log_error("kernel '%s': unknown image format", img->path);
	return -ENOEXEC;
}

int boot_load(struct vm *vm, struct boot_entry *entry)
{
	struct boot_image img = { .path = vm->cfg.kernel };
	uint8_t *buf;
	int ret;

	if (!img.path) {
		log_error("no kernel given");
		return -EINVAL;
	}
	/* an image cannot be larger than the RAM it has to fit in */
	ret = boot_read_file(vm, img.path, "kernel", vm->mem.ram_size, &buf, &img.size);
	if (ret < 0)
		return ret;
	img.data = buf;
	if (img.size == 0) {
		log_error("kernel '%s' is empty", img.path);
		ret = -ENOEXEC;
	} else {
		ret = boot_load_image(vm, &img, entry);
	}
	free(buf);
	return ret;
}

static const struct {
	unsigned area;
	const char *name;
	uint64_t start, end;	/* end 0: computed */
} boot_areas[] = {
	{ BOOT_AREA_GDT, "GDT", BOOT_GDT_ADDR, BOOT_GDT_AREA_END },
	{ BOOT_AREA_INFO, "boot information", BOOT_INFO_ADDR, BOOT_STRINGS_END },
	{ BOOT_AREA_STACK, "initial stack", BOOT_STACK_BOTTOM, BOOT_STACK_TOP },
	{ BOOT_AREA_PAGETABLES, "page tables", BOOT_PML4_ADDR, 0 },
	{ BOOT_AREA_ACPI, "ACPI tables", ACPI_AREA_ADDR, ACPI_AREA_END },
};

int boot_check_placement(const struct vm *vm, const char *path, const char *what, uint64_t gpa,
			 uint64_t len, unsigned areas)
{
	if (len == 0)
		return 0;
	if (gpa + len < gpa) {
		log_error("%s: %s at 0x%llx with size 0x%llx wraps around the address space",
			  path, what, (unsigned long long)gpa, (unsigned long long)len);
		return -ENOEXEC;
	}
	if (!guest_mem_ptr(&vm->mem, gpa, len)) {
		log_error("%s: %s at 0x%llx-0x%llx is outside guest RAM (%llu MiB)", path,
			  what, (unsigned long long)gpa, (unsigned long long)(gpa + len - 1),
			  (unsigned long long)(vm->mem.ram_size >> 20));
		return -ENOEXEC;
	}
	for (size_t i = 0; i < sizeof(boot_areas) / sizeof(boot_areas[0]); i++) {
		if (!(areas & boot_areas[i].area))
			continue;
		uint64_t start = boot_areas[i].start;
		uint64_t end = boot_areas[i].end ? boot_areas[i].end : boot_pagetables_end(&vm->mem);
		if (gpa < end && start < gpa + len) {
			log_error("%s: %s at 0x%llx-0x%llx overlaps the %s that minivmm puts at 0x%llx-0x%llx",
				  path, what, (unsigned long long)gpa,
				  (unsigned long long)(gpa + len - 1), boot_areas[i].name,
				  (unsigned long long)start, (unsigned long long)(end - 1));
			return -ENOEXEC;
		}
	}
	return 0;
}

int boot_refuse_extras(const struct vm *vm, const char *path, const char *format)
{
	if (vm->cfg.initrd) {
		log_error("kernel '%s' is a %s, which has no way to receive -initrd (use a Multiboot or PVH kernel)",
			  path, format);
		return -EINVAL;
	}
	if (vm->cfg.append)
		log_warn("kernel '%s' is a %s, which has no command line: -append ignored", path,
			 format);
	return 0;
}

int boot_linux_cmdline(const struct vm *vm, char *buf, size_t cap)
{
	const struct vm_virtio_mmio *slots = &vm->virtio_mmio;
	const char *append = vm->cfg.append ? vm->cfg.append : "";
	size_t len = 0;
	int n = snprintf(buf, cap, "%s", append);
	/* as QEMU: only without ACPI, so that a kernel that reads both does
	 * not find each transport twice */
	bool devices = vm->cfg.machine == MACHINE_MICROVM && vm->cfg.microvm.auto_kernel_cmdline &&
		       !acpi_enabled(vm);
	for (unsigned i = 0; devices && i < slots->nr && n >= 0 && (size_t)n < cap - len; i++) {
		len += (size_t)n;
		n = snprintf(buf + len, cap - len, "%svirtio_mmio.device=%u@0x%llx:%u",
			     len ? " " : "", VIRTIO_MMIO_SLOT_SIZE,
			     (unsigned long long)(slots->base + (uint64_t)i * VIRTIO_MMIO_SLOT_SIZE),
			     slots->gsi_base + i);
	}
	if (n < 0 || (size_t)n >= cap - len)
		return -E2BIG;
	return (int)(len + (size_t)n);
}
