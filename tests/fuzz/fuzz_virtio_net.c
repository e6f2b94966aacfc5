/* libFuzzer target: virtio-net's transmit path and control queue, and its
 * receive path around them, on rings, headers, commands and frames taken
 * from the input: with or without a vnet header on the back-end, one or
 * two queue pairs, mergeable buffers or not, a back-end that is full at
 * times, link changes, and a reset at the end (which must finish: nothing
 * may stay in flight).  The back-end is net_fake.h's, which aborts when
 * the device hands it a frame outside guest RAM or of a length it should
 * have refused. */
// FUZZ_SOURCES: src/virtio/virtio.c src/virtio/virtqueue.c src/virtio/virtio_pci.c src/virtio/virtio_pci_irqfd.c src/virtio/virtio_mmio.c src/virtio/virtio_net*.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c src/hw/pci_host.c src/hw/msix.c src/net/vhost_net.c
#include "core/config.h"
#include "fuzz_virtio.h"
#include "../unit/net_fake.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_net_proto.h"

static struct vm vm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_vm_init(&vm);
	return 0;
}

/* One step of the plan: what the driver (or the network) does next */
enum step {
	STEP_TX,	/* a frame to send: header and length from the input */
	STEP_CTRL,	/* a control command */
	STEP_RX_BUF,	/* receive buffers */
	STEP_RX_FRAME,	/* a frame from the network */
	STEP_KICK,	/* notify every queue */
	STEP_FULL,	/* the back-end is full, or has room again (tx_ready) */
	STEP_LINK,	/* the link goes down or up */
	STEP_STEPS
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in = { data, size };
	uint8_t control = fz_u8(&in);
	bool vnet_hdr = control & 0x10;
	unsigned pairs = control & 0x20 ? 2 : 1;
	fake_net_init(vnet_hdr, pairs);
	fake_net.ram = vm.mem.base;
	fake_net.ram_size = vm.mem.ram_size;
	struct virtio_device_config dc = {
		.type = VIRTIO_DEVICE_NET,
		.common = fz_common_config(control),
		.net = { .has_mac = true, .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, .mq = pairs > 1,
			 .rx_queue_size = control & 8 ? 16 : 8, .tx_queue_size = control & 0x40 ? 16 : 8,
			 .features_off = control & 0x80 ? VIRTIO_FEATURE(VIRTIO_NET_F_MRG_RXBUF) : 0 },
	};
	struct virtio_dev *vdev;
	if (virtio_net_new(&vm, &dc, &fake_net, &vdev) < 0)
		abort();
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	fz_driver_setup(vdev, &in);
	/* the control queue is the last one; fz_driver_setup sets up the
	 * first four */
	unsigned ctrl_q = vdev->nr_queues - 1;
	uint8_t plan[24][8];
	unsigned nplan = fz_u8(&in) % 25;
	for (unsigned i = 0; i < nplan; i++)
		for (unsigned k = 0; k < 8; k++)
			plan[i][k] = fz_u8(&in);
	fz_fill_ram(&vm, &in);
	struct fz_queue fq[4] = { { 0 } };
	for (unsigned i = 0; i < nplan; i++) {
		const uint8_t *pl = plan[i];
		unsigned pair = pl[1] % pairs;
		uint64_t first;
		switch (pl[0] % STEP_STEPS) {
		case STEP_TX: {
			unsigned q = 2 * pair + 1;
			if (q >= 4)
				break;
			uint32_t len = pl[2] | (uint32_t)(pl[3] & 0x7) << 8;
			struct fz_piece pc[3] = { { VNET_HDR_LEN, false }, { len ? len : 1, false },
						  { 1, pl[4] & 0x80 } };
			unsigned n = pl[4] & 1 ? 3 : 2;
			if (pl[4] & 2) {	/* header and frame in one buffer */
				pc[0].len += pc[1].len;
				pc[1] = pc[2];
				n--;
			}
			fz_plant(&vm, vdev, q, &fq[q], pc, n, pl[4] & 4, &first);
			/* a header the features may or may not allow */
			uint8_t h[VNET_HDR_LEN] = { pl[5] & 3, pl[6] & 0x87, pl[7], 0, pl[7] & 0x7f,
						    0, pl[2] & 0x3f, 0, pl[3], 0, 0, 0 };
			guest_mem_write(&vm.mem, first, h, sizeof(h));
			break;
		}
		case STEP_CTRL: {
			if (ctrl_q >= 4)
				break;
			uint32_t len = 2 + pl[4] % 32;
			struct fz_piece pc[3] = { { len, false }, { 1, true }, { 1, true } };
			fz_plant(&vm, vdev, ctrl_q, &fq[ctrl_q], pc, pl[5] & 1 ? 3 : 2, pl[5] & 2,
				 &first);
			/* a class and command that exist, mostly; the data
			 * stays what the input put there */
			uint8_t cmd[6] = { pl[1] % 7, pl[2] % 3, pl[3], pl[6], pl[7], 0 };
			guest_mem_write(&vm.mem, first, cmd, len < 6 ? len : 6);
			break;
		}
		case STEP_RX_BUF: {
			unsigned q = 2 * pair;
			uint32_t len = 8 + (pl[2] | (uint32_t)(pl[3] & 0xf) << 8);
			struct fz_piece pc[2] = { { len, true }, { 1 + pl[4], true } };
			fz_plant(&vm, vdev, q, &fq[q], pc, pl[5] & 1 ? 2 : 1, pl[5] & 2, &first);
			break;
		}
		case STEP_RX_FRAME: {
			static uint8_t frame[NET_VNET_HDR_LEN + 9000];
			size_t len = (pl[2] | (size_t)(pl[3] & 0x1f) << 8) % sizeof(frame);
			memset(frame, pl[4], len);
			if (len > 16) {
				/* ours, broadcast, or a multicast/VLAN frame */
				size_t at = vnet_hdr ? NET_VNET_HDR_LEN : 0;
				static const uint8_t macs[3][6] = { { 0x52, 0x54, 0, 0x12, 0x34, 0x56 },
								    { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
								    { 1, 0, 0x5e, 0, 0, 1 } };
				if (at + 16 <= len) {
					memcpy(frame + at, macs[pl[5] % 3], 6);
					frame[at + 12] = pl[6] & 1 ? 0x81 : 0x08;
					frame[at + 13] = 0;
				}
			}
			int r = fake_net_deliver(pair, frame, len);
			if (r != 0 && r != -EAGAIN)
				abort();
			fake_net.port->rx_flush(fake_net.opaque, pair);
			break;
		}
		case STEP_KICK:
			for (unsigned q = 0; q < vdev->nr_queues; q++)
				virtq_kick(vdev, q);
			break;
		case STEP_FULL:
			fake_net.send_ret = pl[1] & 1 ? -EAGAIN : 0;
			if (!fake_net.send_ret)
				fake_net.port->tx_ready(fake_net.opaque, pair);
			break;
		case STEP_LINK:
			fake_net.port->link_changed(fake_net.opaque, pl[1] & 1);
			break;
		}
	}
	fake_net.send_ret = 0;
	for (unsigned q = 0; q < vdev->nr_queues; q++)
		virtq_kick(vdev, q);
	/* nothing is left in flight: the reset finishes at once */
	virtio_set_status(vdev, 0);
	if (virtio_status(vdev) != 0)
		abort();
	virtio_dev_cleanup(vdev);
	vdev->ops->destroy(vdev);
	return 0;
}
