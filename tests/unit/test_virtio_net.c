/* virtio-net driven through its rings by a test driver, on a fake back-end
 * (net_fake.h) whose thread the test plays: frames sent with and without
 * a vnet header, bad headers and lengths dropped and counted, a full
 * back-end (the chain stays in the ring until tx_ready), mergeable and
 * single receive buffers, too few buffers (the frame waits, nothing is
 * lost or used twice), the receive filter set through the control queue
 * (promiscuous, MAC table, VLAN), queue pairs, offloads, link status and
 * announce, and a hostile chain breaking the device. */
#include "test.h"

#include <pthread.h>

#include "core/config.h"
#include "net_fake.h"
#include "platform_vm.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_net_proto.h"
#include "virtio_test.h"

#define RING(q) (0x10000u + 0x4000u * (q))
#define BUF 0x40000u
#define QSIZE 16

static struct vm *vm;
static struct virtio_dev *vdev;
static struct test_ring rings[9];
static uint16_t next_desc[9];
static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t OTHER[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

static uint64_t all_features(void)
{
	return vdev->host_features & ~VIRTIO_FEATURE(VIRTIO_F_RING_PACKED) &
	       ~VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX);
}

/* A driver reset and set-up again, on rings it has cleared */
static void driver_setup(uint64_t features)
{
	static uint8_t zero[0x4000];
	for (unsigned q = 0; q < vdev->nr_queues; q++) {
		gput(vm, RING(q), zero, sizeof(zero));
		next_desc[q] = 0;
	}
	test_driver_setup(vdev, features, rings, vdev->nr_queues);
}

static void net_up(bool vnet_hdr, unsigned queues, bool mq, uint64_t features_off, bool mrg)
{
	vm = test_vm_new();
	fake_net_init(vnet_hdr, queues);
	fake_net.ram = vm->mem.base;
	fake_net.ram_size = vm->mem.ram_size;
	struct virtio_device_config dc = {
		.type = VIRTIO_DEVICE_NET,
		.common = { .packed = true, .event_idx = true, .indirect_desc = true, .vectors = -1 },
		.net = { .has_mac = true, .mq = mq, .rx_queue_size = QSIZE, .tx_queue_size = QSIZE,
			 .features_off = features_off },
	};
	memcpy(dc.net.mac, MAC, 6);
	CHECK_EQ(virtio_net_new(vm, &dc, &fake_net, &vdev), 0);
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	test_queue_irqs = test_config_irqs = 0;
	for (unsigned q = 0; q < vdev->nr_queues; q++) {
		rings[q] = (struct test_ring){ .desc = RING(q), .driver = RING(q) + 0x1000,
					      .device = RING(q) + 0x2000, .size = QSIZE };
		next_desc[q] = 0;
	}
	uint64_t f = all_features();
	if (!mrg)
		f &= ~VIRTIO_FEATURE(VIRTIO_NET_F_MRG_RXBUF);
	driver_setup(f);
	CHECK(virtio_status(vdev) & VIRTIO_STATUS_DRIVER_OK);
}

static void net_down(void)
{
	virtio_dev_cleanup(vdev);
	CHECK(fake_net.closed);
	vdev->ops->destroy(vdev);
	test_vm_free(vm);
}

static uint64_t buf_at(unsigned q, uint16_t d)
{
	return BUF + 0x20000u * q + 0x1000u * d;
}

/* One chain of n pieces on queue q, made available; returns its head */
static uint16_t offer(unsigned q, const uint32_t *lens, unsigned n, bool write)
{
	struct test_ring *r = &rings[q];
	uint16_t head = next_desc[q];
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % QSIZE);
		split_desc(vm, r, d, buf_at(q, d), lens[i],
			   (uint16_t)((write ? VRING_F_WRITE : 0) | (i + 1 < n ? VRING_F_NEXT : 0)),
			   (uint16_t)((d + 1) % QSIZE));
	}
	next_desc[q] = (uint16_t)((head + n) % QSIZE);
	split_offer(vm, r, head);
	return head;
}

static uint16_t used_idx(unsigned q)
{
	return gget16(vm, rings[q].device + 2);
}

static uint32_t used_len(unsigned q, uint16_t i)
{
	return gget32(vm, rings[q].device + 8 + 8u * (i % QSIZE));
}

static uint32_t used_id(unsigned q, uint16_t i)
{
	return gget32(vm, rings[q].device + 4 + 8u * (i % QSIZE));
}

/* A frame to send: header h (12 bytes) and an Ethernet frame of len */
static uint16_t send_frame(unsigned q, const uint8_t *h, size_t len)
{
	uint32_t lens[2] = { VNET_HDR_LEN, (uint32_t)len };
	uint16_t head = offer(q, lens, 2, false);
	gput(vm, buf_at(q, head), h, VNET_HDR_LEN);
	uint8_t frame[2048];
	for (size_t i = 0; i < len && i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 1);
	gput(vm, buf_at(q, (uint16_t)((head + 1) % QSIZE)), frame, len);
	virtq_kick(vdev, q);
	return head;
}

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;
	virtio_net_stats(vdev, &s);
	return s;
}

TEST(transmit)
{
	net_up(false, 1, false, 0, true);
	/* no vnet header on the back-end: no offloads offered */
	CHECK(!(vdev->host_features & VIRTIO_FEATURE(VIRTIO_NET_F_CSUM)));
	CHECK(!(vdev->host_features & VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO4)));
	uint8_t h[VNET_HDR_LEN] = { 0 };
	send_frame(1, h, 60);
	CHECK_EQ(fake_net.sent, 1);
	CHECK_EQ(fake_net.sent_len, 60);	/* the header stays behind */
	CHECK_EQ(fake_net.last[0], 1);
	CHECK_EQ(fake_net.last[59], (uint8_t)(59 * 7 + 1));
	CHECK_EQ(used_idx(1), 1);
	CHECK_EQ(used_len(1, 0), 0);
	CHECK(test_queue_irqs > 0);

	/* what the features do not allow is dropped and counted */
	h[0] = VNET_HDR_F_NEEDS_CSUM;
	send_frame(1, h, 60);
	h[0] = 0;
	h[1] = VNET_HDR_GSO_TCPV4;
	send_frame(1, h, 60);
	h[1] = 0;
	send_frame(1, h, 13);	/* shorter than an Ethernet header */
	CHECK_EQ(fake_net.sent, 1);
	CHECK_EQ(stats().tx_bad_header, 2);
	CHECK_EQ(stats().tx_bad_length, 1);
	CHECK_EQ(used_idx(1), 4);	/* each one used all the same */

	/* a full back-end: the frame stays in the ring until tx_ready */
	fake_net.send_ret = -EAGAIN;
	send_frame(1, h, 100);
	CHECK_EQ(used_idx(1), 4);
	fake_net.send_ret = 0;
	fake_net.port->tx_ready(fake_net.opaque, 0);
	CHECK_EQ(fake_net.sent, 2);
	CHECK_EQ(fake_net.sent_len, 100);
	CHECK_EQ(used_idx(1), 5);
	net_down();
}

TEST(transmit_offloads)
{
	net_up(true, 1, false, 0, true);
	CHECK(vdev->host_features & VIRTIO_FEATURE(VIRTIO_NET_F_CSUM));
	CHECK(vdev->host_features & VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO4));
	/* the guest's receive offloads went to the back-end */
	CHECK_EQ(fake_net.offloads_set, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 |
						NET_OFFLOAD_ECN | NET_OFFLOAD_UFO);
	/* a TSO frame with its checksum to finish: passed through with its header */
	uint8_t h[VNET_HDR_LEN] = { VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_TCPV4, 54, 0, 0xa8, 0x05,
				    34, 0, 16, 0, 0x77, 0x77 };
	send_frame(1, h, 1500);
	CHECK_EQ(fake_net.sent, 1);
	CHECK_EQ(fake_net.sent_len, VNET_HDR_LEN + 1500);
	CHECK(!memcmp(fake_net.last, h, VNET_HDR_NUM_BUFFERS));
	CHECK_EQ(fake_net.last[VNET_HDR_NUM_BUFFERS], 0);	/* num_buffers is not the back-end's */
	/* a checksum place past the frame's end; a GSO frame without a size */
	h[6] = 0xf0;
	send_frame(1, h, 100);
	h[6] = 34;
	h[4] = h[5] = 0;
	send_frame(1, h, 100);
	h[1] = 9;	/* no such GSO type */
	send_frame(1, h, 100);
	CHECK_EQ(fake_net.sent, 1);
	CHECK_EQ(stats().tx_bad_header, 3);
	net_down();
}

/* A frame for the guest: the destination MAC, then bytes */
static size_t make_frame(uint8_t *f, const uint8_t *dst, size_t len, bool vnet_hdr)
{
	size_t at = 0;
	if (vnet_hdr) {
		memset(f, 0, VNET_HDR_LEN);
		f[0] = VNET_HDR_F_DATA_VALID;
		f[VNET_HDR_NUM_BUFFERS] = 0x55;	/* the kernel leaves junk there */
		at = VNET_HDR_LEN;
	}
	memcpy(f + at, dst, 6);
	for (size_t i = 6; i < len; i++)
		f[at + i] = (uint8_t)(i ^ 0x5a);
	return at + len;
}

TEST(receive_mergeable)
{
	net_up(true, 1, false, 0, true);
	uint32_t len = 100;
	offer(0, &len, 1, true);
	uint8_t f[4096];
	size_t n = make_frame(f, MAC, 250, true);
	/* one buffer of 100 bytes is not enough: the frame waits */
	CHECK_EQ(fake_net_deliver(0, f, n), -EAGAIN);
	CHECK_EQ(used_idx(0), 0);
	offer(0, &len, 1, true);
	offer(0, &len, 1, true);
	virtq_kick(vdev, 0);
	CHECK(fake_net.resumes[0] > 0);
	CHECK_EQ(fake_net_deliver(0, f, n), 0);
	fake_net.port->rx_flush(fake_net.opaque, 0);
	CHECK_EQ(used_idx(0), 3);
	/* the buffers in order, the first one again (no buffer lost or used twice) */
	CHECK_EQ(used_id(0, 0), 0);
	CHECK_EQ(used_id(0, 1), 1);
	CHECK_EQ(used_id(0, 2), 2);
	CHECK_EQ(used_len(0, 0) + used_len(0, 1) + used_len(0, 2), VNET_HDR_LEN + 250);
	uint8_t got[300];
	guest_mem_read(&vm->mem, buf_at(0, 0), got, 100);
	guest_mem_read(&vm->mem, buf_at(0, 1), got + 100, 100);
	guest_mem_read(&vm->mem, buf_at(0, 2), got + 200, 62);
	CHECK_EQ(got[0], VNET_HDR_F_DATA_VALID);
	CHECK_EQ(got[VNET_HDR_NUM_BUFFERS], 3);	/* num_buffers */
	CHECK(!memcmp(got + VNET_HDR_LEN, f + VNET_HDR_LEN, 250));
	net_down();
}

TEST(receive_single)
{
	net_up(false, 1, false, 0, false);
	uint32_t len = 1526;
	offer(0, &len, 1, true);
	uint8_t f[4096];
	size_t n = make_frame(f, MAC, 1514, false);
	CHECK_EQ(fake_net_deliver(0, f, n), 0);
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(used_len(0, 0), VNET_HDR_LEN + 1514);
	uint8_t got[VNET_HDR_LEN + 1514];
	guest_mem_read(&vm->mem, buf_at(0, 0), got, sizeof(got));
	CHECK_EQ(got[0], 0);	/* a zero header, num_buffers 1 */
	CHECK_EQ(got[VNET_HDR_NUM_BUFFERS], 1);
	CHECK(!memcmp(got + VNET_HDR_LEN, f, 1514));
	/* a buffer too small for the frame: dropped and counted */
	len = 200;
	offer(0, &len, 1, true);
	CHECK_EQ(fake_net_deliver(0, f, n), 0);
	CHECK_EQ(used_idx(0), 2);
	CHECK_EQ(used_len(0, 1), 0);
	CHECK_EQ(stats().rx_no_room, 1);
	/* no buffer at all: the back-end holds the frame */
	CHECK_EQ(fake_net_deliver(0, f, n), -EAGAIN);
	/* runts are dropped */
	CHECK_EQ(fake_net_deliver(0, f, 10), 0);
	CHECK_EQ(stats().rx_dropped, 1);
	net_down();
}

/* A control command; returns the ack */
static uint8_t ctrl(const uint8_t *cmd, uint32_t len)
{
	unsigned q = vdev->nr_queues - 1;
	uint32_t lens[2] = { len, 1 };
	uint16_t head = next_desc[q];
	rings[q].size = QSIZE;
	struct test_ring *r = &rings[q];
	split_desc(vm, r, head, buf_at(q, head), len, VRING_F_NEXT, (uint16_t)((head + 1) % QSIZE));
	split_desc(vm, r, (uint16_t)((head + 1) % QSIZE), buf_at(q, (uint16_t)(head + 1)), lens[1],
		   VRING_F_WRITE, 0);
	next_desc[q] = (uint16_t)((head + 2) % QSIZE);
	gput(vm, buf_at(q, head), cmd, len);
	uint8_t ack = 0xee;
	gput(vm, buf_at(q, (uint16_t)(head + 1)), &ack, 1);
	split_offer(vm, r, head);
	virtq_kick(vdev, q);
	guest_mem_read(&vm->mem, buf_at(q, (uint16_t)(head + 1)), &ack, 1);
	return ack;
}

static bool accepts(const uint8_t *dst, const uint8_t *extra, size_t extra_len)
{
	uint32_t len = 2048;
	offer(0, &len, 1, true);
	uint8_t f[128];
	size_t n = make_frame(f, dst, 64, false);
	if (extra)
		memcpy(f + 12, extra, extra_len);
	uint16_t before = used_idx(0);
	struct virtio_net_stats s0 = stats();
	CHECK_EQ(fake_net_deliver(0, f, n), 0);
	bool taken = used_idx(0) != before;
	if (!taken) {
		CHECK_EQ(stats().rx_filtered, s0.rx_filtered + 1);
		/* the buffer stays for the next frame */
		next_desc[0] = (uint16_t)((next_desc[0] + QSIZE - 1) % QSIZE);
		rings[0].avail_idx--;
		gput16(vm, rings[0].driver + 2, rings[0].avail_idx);
	}
	return taken;
}

TEST(control_filter)
{
	net_up(false, 1, false, 0, true);
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	/* promiscuous until the driver says otherwise, as QEMU */
	CHECK(accepts(OTHER, NULL, 0));
	CHECK_EQ(ctrl((const uint8_t[]){ 0, 0, 0 }, 3), VNET_CTRL_OK);	/* PROMISC off */
	CHECK(!accepts(OTHER, NULL, 0));
	CHECK(accepts(MAC, NULL, 0));
	CHECK(accepts(bcast, NULL, 0));
	CHECK(!accepts(mcast, NULL, 0));
	/* MAC_TABLE_SET: OTHER unicast, mcast multicast */
	uint8_t t[2 + 4 + 6 + 4 + 6] = { 1, 0, 1, 0, 0, 0 };
	memcpy(t + 6, OTHER, 6);
	t[12] = 1;
	memcpy(t + 16, mcast, 6);
	CHECK_EQ(ctrl(t, sizeof(t)), VNET_CTRL_OK);
	CHECK(accepts(OTHER, NULL, 0));
	CHECK(accepts(mcast, NULL, 0));
	/* a table whose count runs past the command: refused, filter kept */
	t[2] = 9;
	CHECK_EQ(ctrl(t, sizeof(t)), VNET_CTRL_ERR);
	CHECK(accepts(OTHER, NULL, 0));
	/* NOBCAST (RX_EXTRA) */
	CHECK_EQ(ctrl((const uint8_t[]){ 0, 5, 1 }, 3), VNET_CTRL_OK);
	CHECK(!accepts(bcast, NULL, 0));
	/* VLAN filter: tagged frames only for the VLANs added */
	static const uint8_t tag5[4] = { 0x81, 0x00, 0x00, 0x05 };
	CHECK(!accepts(MAC, tag5, 4));
	CHECK_EQ(ctrl((const uint8_t[]){ 2, 0, 5, 0 }, 4), VNET_CTRL_OK);
	CHECK(accepts(MAC, tag5, 4));
	CHECK_EQ(ctrl((const uint8_t[]){ 2, 0, 0x00, 0x10 }, 4), VNET_CTRL_ERR);	/* vid 4096 */
	/* MAC_ADDR_SET changes the configuration too */
	uint8_t set[8] = { 1, 1 };
	memcpy(set + 2, OTHER, 6);
	CHECK_EQ(ctrl(set, 8), VNET_CTRL_OK);
	CHECK_EQ(virtio_config_read(vdev, 3, 1), 0xaa);
	/* unknown classes and malformed commands */
	CHECK_EQ(ctrl((const uint8_t[]){ 9, 0 }, 2), VNET_CTRL_ERR);
	CHECK_EQ(ctrl((const uint8_t[]){ 0, 0, 2 }, 3), VNET_CTRL_ERR);
	CHECK_EQ(ctrl((const uint8_t[]){ 0, 0 }, 2), VNET_CTRL_ERR);
	CHECK_EQ(stats().ctrl_errors, 5);
	/* a reset puts the configured MAC and promiscuous mode back */
	driver_setup(all_features());
	CHECK_EQ(virtio_config_read(vdev, 3, 1), 0x12);
	CHECK(accepts(OTHER, NULL, 0));
	net_down();
}

TEST(multiqueue)
{
	net_up(true, 4, true, 0, true);
	CHECK(vdev->host_features & VIRTIO_FEATURE(VIRTIO_NET_F_MQ));
	CHECK_EQ(vdev->nr_queues, 9);
	CHECK_EQ(virtio_config_read(vdev, 8, 2), 4);	/* max_virtqueue_pairs */
	CHECK_EQ(ctrl((const uint8_t[]){ 4, 0, 3, 0 }, 4), VNET_CTRL_OK);
	CHECK_EQ(fake_net.active, 3);
	CHECK_EQ(ctrl((const uint8_t[]){ 4, 0, 5, 0 }, 4), VNET_CTRL_ERR);
	CHECK_EQ(ctrl((const uint8_t[]){ 4, 0, 0, 0 }, 4), VNET_CTRL_ERR);
	/* a frame on the third pair goes out on the back-end's third queue */
	uint8_t h[VNET_HDR_LEN] = { 0 };
	send_frame(5, h, 60);
	CHECK_EQ(fake_net.sent, 1);
	CHECK_EQ(fake_net.sent_queue, 2);
	/* ... and one on the fourth, not enabled, is dropped */
	send_frame(7, h, 60);
	CHECK_EQ(fake_net.sent, 1);
	CHECK_EQ(stats().tx_dropped, 1);
	/* guest offloads: only what was negotiated */
	uint8_t o[10] = { 5, 0, 1 << VIRTIO_NET_F_GUEST_CSUM };
	CHECK_EQ(ctrl(o, 10), VNET_CTRL_OK);
	CHECK_EQ(fake_net.offloads_set, NET_OFFLOAD_CSUM);
	o[2] = 0;
	o[3] = 0x40;	/* bit 14: not a guest offload */
	CHECK_EQ(ctrl(o, 10), VNET_CTRL_ERR);
	/* a reset goes back to one pair, on the queue thread's next turn */
	driver_setup(all_features());
	CHECK_EQ(fake_net.active, 1);
	net_down();
}

TEST(link_and_announce)
{
	net_up(false, 1, false, 0, true);
	CHECK_EQ(virtio_config_read(vdev, 6, 2), 1);	/* LINK_UP */
	fake_net.port->link_changed(fake_net.opaque, false);
	CHECK_EQ(virtio_config_read(vdev, 6, 2), 0);
	CHECK_EQ(test_config_irqs, 1);
	/* back up: the guest is asked to announce itself, and acks */
	fake_net.port->link_changed(fake_net.opaque, true);
	CHECK_EQ(virtio_config_read(vdev, 6, 2), 3);
	CHECK_EQ(ctrl((const uint8_t[]){ 3, 0 }, 2), VNET_CTRL_OK);
	CHECK_EQ(virtio_config_read(vdev, 6, 2), 1);
	net_down();
}

TEST(features_off)
{
	net_up(true, 1, false,
	       VIRTIO_FEATURE(VIRTIO_NET_F_CSUM) | VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ), true);
	/* what depends on them goes too, and there is no control queue */
	CHECK(!(vdev->host_features & VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO4)));
	CHECK(!(vdev->host_features & VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_RX)));
	CHECK(vdev->host_features & VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO4));
	CHECK_EQ(vdev->nr_queues, 2);
	net_down();
}

TEST(hostile_chains)
{
	net_up(false, 1, false, 0, true);
	/* a frame to send with a device-writable part */
	uint32_t lens[2] = { VNET_HDR_LEN, 60 };
	offer(1, lens, 2, true);
	virtq_kick(vdev, 1);
	CHECK(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(fake_net.sent, 0);
	CHECK_EQ(test_config_irqs, 1);
	/* a receive buffer shorter than the header */
	driver_setup(all_features());
	uint32_t small = 4;
	offer(0, &small, 1, true);
	uint8_t f[64];
	CHECK_EQ(fake_net_deliver(0, f, make_frame(f, MAC, 64, false)), 0);
	CHECK(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET);
	/* a control command with no room for its answer */
	driver_setup(all_features());
	uint32_t c = 3;
	offer(2, &c, 1, false);
	virtq_kick(vdev, 2);
	CHECK(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET);
	/* frames before DRIVER_OK are dropped, not held */
	virtio_set_status(vdev, 0);
	CHECK_EQ(fake_net_deliver(0, f, 64), 0);
	net_down();
}

/* Cleanup while the queue thread is inside a notification (here, a send
 * the back-end holds): the thread finishes before the device closes its
 * back-end (the vhost=on crash: a notification served after cleanup freed
 * the back-end and vhost) */
static void *cleanup_thread(void *arg)
{
	virtio_dev_cleanup(arg);
	return NULL;
}

TEST(cleanup_waits_for_the_queue_thread)
{
	net_up(false, 1, false, 0, true);
	CHECK_EQ(virtio_dev_start_thread(vdev), 0);
	atomic_store(&fake_net.hold_send, true);
	uint8_t h[VNET_HDR_LEN] = { 0 };
	send_frame(1, h, 60);
	for (int i = 0; i < 5000 && !atomic_load(&fake_net.in_send); i++)
		usleep(1000);
	CHECK(atomic_load(&fake_net.in_send));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, cleanup_thread, vdev), 0);
	usleep(100000);	/* time for a cleanup that does not wait to close the back-end */
	atomic_store(&fake_net.hold_send, false);
	pthread_join(t, NULL);
	CHECK_EQ(fake_net.sent, 1);
	CHECK(!atomic_load(&fake_net.sent_after_close));
	CHECK(fake_net.closed);
	vdev->ops->destroy(vdev);
	test_vm_free(vm);
}

RUN_TESTS(T(transmit), T(transmit_offloads), T(receive_mergeable), T(receive_single),
	  T(control_filter), T(multiqueue), T(link_and_announce), T(features_off),
	  T(hostile_chains), T(cleanup_waits_for_the_queue_thread))
