/* libFuzzer target: virtio-rng's queue processing (and through it the
 * split and packed ring code) on rings whose every byte, and the
 * driver's feature and queue choices, come from the input: descriptor
 * tables, indirect tables, available/used rings and event structures in
 * guest RAM.  The device must never touch memory outside guest RAM, never
 * loop without bound, and keep its accounting (a reset finishes). */
// FUZZ_SOURCES: src/virtio/virtio.c src/virtio/virtqueue.c src/virtio/virtio_pci.c src/virtio/virtio_pci_irqfd.c src/virtio/virtio_mmio.c src/virtio/virtio_rng.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c src/hw/pci_host.c src/hw/msix.c
#include "core/config.h"
#include "fuzz_virtio.h"
#include "virtio/virtio_rng.h"

static struct vm vm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_vm_init(&vm);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in = { data, size };
	uint8_t control = fz_u8(&in);
	struct virtio_device_config dc = {
		.type = VIRTIO_DEVICE_RNG,
		.common = fz_common_config(control),
		.rng = { .max_bytes = control & 8 ? fz_u16(&in) : UINT64_MAX, .period_ms = 100 },
	};
	struct virtio_dev *vdev;
	if (virtio_rng_new(&vm, &dc, &vdev) < 0)
		abort();
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	fz_driver_setup(vdev, &in);
	unsigned rounds = fz_u8(&in) % 4 + 1;
	/* buffers a driver would offer, shaped by the input */
	uint8_t plan[8][3];
	unsigned nplan = fz_u8(&in) % 9;
	for (unsigned i = 0; i < nplan; i++)
		for (unsigned k = 0; k < 3; k++)
			plan[i][k] = fz_u8(&in);
	fz_fill_ram(&vm, &in);
	struct fz_queue fq = { 0 };
	for (unsigned i = 0; i < nplan; i++) {
		struct fz_piece pc[3];
		unsigned n = 1 + plan[i][0] % 3;
		for (unsigned k = 0; k < n; k++)
			pc[k] = (struct fz_piece){ 1 + plan[i][1] * (k + 1), !(plan[i][2] & (1u << k)) };
		uint64_t first;
		fz_plant(&vm, vdev, 0, &fq, pc, n, plan[i][2] & 0x80, &first);
	}
	for (unsigned r = 0; r < rounds; r++) {
		virtq_kick(vdev, 0);
		vm_clock_advance(&vm, 60 * 1000000ull);	/* the rate limit's period moves on */
		/* the driver's side moves too: rewrite the avail index */
		uint16_t *avail = (uint16_t *)(vm.mem.base + 0x1000 * (r + 1));
		avail[1] = (uint16_t)(avail[1] + r);
	}
	/* a reset must finish: nothing may be left in flight */
	virtio_set_status(vdev, 0);
	if (virtio_status(vdev) != 0)
		abort();
	virtio_dev_cleanup(vdev);
	vdev->ops->destroy(vdev);
	return 0;
}
