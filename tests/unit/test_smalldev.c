/* The small devices test kernels rely on: isa-debug-exit, debugcon,
 * fw_cfg and pc-testdev, driven through the buses as a guest would. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

#include "hw/fw_cfg.h"
#include "hw/pc.h"
#include "platform_vm.h"

static uint64_t mmio_read(struct vm *vm, uint64_t addr, unsigned size)
{
	uint64_t v;
	io_bus_read(&vm->mmio, addr, size, &v);
	return v;
}

static void mmio_write(struct vm *vm, uint64_t addr, unsigned size, uint64_t v)
{
	io_bus_write(&vm->mmio, addr, size, v);
}

/* --- isa-debug-exit --- */

/* The status a write of value (size bytes) at port asks for */
static int debug_exit_status(uint16_t iobase, uint16_t iosize, uint16_t port, unsigned size,
			     uint32_t value)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(isa_debug_exit_create(vm, iobase, iosize), 0);
	CHECK(vm_running(vm));
	io_bus_write(&vm->pio, port, size, value);
	CHECK_EQ(atomic_load(&vm->run_state), VM_STOP_EXIT);
	int status = vm->exit_status;
	test_vm_free(vm);
	return status;
}

TEST(debug_exit_status_values)
{
	/* (v << 1) | 1, as QEMU computes it */
	CHECK_EQ(debug_exit_status(0xf4, 4, 0xf4, 1, 0), 1);
	CHECK_EQ(debug_exit_status(0xf4, 4, 0xf4, 1, 1), 3);
	CHECK_EQ(debug_exit_status(0xf4, 4, 0xf4, 1, 0x7f), 0xff);
	/* the OS keeps 8 bits: 0x101 leaves as 1 */
	CHECK_EQ(debug_exit_status(0xf4, 4, 0xf4, 1, 0x80), 0x101);
	CHECK_EQ(debug_exit_status(0xf4, 4, 0xf4, 2, 0x1234), 0x2469);
	CHECK_EQ(debug_exit_status(0xf4, 4, 0xf4, 4, 0xffffffff), -1);
	/* any port of the range; QEMU's default place 0x501, size 2 */
	CHECK_EQ(debug_exit_status(0xf4, 4, 0xf7, 1, 2), 5);
	CHECK_EQ(debug_exit_status(0x501, 2, 0x502, 1, 0x10), 0x21);
}

TEST(debug_exit_reads_and_errors)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(isa_debug_exit_create(vm, 0xf4, 4), 0);
	CHECK_EQ(inb(vm, 0xf4), 0);
	CHECK_EQ(inl(vm, 0xf4), 0);
	CHECK(vm_running(vm));
	/* the same ports again, an empty range, one off the end of I/O space */
	CHECK_EQ(isa_debug_exit_create(vm, 0xf6, 2), -EEXIST);
	CHECK_EQ(isa_debug_exit_create(vm, 0x600, 0), -EINVAL);
	CHECK_EQ(isa_debug_exit_create(vm, 0xffff, 2), -EINVAL);
	CHECK_EQ(isa_debug_exit_create(vm, 0xfffe, 2), 0);
	/* the first request wins: a later write does not change the status */
	outb(vm, 0xf4, 3);
	outb(vm, 0xf4, 9);
	CHECK_EQ(vm->exit_status, 7);
	test_vm_free(vm);
}

/* --- debugcon --- */

TEST(debugcon_output_and_readback)
{
	char path[] = "/tmp/minivmm-debugcon-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct vm *vm = test_vm_new();
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path };
	CHECK_EQ(debugcon_create(vm, 0xe9, &cfg), 0);
	CHECK_EQ(inb(vm, 0xe9), 0xe9);
	outb(vm, 0xe9, 'o');
	outb(vm, 0xe9, 'k');
	/* a word write: the low byte is ours, the high one goes to 0xea */
	outw(vm, 0xe9, 0x2100 | '!');
	outb(vm, 0xe9, '\n');
	CHECK_EQ(debugcon_create(vm, 0xe9, &cfg), -EEXIST);
	test_vm_free(vm);

	char buf[16] = { 0 };
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, sizeof(buf) - 1), 4);
	close(fd);
	unlink(path);
	CHECK_STR(buf, "ok!\n");
}

/* --- fw_cfg --- */

static void fw_select(struct vm *vm, uint16_t key)
{
	outw(vm, FW_CFG_PORT_SEL, key);
}

static void fw_read(struct vm *vm, void *buf, size_t len)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)inb(vm, FW_CFG_PORT_DATA);
}

static uint64_t fw_read_le(struct vm *vm, uint16_t key, unsigned bytes)
{
	uint8_t b[8];
	uint64_t v = 0;
	fw_select(vm, key);
	fw_read(vm, b, bytes);
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct vm *fw_cfg_vm(void)
{
	struct vm *vm = test_vm_new_ram(48ull << 20);
	vm->cfg.smp = 3;
	CHECK_EQ(fw_cfg_create(vm), 0);
	CHECK(vm->fw_cfg != NULL);
	return vm;
}

TEST(fw_cfg_standard_items)
{
	struct vm *vm = fw_cfg_vm();
	char sig[5] = { 0 };
	/* the signature is selected from the start */
	fw_read(vm, sig, 4);
	CHECK_STR(sig, "QEMU");
	fw_select(vm, FW_CFG_SIGNATURE);
	memset(sig, 0, sizeof(sig));
	fw_read(vm, sig, 4);
	CHECK_STR(sig, "QEMU");
	/* past the end reads 0 */
	CHECK_EQ(inb(vm, FW_CFG_PORT_DATA), 0);
	CHECK_EQ(inb(vm, FW_CFG_PORT_DATA), 0);

	CHECK_EQ(fw_read_le(vm, FW_CFG_ID, 4), FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	CHECK_EQ(fw_read_le(vm, FW_CFG_NB_CPUS, 2), 3);
	CHECK_EQ(fw_read_le(vm, FW_CFG_MAX_CPUS, 2), 3);
	CHECK_EQ(fw_read_le(vm, FW_CFG_RAM_SIZE, 8), 48ull << 20);
	CHECK_EQ(fw_read_le(vm, FW_CFG_NOGRAPHIC, 2), 0);
	/* an empty directory: a zero count */
	CHECK_EQ(fw_read_le(vm, FW_CFG_FILE_DIR, 4), 0);
	CHECK_EQ(inb(vm, FW_CFG_PORT_DATA), 0);
	test_vm_free(vm);
}

static void put_be(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint32_t bswap32_t(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

/* Write a descriptor at desc and start it as a guest does: the high half
 * of the address at 0x514, the low half at 0x518, both big-endian */
static uint32_t fw_dma(struct vm *vm, uint64_t desc, uint32_t control, uint32_t len,
		       uint64_t addr)
{
	uint8_t d[16];
	put_be(d, control, 4);
	put_be(d + 4, len, 4);
	put_be(d + 8, addr, 8);
	if (guest_mem_write(&vm->mem, desc, d, sizeof(d)) < 0)
		return 0xdeadbeef;
	outl(vm, FW_CFG_PORT_DMA, bswap32_t((uint32_t)(desc >> 32)));
	outl(vm, FW_CFG_PORT_DMA + 4, bswap32_t((uint32_t)desc));
	CHECK_EQ(guest_mem_read(&vm->mem, desc, d, 4), 0);
	return be32(d);
}

TEST(fw_cfg_dma_transfers)
{
	struct vm *vm = fw_cfg_vm();
	uint8_t buf[128];
	const uint32_t sel = FW_CFG_DMA_SELECT | FW_CFG_DMA_READ;

	/* the signature reads at the DMA ports, as firmware probes it */
	uint32_t lo = inl(vm, FW_CFG_PORT_DMA), hi = inl(vm, FW_CFG_PORT_DMA + 4);
	CHECK(!memcmp(&lo, "QEMU", 4) && !memcmp(&hi, " CFG", 4));

	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, "etc/ten", "0123456789", 10), 0);
	uint16_t key = 0;
	fw_select(vm, FW_CFG_FILE_DIR);
	fw_read(vm, buf, 4 + 64);
	key = (uint16_t)(buf[8] << 8 | buf[9]);
	/* select and read past the end: zeros there, control back to 0 */
	memset(buf, 0xaa, sizeof(buf));
	CHECK_EQ(guest_mem_write(&vm->mem, 0x2000, buf, sizeof(buf)), 0);
	CHECK_EQ(fw_dma(vm, 0x1000, (uint32_t)key << 16 | sel, 16, 0x2000), 0);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x2000, buf, 17), 0);
	CHECK(!memcmp(buf, "0123456789\0\0\0\0\0\0", 16));
	CHECK_EQ(buf[16], 0xaa);
	/* skip, then read on from the offset */
	CHECK_EQ(fw_dma(vm, 0x1000, (uint32_t)key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_SKIP, 3, 0),
		 0);
	CHECK_EQ(fw_dma(vm, 0x1000, FW_CFG_DMA_READ, 4, 0x3000), 0);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x3000, buf, 4), 0);
	CHECK(!memcmp(buf, "3456", 4));
	/* the port interface shares the offset */
	CHECK_EQ(inb(vm, FW_CFG_PORT_DATA), '7');

	/* hostile: buffers outside RAM, wrapping, writes, a descriptor that
	 * is not RAM or straddles its end */
	uint64_t end = 48ull << 20;
	CHECK_EQ(fw_dma(vm, 0x1000, sel, 16, 0xf0000000ull) & FW_CFG_DMA_ERROR, FW_CFG_DMA_ERROR);
	CHECK_EQ(fw_dma(vm, 0x1000, sel, 0x100, end - 0x80) & FW_CFG_DMA_ERROR, FW_CFG_DMA_ERROR);
	CHECK_EQ(fw_dma(vm, 0x1000, sel, 0x200, ~0ull - 0xff) & FW_CFG_DMA_ERROR, FW_CFG_DMA_ERROR);
	CHECK_EQ(fw_dma(vm, 0x1000, (uint32_t)key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 4,
			0x2000) & FW_CFG_DMA_ERROR,
		 FW_CFG_DMA_ERROR);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x2000, buf, 4), 0);
	CHECK(!memcmp(buf, "0123", 4));	/* the item was not written */
	outl(vm, FW_CFG_PORT_DMA, 0x10);	/* descriptor far above RAM */
	outl(vm, FW_CFG_PORT_DMA + 4, 0);
	fw_cfg_dma(vm->fw_cfg, end - 8);
	fw_cfg_dma(vm->fw_cfg, ~0ull - 7);
	/* a huge skip saturates the offset, and reads then give zeros */
	CHECK_EQ(fw_dma(vm, 0x1000, (uint32_t)key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_SKIP,
			0xffffffffu, 0), 0);
	CHECK_EQ(fw_dma(vm, 0x1000, FW_CFG_DMA_SKIP, 0xffffffffu, 0), 0);
	CHECK_EQ(fw_dma(vm, 0x1000, FW_CFG_DMA_READ, 2, 0x2000), 0);
	CHECK_EQ(guest_mem_read(&vm->mem, 0x2000, buf, 2), 0);
	CHECK(buf[0] == 0 && buf[1] == 0);
	test_vm_free(vm);
}

TEST(fw_cfg_odd_selectors_and_accesses)
{
	struct vm *vm = fw_cfg_vm();
	/* keys nothing is behind read as zeros */
	CHECK_EQ(fw_read_le(vm, 0x1234, 8), 0);
	CHECK_EQ(fw_read_le(vm, 0x3fff, 8), 0);
	/* arch-local keys: there are none */
	CHECK_EQ(fw_read_le(vm, FW_CFG_ARCH_LOCAL | FW_CFG_SIGNATURE, 4), 0);
	CHECK_EQ(fw_read_le(vm, 0xffff, 4), 0);
	/* the write-channel bit does not change what is read */
	CHECK_EQ(fw_read_le(vm, FW_CFG_WRITE_CHANNEL | FW_CFG_NB_CPUS, 2), 3);
	/* the selector is write-only, and byte writes do not select */
	fw_select(vm, FW_CFG_SIGNATURE);
	CHECK_EQ(inw(vm, FW_CFG_PORT_SEL), 0);
	outb(vm, FW_CFG_PORT_SEL, FW_CFG_NB_CPUS);
	outb(vm, FW_CFG_PORT_DATA, 0x55);	/* data writes are ignored */
	/* a byte read at the selector port reads data, as in QEMU */
	CHECK_EQ(inb(vm, FW_CFG_PORT_SEL), 'Q');
	CHECK_EQ(inb(vm, FW_CFG_PORT_DATA), 'E');
	/* a word at the data port: its byte, then the unassigned 0x512 */
	CHECK_EQ(inw(vm, FW_CFG_PORT_DATA), 0xff00 | 'M');
	/* reselecting starts over */
	fw_select(vm, FW_CFG_SIGNATURE);
	CHECK_EQ(inb(vm, FW_CFG_PORT_DATA), 'Q');
	/* machine reset selects the signature again */
	fw_select(vm, FW_CFG_NB_CPUS);
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].reset)
			vm->devices[i].reset(vm->devices[i].opaque);
	CHECK_EQ(inb(vm, FW_CFG_PORT_DATA), 'Q');
	test_vm_free(vm);
}

TEST(fw_cfg_file_directory)
{
	struct vm *vm = fw_cfg_vm();
	static const char blob_b[] = "second file, added first";
	static const uint8_t blob_a[3] = { 1, 2, 3 };
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, "etc/zz-b", blob_b, sizeof(blob_b)), 0);
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, "etc/aa-a", blob_a, sizeof(blob_a)), 0);
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, "etc/empty", NULL, 0), 0);

	uint8_t dir[4 + 3 * FW_CFG_FILE_ENTRY_SIZE];
	fw_select(vm, FW_CFG_FILE_DIR);
	fw_read(vm, dir, sizeof(dir));
	CHECK_EQ(inb(vm, FW_CFG_PORT_DATA), 0);	/* that was all of it */
	CHECK_EQ(be32(dir), 3);
	/* sorted by name, each with its size and key (big-endian) */
	const uint8_t *e0 = dir + 4, *e1 = e0 + 64, *e2 = e1 + 64;
	CHECK_STR((const char *)e0 + 8, "etc/aa-a");
	CHECK_STR((const char *)e1 + 8, "etc/empty");
	CHECK_STR((const char *)e2 + 8, "etc/zz-b");
	CHECK_EQ(be32(e0), sizeof(blob_a));
	CHECK_EQ(be32(e1), 0);
	CHECK_EQ(be32(e2), sizeof(blob_b));
	uint16_t key_a = (uint16_t)(e0[4] << 8 | e0[5]);
	uint16_t key_b = (uint16_t)(e2[4] << 8 | e2[5]);
	CHECK_EQ(key_b, FW_CFG_FILE_FIRST);
	CHECK_EQ(key_a, FW_CFG_FILE_FIRST + 1);
	CHECK_EQ(e0[6] | e0[7], 0);

	/* the files themselves, through the keys the directory gave */
	char b[sizeof(blob_b)];
	fw_select(vm, key_b);
	fw_read(vm, b, sizeof(b));
	CHECK_STR(b, blob_b);
	uint8_t a[4];
	fw_select(vm, key_a);
	fw_read(vm, a, 4);
	CHECK_EQ(a[0], 1);
	CHECK_EQ(a[2], 3);
	CHECK_EQ(a[3], 0);	/* past the end */
	test_vm_free(vm);
}

TEST(fw_cfg_add_file_errors)
{
	struct vm *vm = fw_cfg_vm();
	char name[80];
	memset(name, 'n', 55);
	name[55] = 0;
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, name, "x", 1), 0);	/* 55 + NUL fits */
	name[55] = 'n';
	name[56] = 0;
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, name, "x", 1), -EINVAL);
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, "", "x", 1), -EINVAL);
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, NULL, "x", 1), -EINVAL);
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, "etc/x", NULL, 4), -EINVAL);
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, "etc/x", "abc", 3), 0);
	CHECK_EQ(fw_cfg_add_file(vm->fw_cfg, "etc/x", "abc", 3), -EEXIST);
	int added = 2, ret = 0;
	for (int i = 0; i < 100 && ret == 0; i++) {
		snprintf(name, sizeof(name), "opt/f%03d", i);
		ret = fw_cfg_add_file(vm->fw_cfg, name, &i, sizeof(i));
		if (ret == 0)
			added++;
	}
	CHECK_EQ(ret, -ENOSPC);
	CHECK_EQ(added, FW_CFG_MAX_FILES);
	CHECK_EQ(fw_read_le(vm, FW_CFG_FILE_DIR, 4), (uint64_t)__builtin_bswap32(FW_CFG_MAX_FILES));
	/* the last key holds the last file */
	CHECK_EQ(fw_read_le(vm, FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES - 1, 4),
		 FW_CFG_MAX_FILES - 3);
	/* a second fw_cfg cannot have the ports */
	struct fw_cfg *first = vm->fw_cfg;
	CHECK_EQ(fw_cfg_create(vm), -EEXIST);
	CHECK(vm->fw_cfg == first);
	test_vm_free(vm);
}

/* --- pc-testdev --- */

TEST(testdev_scratch_ports)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(pc_testdev_create(vm), 0);
	CHECK_EQ(inl(vm, 0xe0), 0);
	outl(vm, 0xe0, 0x12345678);
	CHECK_EQ(inl(vm, 0xe0), 0x12345678);
	CHECK_EQ(inb(vm, 0xe2), 0x34);
	CHECK_EQ(inw(vm, 0xe1), 0x3456);
	CHECK_EQ(inw(vm, 0xe2), 0x1234);
	outb(vm, 0xe3, 0xab);
	outw(vm, 0xe0, 0xcdef);
	CHECK_EQ(inl(vm, 0xe0), 0xab34cdef);
	/* the byte-wide window at 0xe8 is the same register */
	CHECK_EQ(inl(vm, 0xe8), 0xab34cdef);
	outb(vm, 0xe9, 0x99);
	CHECK_EQ(inl(vm, 0xe0), 0xab3499ef);
	outl(vm, 0xe8, 0x01020304);
	CHECK_EQ(inl(vm, 0xe0), 0x01020304);
	/* a dword at 0xe2 runs into the flush port, which reads 0 */
	CHECK_EQ(inl(vm, 0xe2), 0x00000102);
	/* flush and interrupt-line ports read 0 and take writes */
	CHECK_EQ(inl(vm, 0xe4), 0);
	outl(vm, 0xe4, 0x1000);
	outl(vm, 0xe4, 0xfffff000);
	CHECK_EQ(inb(vm, 0x2000), 0);
	CHECK_EQ(inl(vm, 0xe0), 0x01020304);
	test_vm_free(vm);
}

TEST(testdev_with_debugcon)
{
	/* -debugcon keeps port 0xe9; the rest of the byte window works */
	struct vm *vm = test_vm_new();
	struct chardev_config none = { .kind = CHARDEV_NONE };
	CHECK_EQ(debugcon_create(vm, 0xe9, &none), 0);
	CHECK_EQ(pc_testdev_create(vm), 0);
	outl(vm, 0xe0, 0x44332211);
	CHECK_EQ(inb(vm, 0xe8), 0x11);
	CHECK_EQ(inb(vm, 0xe9), 0xe9);
	CHECK_EQ(inb(vm, 0xea), 0x33);
	CHECK_EQ(inb(vm, 0xeb), 0x44);
	test_vm_free(vm);
}

TEST(testdev_irq_lines)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(pc_testdev_create(vm), 0);
	outb(vm, 0x2000 + 5, 1);
	CHECK_EQ(fake_irq_level[5], 1);
	outb(vm, 0x2000 + 5, 0);
	CHECK_EQ(fake_irq_level[5], 0);
	CHECK_EQ(fake_irq_rises[5], 1);
	/* any non-zero byte raises */
	outb(vm, 0x2000 + 23, 0x80);
	CHECK_EQ(fake_irq_level[23], 1);
	outb(vm, 0x2000 + 10, 7);
	CHECK_EQ(fake_irq_level[10], 1);
	/* byte writes only: a word is dropped */
	outw(vm, 0x2000 + 10, 0);
	CHECK_EQ(fake_irq_level[10], 1);
	CHECK_EQ(fake_irq_level[11], 0);
	/* past the 24 lines nothing is there */
	outb(vm, 0x2000 + 24, 1);
	for (int i = 0; i < FAKE_GSIS; i++)
		if (i != 23 && i != 10)
			CHECK_EQ(fake_irq_level[i], 0);
	test_vm_free(vm);
}

TEST(testdev_iomem)
{
	struct vm *vm = test_vm_new();
	const uint64_t base = 0xff000000;
	CHECK_EQ(pc_testdev_create(vm), 0);
	mmio_write(vm, base, 4, 0xdeadbeef);
	CHECK_EQ(mmio_read(vm, base, 8), 0xdeadbeef);
	CHECK_EQ(mmio_read(vm, base + 1, 1), 0xbe);
	CHECK_EQ(mmio_read(vm, base + 2, 2), 0xdead);
	mmio_write(vm, base + 0x100, 8, 0x0123456789abcdefull);
	CHECK_EQ(mmio_read(vm, base + 0x100, 8), 0x0123456789abcdefull);
	CHECK_EQ(mmio_read(vm, base + 0x104, 4), 0x01234567);
	mmio_write(vm, base + 0x102, 1, 0x00);
	CHECK_EQ(mmio_read(vm, base + 0x100, 8), 0x012345678900cdefull);
	/* the last bytes, and an access that runs off the end */
	mmio_write(vm, base + 0xfff8, 8, 0x1111111122222222ull);
	CHECK_EQ(mmio_read(vm, base + 0xfffc, 4), 0x11111111);
	CHECK_EQ(mmio_read(vm, base + 0xfffe, 4), 0xffff1111);
	mmio_write(vm, base + 0xffff, 2, 0x3344);
	CHECK_EQ(mmio_read(vm, base + 0xffff, 1), 0x44);
	/* reset clears the scratch state */
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].reset)
			vm->devices[i].reset(vm->devices[i].opaque);
	CHECK_EQ(mmio_read(vm, base, 8), 0);
	test_vm_free(vm);
}

TEST(testdev_twice)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(pc_testdev_create(vm), 0);
	outl(vm, 0xe0, 0xfeedface);
	CHECK_EQ(pc_testdev_create(vm), -EEXIST);
	/* the failed one took nothing of the first one's with it */
	CHECK_EQ(inl(vm, 0xe0), 0xfeedface);
	CHECK_EQ(inl(vm, 0xe8), 0xfeedface);
	mmio_write(vm, 0xff000010, 4, 0x5a5a5a5a);
	CHECK_EQ(mmio_read(vm, 0xff000010, 4), 0x5a5a5a5a);
	test_vm_free(vm);
}

RUN_TESTS(T(debug_exit_status_values), T(debug_exit_reads_and_errors),
	  T(debugcon_output_and_readback), T(fw_cfg_standard_items), T(fw_cfg_dma_transfers),
	  T(fw_cfg_odd_selectors_and_accesses), T(fw_cfg_file_directory),
	  T(fw_cfg_add_file_errors), T(testdev_scratch_ports), T(testdev_with_debugcon),
	  T(testdev_irq_lines), T(testdev_iomem), T(testdev_twice))
