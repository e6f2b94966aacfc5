/* libFuzzer target: fw_cfg's port and DMA interfaces.  The input is a
 * program of accesses to 0x510-0x51b (selector, data, the DMA address
 * halves; any width and value) with guest RAM, where the DMA descriptors
 * and their buffers are, taken from the rest of the input.  Items include
 * files of odd sizes, so reads run past their ends. */
// FUZZ_SOURCES: src/hw/fw_cfg.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c
#include "fuzz_virtio.h"
#include "hw/fw_cfg.h"
#include "hw/pc.h"

#define MAX_OPS 256

static struct vm vm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static uint8_t blob[5000];
	fz_vm_init(&vm);
	if (fw_cfg_create(&vm) < 0)
		abort();
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	if (fw_cfg_add_file(vm.fw_cfg, "etc/small", blob, 3) < 0 ||
	    fw_cfg_add_file(vm.fw_cfg, "etc/big", blob, sizeof(blob)) < 0 ||
	    fw_cfg_add_file(vm.fw_cfg, "etc/empty", NULL, 0) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[] = { 1, 2, 4, 4 };
	struct fz_input in = { data, size };
	unsigned nops = fz_u8(&in) % MAX_OPS;

	struct fz_input prog = fz_split(&in, (size_t)nops * 6);
	fz_fill_ram(&vm, &in);

	while (prog.left) {
		uint8_t op = fz_u8(&prog);
		uint8_t off = fz_u8(&prog) % 12;
		uint32_t val = fz_u32(&prog);
		uint64_t v;
		if (op & 1)
			io_bus_write(&vm.pio, FW_CFG_PORT_SEL + off, sizes[op >> 6], val);
		else
			io_bus_read(&vm.pio, FW_CFG_PORT_SEL + off, sizes[op >> 6], &v);
	}
	vm.devices[0].reset(vm.devices[0].opaque);
	return 0;
}
