/* libFuzzer target: arbitrary bytes as a Linux bzImage.  The magic, the
 * boot flag and (on request) a plausible version and loadflags are forced
 * so that mutations explore the setup header fields (setup_sects,
 * init_size, pref_address, cmdline_size, initrd_addr_max, ...); the image
 * then goes through the header parser, the loader with the zero page and
 * ACPI tables, and the boot CPU set-up. */
// FUZZ_SOURCES: src/boot/*.c src/hw/fw_cfg.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c
#include "boot/acpi.h"
#include "boot/loaders.h"
#include "fuzz_vm.h"

#define FUZZ_RAM (40ull << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_vm_init(FUZZ_RAM, "bz", "070701 an initrd");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_entry entry;
	struct bzimage_header h;
	/* the first byte steers: -initrd, -append, forced fields, vCPU count */
	uint8_t *buf = fuzz_input_copy(data, &size, 1, FUZZ_RAM);
	if (!buf)
		return 0;
	uint8_t control = data[0];
	if (size >= 0x206 && !(control & 8)) {
		memcpy(buf + 0x202, "HdrS", 4);
		boot_put_le16(buf + 0x1fe, 0xaa55);
	}
	if (size >= 0x268 && (control & 0x10)) {
		boot_put_le16(buf + 0x206, 0x20f);
		buf[0x211] |= 1;
		buf[0x1f1] %= 8;
		/* init_size small enough to fit RAM now and then */
		boot_put_le32(buf + 0x260, boot_le32(buf + 0x260) & 0x00ffffff);
	}
	struct boot_image img = { .path = "fuzz", .data = buf, .size = size };
	vm.cfg.initrd = control & 2 ? fuzz_file_path : NULL;
	vm.cfg.append = control & 4 ? "console=ttyS0 panic=-1" : NULL;
	vm.nr_vcpus = 1 + (control >> 6) * 21;	/* 1, 22, 43 or 64 */
	if (bzimage_parse_header(&img, &h) == 0 &&
	    (h.setup_size >= size || h.hdr_end > h.setup_size || h.version < 0x206))
		abort();	/* the parser promised what the loader relies on */
	int ret = control & 1 ? boot_load_image(&vm, &img, &entry)
			      : bzimage_load_image(&vm, &img, &entry);
	if (ret == 0) {
		if (boot_setup_cpu(&vm, &vm.vcpus[0], &entry) < 0)
			abort();	/* a loaded image must always be enterable */
		uint8_t *rsdp = guest_mem_ptr(&vm.mem, ACPI_RSDP_ADDR, 36);
		/* through the dispatch, another format may have taken it */
		if (!(control & 1) && (!rsdp || memcmp(rsdp, "RSD PTR ", 8) || acpi_checksum(rsdp, 36)))
			abort();
	}
	free(buf);
	return 0;
}
