/* The vhost-net helper: its argument checks everywhere, and where
 * /dev/vhost-net exists (the nested-KVM guest loads vhost_net) the whole
 * hand-off for real: a tap back-end with vhost=on inside a network
 * namespace of the test's own, a "guest memory" with split virtqueues, an
 * ARP request put on the transmit queue and the kernel's reply found in a
 * receive buffer, both moved by the kernel alone. */
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/vhost_net.h"
#include "net_test.h"

TEST(argument_checks)
{
	static uint8_t mem[4096] __attribute__((aligned(16)));
	struct vhost_net_region r = { .gpa = 0, .size = sizeof(mem), .hva = mem };
	CHECK_EQ(vhost_net_set_mem_table(-1, &r, 0), -EINVAL);
	CHECK_EQ(vhost_net_set_mem_table(-1, &r, VHOST_NET_MAX_REGIONS + 1), -EINVAL);
	struct vhost_net_region bad[] = {
		{ .gpa = 0, .size = 0, .hva = mem },
		{ .gpa = 0, .size = 4096, .hva = NULL },
		{ .gpa = UINT64_MAX - 10, .size = 4096, .hva = mem },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(vhost_net_set_mem_table(-1, &bad[i], 1), -EINVAL);
	CHECK_EQ(vhost_net_set_mem_table(-1, &r, 1), -EBADF);

	struct vhost_net_vring ok = { .num = 8, .desc = mem, .avail = mem + 128,
				      .used = mem + 256, .kick_fd = 0, .call_fd = 0 };
	CHECK_EQ(vhost_net_set_vring(-1, 0, &ok), -EBADF);
	CHECK_EQ(vhost_net_set_vring(-1, 2, &ok), -EINVAL);
	struct vhost_net_vring v = ok;
	v.num = 6;	/* not a power of two */
	CHECK_EQ(vhost_net_set_vring(-1, 0, &v), -EINVAL);
	v = ok;
	v.num = 65536;
	CHECK_EQ(vhost_net_set_vring(-1, 0, &v), -EINVAL);
	v = ok;
	v.num = 0;
	CHECK_EQ(vhost_net_set_vring(-1, 0, &v), -EINVAL);
	v = ok;
	v.desc = mem + 8;	/* descriptors are 16-byte aligned */
	CHECK_EQ(vhost_net_set_vring(-1, 0, &v), -EINVAL);
	v = ok;
	v.avail = mem + 129;
	CHECK_EQ(vhost_net_set_vring(-1, 0, &v), -EINVAL);
	v = ok;
	v.used = mem + 258;
	CHECK_EQ(vhost_net_set_vring(-1, 0, &v), -EINVAL);
	v = ok;
	v.kick_fd = -1;
	CHECK_EQ(vhost_net_set_vring(-1, 0, &v), -EINVAL);
	CHECK_EQ(vhost_net_set_backend(-1, 2, 3), -EINVAL);
	CHECK_EQ(vhost_net_set_backend(-1, 0, -2), -EINVAL);
	uint16_t base[2];
	CHECK_EQ(vhost_net_get_vring_base(-1, 5, base), -EINVAL);
	struct vhost_net_vring rings[2] = { ok, ok };
	CHECK_EQ(vhost_net_start(-1, 0, &r, 1, rings, -1), -EBADF);
	CHECK_EQ(vhost_net_start(-1, 0, &r, 1, rings, 0), -EBADF);
	CHECK_EQ(vhost_net_set_owner(-1), -EBADF);
	/* something that is not vhost refuses the ioctls */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(vhost_net_set_owner(null) < 0);
	close(null);

	/* features: the guest's that vhost has, without vhost's own bits, and
	 * the header vhost adds only for a tap without one */
	uint64_t vhost = 1ull << VIRTIO_F_VERSION_1 | 1ull << VHOST_F_LOG_ALL |
			 1ull << VHOST_NET_F_VIRTIO_NET_HDR | 1ull << 15;	/* MRG_RXBUF */
	uint64_t guest = 1ull << VIRTIO_F_VERSION_1 | 1ull << 15 | 1ull << 5 /* MAC */ |
			 1ull << 27;
	CHECK_EQ(vhost_net_features(vhost, guest, true), 1ull << VIRTIO_F_VERSION_1 | 1ull << 15);
	CHECK_EQ(vhost_net_features(vhost, guest, false),
		 1ull << VIRTIO_F_VERSION_1 | 1ull << 15 | 1ull << VHOST_NET_F_VIRTIO_NET_HDR);
	CHECK_EQ(vhost_net_features(1ull << VIRTIO_F_VERSION_1, guest, false),
		 1ull << VIRTIO_F_VERSION_1);
}

/* "Guest memory": the rings and buffers at guest-physical addresses */
#define GUEST_MEM_SIZE (1u << 20)
#define RING_NUM 8
#define RX_DESC 0x0000
#define RX_AVAIL 0x1000
#define RX_USED 0x2000
#define TX_DESC 0x3000
#define TX_AVAIL 0x4000
#define TX_USED 0x5000
#define RX_BUFS 0x10000
#define TX_BUF 0x20000
#define BUF_SIZE 2048

/* used->idx of the ring at host address used, once it reaches want
 * (waiting on the call eventfd up to seconds) */
static bool wait_used(int call_fd, volatile struct vring_used *used, uint16_t want, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (used->idx == want)
			return true;
		struct pollfd p = { .fd = call_fd, .events = POLLIN };
		if (poll(&p, 1, 100) == 1) {
			uint64_t v;
			if (read(call_fd, &v, sizeof(v)) < 0)
				break;
		}
	}
	return used->idx == want;
}

TEST(data_path_through_the_kernel)
{
	if (access("/dev/vhost-net", F_OK) < 0)
		SKIP("no /dev/vhost-net");
	if (access("/dev/net/tun", F_OK) < 0)
		SKIP("no /dev/net/tun");
	if (unshare(CLONE_NEWNET) < 0)
		SKIP("cannot make a network namespace (unshare -n needs root)");

	struct test_netdev *n =
		test_netdev_open("tap,id=t0,ifname=mvvhost0,script=no,vnet_hdr=on,vhost=on");
	CHECK(n != NULL);
	if (!n)
		return;
	/* no IPv6 chatter: the frames on the tap are the test's alone */
	int v6 = open("/proc/sys/net/ipv6/conf/mvvhost0/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (v6 >= 0) {
		CHECK_EQ(write(v6, "1", 1), 1);
		close(v6);
	}
	CHECK(test_if_up("mvvhost0", ipv4(10, 8, 0, 1)));
	struct net_vhost_info vi;
	CHECK_EQ(net_backend_vhost_info(n->be, &vi), 0);
	CHECK(vi.requested && vi.nr_queues == 1 && vi.vhost_fds[0] >= 0);
	int vfd = vi.vhost_fds[0];

	uint8_t *mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	struct vhost_net_region region = { .gpa = 0, .size = GUEST_MEM_SIZE, .hva = mem };
	int kick[2], call[2];
	for (int i = 0; i < 2; i++) {
		kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	struct vhost_net_vring rings[2] = {
		{ RING_NUM, 0, mem + RX_DESC, mem + RX_AVAIL, mem + RX_USED, kick[0], call[0] },
		{ RING_NUM, 0, mem + TX_DESC, mem + TX_AVAIL, mem + TX_USED, kick[1], call[1] },
	};

	/* receive buffers, all posted */
	struct vring_desc *rx_desc = (struct vring_desc *)(mem + RX_DESC);
	struct vring_avail *rx_avail = (struct vring_avail *)(mem + RX_AVAIL);
	for (unsigned i = 0; i < RING_NUM; i++) {
		rx_desc[i] = (struct vring_desc){ .addr = RX_BUFS + i * BUF_SIZE, .len = BUF_SIZE,
						  .flags = VRING_DESC_F_WRITE };
		rx_avail->ring[i] = (uint16_t)i;
	}
	rx_avail->idx = RING_NUM;

	CHECK_EQ(vhost_net_set_owner(vfd), 0);
	uint64_t offered = 0;
	CHECK_EQ(vhost_net_get_features(vfd, &offered), 0);
	CHECK(offered & (1ull << VIRTIO_F_VERSION_1));
	uint64_t features = vhost_net_features(offered, 1ull << VIRTIO_F_VERSION_1,
					       net_backend_has_vnet_hdr(n->be));
	/* the back-end lets go of the tap before the kernel takes it */
	CHECK_EQ(net_backend_set_vhost(n->be, true), 0);
	CHECK_EQ(vhost_net_start(vfd, features, &region, 1, rings, vi.tap_fds[0]), 0);

	/* two ARP requests for 10.8.0.1, each behind a zero virtio_net_hdr_v1,
	 * one kick each; the kernel answers both into the receive buffers */
	struct vring_desc *tx_desc = (struct vring_desc *)(mem + TX_DESC);
	struct vring_avail *tx_avail = (struct vring_avail *)(mem + TX_AVAIL);
	volatile struct vring_used *tx_used = (struct vring_used *)(mem + TX_USED);
	volatile struct vring_used *rx_used = (struct vring_used *)(mem + RX_USED);
	for (uint16_t i = 0; i < 2; i++) {
		uint8_t *tx = mem + TX_BUF + i * BUF_SIZE;
		memset(tx, 0, NET_VNET_HDR_LEN);
		size_t len = NET_VNET_HDR_LEN +
			     arp_request(tx + NET_VNET_HDR_LEN, test_guest_mac, ipv4(10, 8, 0, 2),
					 ipv4(10, 8, 0, 1));
		tx_desc[i] = (struct vring_desc){ .addr = TX_BUF + i * BUF_SIZE, .len = (uint32_t)len };
		tx_avail->ring[i] = i;
		__atomic_store_n(&tx_avail->idx, (uint16_t)(i + 1), __ATOMIC_RELEASE);
		uint64_t one = 1;
		CHECK_EQ(write(kick[1], &one, sizeof(one)), 8);
		CHECK(wait_used(call[1], tx_used, (uint16_t)(i + 1), 10));
		CHECK(wait_used(call[0], rx_used, (uint16_t)(i + 1), 10));
	}
	for (unsigned i = 0; i < 2 && rx_used->idx == 2; i++) {
		const struct vring_used_elem *e = (const struct vring_used_elem *)&rx_used->ring[i];
		CHECK(e->id < RING_NUM);
		const uint8_t *buf = mem + RX_BUFS + (e->id % RING_NUM) * BUF_SIZE;
		const uint8_t *f = buf + NET_VNET_HDR_LEN;
		/* the header the tap wrote: no offload; then the reply */
		CHECK_EQ(buf[0], 0);
		CHECK_EQ(buf[1], 0);
		CHECK(e->len >= NET_VNET_HDR_LEN + 42);
		CHECK_EQ(get16(f + 12), ETH_P_ARP_);
		CHECK_EQ(get16(f + 20), 2);
		CHECK_EQ(get32(f + 28), ipv4(10, 8, 0, 1));
		CHECK(!memcmp(f, test_guest_mac, 6));
	}

	uint16_t next[2] = { 0xffff, 0xffff };
	CHECK_EQ(vhost_net_stop(vfd, next), 0);
	CHECK_EQ(next[VHOST_NET_VQ_TX], 2);
	CHECK_EQ(next[VHOST_NET_VQ_RX], 2);
	CHECK_EQ(net_backend_set_vhost(n->be, false), 0);
	/* the back-end has the tap again: nothing was read behind vhost's back */
	CHECK_EQ(test_stats(n).rx_packets, 0);

	test_netdev_close(n);
	for (int i = 0; i < 2; i++) {
		close(kick[i]);
		close(call[i]);
	}
	munmap(mem, GUEST_MEM_SIZE);
}

RUN_TESTS(T(argument_checks), T(data_path_through_the_kernel))
