/* libFuzzer target: arbitrary bytes as a Multiboot kernel.  A control byte
 * can plant a valid header (magic and checksum for the fuzzed flags) at a
 * fuzzed 4-aligned offset, so mutations reach the a.out kludge, the ELF
 * form and the information structure with modules and command line. */
// FUZZ_SOURCES: src/boot/*.c src/hw/fw_cfg.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c
#include "boot/loaders.h"
#include "fuzz_vm.h"

#define FUZZ_RAM (16ull << 20)

static char module_spec[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_vm_init(FUZZ_RAM, "mb", "module contents");
	snprintf(module_spec, sizeof(module_spec), "%s a b,%s c=1,,2", fuzz_file_path,
		 fuzz_file_path);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_entry entry;
	uint8_t *buf = fuzz_input_copy(data, &size, 2, FUZZ_RAM);
	if (!buf)
		return 0;
	uint8_t control = data[0], where = data[1];
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
