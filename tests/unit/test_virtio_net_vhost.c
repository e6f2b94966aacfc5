/* virtio-net with vhost=on, where the host has /dev/vhost-net (inside the
 * nested-KVM test's guest, whose kernel loads vhost_net; skipped
 * elsewhere): a tap in a network namespace of the test's own, the device
 * on it with its queue thread, a test driver's split rings in guest RAM.
 * At DRIVER_OK the device hands the queue pair to the kernel; the driver
 * sends ARP requests for the tap's address and the kernel's replies come
 * back into the receive buffers (num_buffers set, the replies to our MAC),
 * with interrupts forwarded from vhost's call eventfds.  A reset takes the
 * tap back from vhost and finishes; after a second set-up the data path
 * works again. */
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "net_test.h"
#include "platform_vm.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_net_proto.h"
#include "virtio_test.h"

#define QSIZE 16
#define RX_BUFS 0x100000u
#define TX_BUFS 0x200000u
#define BUF_SIZE 2048u

static struct vm *vm;
static struct test_ring rings[3];

static void setup(struct virtio_dev *vdev)
{
	static uint8_t zero[0x3000];
	for (unsigned q = 0; q < 3; q++) {
		rings[q] = (struct test_ring){ .desc = 0x10000u + 0x4000u * q,
					      .driver = 0x11000u + 0x4000u * q,
					      .device = 0x12000u + 0x4000u * q, .size = QSIZE };
		gput(vm, rings[q].desc, zero, sizeof(zero));
	}
	uint64_t f = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_NET_F_MRG_RXBUF) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_MAC) | VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ);
	test_driver_setup(vdev, f & vdev->host_features, rings, 3);
	/* every receive buffer posted */
	for (uint16_t i = 0; i < QSIZE; i++) {
		split_desc(vm, &rings[0], i, RX_BUFS + BUF_SIZE * i, BUF_SIZE, VRING_F_WRITE, 0);
		split_offer(vm, &rings[0], i);
	}
	virtq_kick(vdev, 0);
}

static uint16_t used_idx(unsigned q)
{
	return __atomic_load_n((uint16_t *)(vm->mem.base + rings[q].device + 2), __ATOMIC_ACQUIRE);
}

static bool wait_used(unsigned q, uint16_t want)
{
	for (int i = 0; i < 100 && used_idx(q) < want; i++)
		usleep(100000);
	return used_idx(q) >= want;
}

/* An ARP request for 10.8.0.1 on the transmit queue; true when its reply
 * reached receive buffer n */
static bool arp_round(struct virtio_dev *vdev, uint16_t n)
{
	uint8_t f[VNET_HDR_LEN + 64] = { 0 };
	size_t len = VNET_HDR_LEN + arp_request(f + VNET_HDR_LEN, test_guest_mac,
						ipv4(10, 8, 0, 2), ipv4(10, 8, 0, 1));
	uint16_t d = (uint16_t)(n % QSIZE);
	gput(vm, TX_BUFS + BUF_SIZE * d, f, len);
	split_desc(vm, &rings[1], d, TX_BUFS + BUF_SIZE * d, (uint32_t)len, 0, 0);
	split_offer(vm, &rings[1], d);
	virtq_kick(vdev, 1);
	if (!wait_used(1, (uint16_t)(n + 1)) || !wait_used(0, (uint16_t)(n + 1)))
		return false;
	uint8_t got[VNET_HDR_LEN + 42];
	uint32_t id = gget32(vm, rings[0].device + 4 + 8u * (n % QSIZE));
	guest_mem_read(&vm->mem, RX_BUFS + BUF_SIZE * id, got, sizeof(got));
	const uint8_t *eth = got + VNET_HDR_LEN;
	return got[VNET_HDR_NUM_BUFFERS] == 1 && !memcmp(eth, test_guest_mac, 6) &&
	       eth[12] == 0x08 && eth[13] == 0x06 && eth[21] == 2;	/* ARP reply */
}

TEST(vhost_data_path)
{
	if (access("/dev/vhost-net", F_OK) < 0)
		SKIP("no /dev/vhost-net");
	if (access("/dev/net/tun", F_OK) < 0)
		SKIP("no /dev/net/tun");
	if (unshare(CLONE_NEWNET) < 0)
		SKIP("cannot make a network namespace (unshare -n needs root)");

	static struct vm_config nc;
	char *argv[] = { (char *)"minivmm", (char *)"-kernel", (char *)"k", (char *)"-netdev",
			 (char *)"tap,id=t0,ifname=mvvnet0,script=no,vnet_hdr=on,vhost=on", NULL };
	FILE *out = fopen("/dev/null", "w");
	CHECK_EQ(cli_parse(5, argv, &nc, out, stderr), CLI_RUN);
	fclose(out);
	struct net_backend *be;
	CHECK_EQ(net_backend_open(&nc.netdevs[0], 0, &be), 0);
	int v6 = open("/proc/sys/net/ipv6/conf/mvvnet0/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (v6 >= 0) {
		CHECK_EQ(write(v6, "1", 1), 1);
		close(v6);
	}
	CHECK(test_if_up("mvvnet0", ipv4(10, 8, 0, 1)));

	vm = test_vm_new();
	struct virtio_device_config dc = {
		.type = VIRTIO_DEVICE_NET,
		.common = { .packed = true, .event_idx = true, .indirect_desc = true, .vectors = -1 },
		.net = { .has_mac = true, .rx_queue_size = QSIZE, .tx_queue_size = QSIZE },
	};
	memcpy(dc.net.mac, test_guest_mac, 6);
	struct virtio_dev *vdev;
	CHECK_EQ(virtio_net_new(vm, &dc, be, &vdev), 0);
	/* vhost-net has no packed rings */
	CHECK(!(vdev->host_features & VIRTIO_FEATURE(VIRTIO_F_RING_PACKED)));
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	CHECK_EQ(virtio_dev_start_thread(vdev), 0);

	setup(vdev);
	CHECK(arp_round(vdev, 0));
	CHECK(arp_round(vdev, 1));
	CHECK(test_queue_irqs > 0);
	/* a reset takes the tap back from vhost; then all again */
	virtio_set_status(vdev, 0);
	CHECK_EQ(virtio_status(vdev), 0);
	setup(vdev);
	CHECK(arp_round(vdev, 0));

	virtio_dev_cleanup(vdev);
	vdev->ops->destroy(vdev);
	test_vm_free(vm);
}

RUN_TESTS(T(vhost_data_path))
