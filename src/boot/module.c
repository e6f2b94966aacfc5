/* What Multiboot and PVH share: the strings area and modules (-initrd)
 * loaded page by page after the kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/loaders.h"
#include "core/log.h"
#include "core/vm.h"

#define PAGE_SIZE 0x1000ull

void boot_strings_init(struct boot_strings *s)
{
	s->next = BOOT_STRINGS_ADDR;
}

uint64_t boot_strings_put(struct vm *vm, struct boot_strings *s, const char *path,
			  const char *str, size_t len)
{
	if (len >= BOOT_STRINGS_END - s->next) {
		log_error("kernel '%s': command line and module strings are longer than the %llu bytes minivmm has for them",
			  path, (unsigned long long)(BOOT_STRINGS_END - BOOT_STRINGS_ADDR - 1));
		return 0;
	}
	uint8_t *p = guest_mem_ptr(&vm->mem, s->next, len + 1);
	if (!p) {
		log_error("kernel '%s': guest RAM is too small for the boot information", path);
		return 0;
	}
	memcpy(p, str, len);
	p[len] = 0;
	uint64_t gpa = s->next;
	s->next += len + 1;
	return gpa;
}

int boot_load_module(struct vm *vm, const char *file, uint64_t *next_gpa, unsigned areas,
		     struct boot_module *mod)
{
	uint64_t gpa = (*next_gpa + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	uint64_t low_end = guest_mem_lowmem_end(&vm->mem);
	uint8_t *data;
	size_t size;
	int ret;

	if (gpa < *next_gpa || gpa >= low_end) {
		log_error("initrd '%s': no guest RAM left below 0x%llx to load it", file,
			  (unsigned long long)low_end);
		return -ENOMEM;
	}
	/* modules stay below the PCI hole: Multiboot addresses are 32-bit */
	ret = boot_read_file(vm, file, "initrd", low_end - gpa, &data, &size);
	if (ret < 0)
		return ret;
	char where[512];
	snprintf(where, sizeof(where), "initrd '%s'", file);
	ret = boot_check_placement(vm, where, "module", gpa, size, areas);
	if (ret == 0) {
		if (size)
			memcpy(guest_mem_ptr(&vm->mem, gpa, size), data, size);
		mod->start = gpa;
		mod->end = gpa + size;
		*next_gpa = gpa + size;
	}
	free(data);
	return ret;
}
