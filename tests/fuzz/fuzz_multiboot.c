/* libFuzzer target: arbitrary bytes as a Multiboot kernel.  A control byte
 * can plant a valid header (magic and checksum for the fuzzed flags) at a
 * fuzzed 4-aligned offset, so mutations reach the a.out kludge, the ELF
 * form and the information structure with modules and command line. */
// FUZZ_SOURCES: src/boot/*.c src/mem/guest_mem.c src/core/log.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/loaders.h"
#include "core/vm.h"

#define FUZZ_RAM (16ull << 20)

static struct vm vm;
static struct x86_sregs fuzz_sregs;
static char module_spec[256];
static char module_path[64];

static int fuzz_get_sregs(struct vcpu *vcpu, struct x86_sregs *s)
{
	(void)vcpu;
	*s = fuzz_sregs;
	return 0;
}

static int fuzz_set_sregs(struct vcpu *vcpu, const struct x86_sregs *s)
{
	(void)vcpu;
	fuzz_sregs = *s;
	return 0;
}

static int fuzz_set_regs(struct vcpu *vcpu, const struct x86_regs *r)
{
	(void)vcpu;
	(void)r;
	return 0;
}

static const struct accel_ops fuzz_accel = {
	.name = "fuzz",
	.get_sregs = fuzz_get_sregs,
	.set_sregs = fuzz_set_sregs,
	.set_regs = fuzz_set_regs,
};

static void remove_temp_file(void)
{
	unlink(module_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (guest_mem_init_pc(&vm.mem, FUZZ_RAM) < 0)
		abort();
	vm.cfg.ram_size = FUZZ_RAM;
	vm.accel = &fuzz_accel;
	vm.nr_vcpus = 1;
	vm.vcpus[0].vm = &vm;
	snprintf(module_path, sizeof(module_path), "/tmp/minivmm-fuzz-mb-%d", (int)getpid());
	FILE *f = fopen(module_path, "w");
	if (!f)
		abort();
	fputs("module contents", f);
	fclose(f);
	atexit(remove_temp_file);
	snprintf(module_spec, sizeof(module_spec), "%s a b,%s c=1,,2", module_path, module_path);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_entry entry;
	if (size < 2 || size > FUZZ_RAM)
		return 0;
	uint8_t control = data[0], where = data[1];
	data += 2;
	size -= 2;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	size_t off = (size_t)where * 4;
	if ((control & 1) && off + 12 <= size) {
		uint32_t flags = boot_le32(buf + off + 4);
		boot_put_le32(buf + off, 0x1badb002u);
		boot_put_le32(buf + off + 8, -(0x1badb002u + flags));
	}
	struct boot_image img = { .path = "fuzz", .data = buf, .size = size };
	vm.cfg.initrd = control & 2 ? module_spec : NULL;
	vm.cfg.append = control & 4 ? "root=/dev/vda" : NULL;
	int ret = control & 8 ? boot_load_image(&vm, &img, &entry)
			      : multiboot_load_image(&vm, &img, &entry);
	if (ret == 0 && boot_setup_cpu(&vm, &vm.vcpus[0], &entry) < 0)
		abort();	/* a loaded image must always be enterable */
	free(buf);
	return 0;
}
