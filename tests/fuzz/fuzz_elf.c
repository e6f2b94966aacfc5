/* libFuzzer target: arbitrary bytes as an ELF kernel (the magic is forced
 * so that mutations explore the headers), loaded through the ELF/PVH path
 * or the whole format dispatch, then the boot CPU set up for the result. */
// FUZZ_SOURCES: src/boot/*.c src/hw/fw_cfg.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c
#include "boot/loaders.h"
#include "fuzz_vm.h"

#define FUZZ_RAM (16ull << 20)

/* Make the header plausible so that mutations spend their time on the
 * program headers and segments rather than on the identification bytes */
static void elf_fix_header(uint8_t *buf, size_t size, bool is64)
{
	size_t phoff = is64 ? 64 : 52, phentsize = is64 ? 56 : 32;
	size_t fit = (size - phoff) / phentsize;
	buf[4] = is64 ? 2 : 1;
	buf[5] = 1;
	buf[6] = 1;
	boot_put_le16(buf + 16, 2);
	boot_put_le16(buf + 18, is64 ? 62 : 3);
	unsigned phnum = (buf[7] % 8) + 1;
	if (phnum > fit)
		phnum = (unsigned)fit;
	if (is64) {
		boot_put_le64(buf + 32, phoff);
		boot_put_le16(buf + 54, (uint16_t)phentsize);
		boot_put_le16(buf + 56, (uint16_t)phnum);
	} else {
		boot_put_le32(buf + 28, (uint32_t)phoff);
		boot_put_le16(buf + 42, (uint16_t)phentsize);
		boot_put_le16(buf + 44, (uint16_t)phnum);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_vm_init(FUZZ_RAM, "elf", "an initrd");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_entry entry;
	/* the first byte steers: which entry point, -initrd, -append */
	uint8_t *buf = fuzz_input_copy(data, &size, 1, FUZZ_RAM);
	if (!buf)
		return 0;
	uint8_t control = data[0];
	if (size >= 4 && !(control & 8))
		memcpy(buf, "\177ELF", 4);
	if ((control & 0x30) && size >= 64)
		elf_fix_header(buf, size, control & 0x20);
	struct boot_image img = { .path = "fuzz", .data = buf, .size = size };
	vm.cfg.initrd = control & 2 ? fuzz_file_path : NULL;
	vm.cfg.append = control & 4 ? "console=ttyS0" : NULL;
	int ret = control & 1 ? boot_load_image(&vm, &img, &entry) : elf_load_image(&vm, &img, &entry);
	if (ret == 0 && boot_setup_cpu(&vm, &vm.vcpus[0], &entry) < 0)
		abort();	/* a loaded image must always be enterable */
	free(buf);
	return 0;
}
