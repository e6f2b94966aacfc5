/* -netdev tap driven through net.h by a test playing the device, inside a
 * network namespace the test makes for itself (so all traffic stays there):
 * the kernel answers ARP and ping through the tap, with and without the
 * vnet header (a partial checksum passes through it), two queues, held
 * frames resumed without loss, fd=, scripts, vhost hand-off, and the
 * errors a user gets without /dev/net/tun or without the privilege. */
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net_test.h"

#define HOST_IP ipv4(10, 9, 0, 1)
#define GUEST_IP ipv4(10, 9, 0, 2)

/* NULL, or why the tap tests cannot run here */
static const char *netns_ready(void)
{
	static int state;	/* 0 not tried, 1 in our namespace, -1 failed */
	static const char *why;
	if (state == 0) {
		state = -1;
		if (access("/dev/net/tun", F_OK) < 0)
			why = "no /dev/net/tun";
		else if (unshare(CLONE_NEWNET) < 0)
			why = "cannot make a network namespace (unshare -n needs root)";
		else
			state = 1;
	}
	return state > 0 ? NULL : why;
}

#define NEED_NETNS()                             \
	do {                                     \
		const char *why_ = netns_ready(); \
		if (why_)                        \
			SKIP(why_);              \
	} while (0)

/* A permanent neighbour entry: the kernel sends to the guest without ARP */
static bool add_neighbour(const char *ifname, uint32_t ip, const uint8_t mac[6])
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct arpreq r = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&r.arp_pa;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(ip);
	r.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(r.arp_ha.sa_data, mac, 6);
	r.arp_flags = ATF_COM | ATF_PERM;
	snprintf(r.arp_dev, sizeof(r.arp_dev), "%s", ifname);
	bool ok = ioctl(s, SIOCSARP, &r) == 0;
	close(s);
	return ok;
}

static int udp_socket_bound(uint32_t ip, uint16_t port)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(ip) };
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		abort();
	return s;
}

/* Ethernet + IPv4 + ICMP echo request */
static size_t icmp_echo(uint8_t *f, const uint8_t dst_mac[6], uint32_t src, uint32_t dst,
			uint16_t id, uint16_t seq)
{
	static const char payload[] = "minivmm tap test";
	size_t n = eth_header(f, dst_mac, test_guest_mac, ETH_P_IPV4);
	size_t icmp_len = 8 + sizeof(payload);
	n += ipv4_header(f + n, 1, src, dst, icmp_len);
	uint8_t *p = f + n;
	p[0] = 8;
	p[1] = 0;
	put16(p + 2, 0);
	put16(p + 4, id);
	put16(p + 6, seq);
	memcpy(p + 8, payload, sizeof(payload));
	put16(p + 2, csum_fold(csum_add(0, p, icmp_len)));
	return n + icmp_len;
}

struct wanted {
	struct test_netdev *n;
	uint8_t proto;		/* 0: ARP reply */
	uint16_t id;
};

/* The next ARP reply for the guest (proto 0) or IPv4 frame of proto */
static struct test_frame *wait_for(struct test_netdev *n, uint8_t proto, struct test_ip *ip,
				   int seconds)
{
	struct test_frame *f;
	while ((f = test_guest_next(n, test_guest_mac, GUEST_IP, seconds))) {
		size_t len;
		const uint8_t *e = test_eth(n, f, &len);
		if (proto == 0 && len >= 42 && get16(e + 12) == ETH_P_ARP_ && get16(e + 20) == 2)
			return f;
		if (proto && test_parse_ip(e, len, ip) && ip->proto == proto && ip->dst == GUEST_IP)
			return f;
		free(f);
	}
	return NULL;
}

static struct test_netdev *tap_open(const char *arg, const char *ifname)
{
	struct test_netdev *n = test_netdev_open(arg);
	CHECK(n != NULL);
	if (n && ifname)
		CHECK(test_if_up(ifname, HOST_IP));
	return n;
}

/* ARP and ping through the tap */
static void arp_and_ping(struct test_netdev *n, unsigned queue, uint16_t seq)
{
	uint8_t f[128];
	size_t len = arp_request(f, test_guest_mac, GUEST_IP, HOST_IP);
	CHECK_EQ(test_send_frame(n, queue, f, len), 0);
	struct test_ip ip;
	struct test_frame *r = wait_for(n, 0, &ip, 10);
	CHECK(r != NULL);
	uint8_t host_mac[6] = { 0 };
	if (r) {
		size_t elen;
		const uint8_t *e = test_eth(n, r, &elen);
		CHECK_EQ(get32(e + 28), HOST_IP);
		CHECK(!memcmp(e, test_guest_mac, 6));
		memcpy(host_mac, e + 22, 6);
		free(r);
	}
	len = icmp_echo(f, host_mac, GUEST_IP, HOST_IP, 0x4242, seq);
	CHECK_EQ(test_send_frame(n, queue, f, len), 0);
	r = wait_for(n, 1, &ip, 10);
	CHECK(r != NULL);
	if (r) {
		CHECK_EQ(ip.src, HOST_IP);
		CHECK_EQ(ip.l4[0], 0);	/* echo reply */
		CHECK_EQ(get16(ip.l4 + 4), 0x4242);
		CHECK_EQ(get16(ip.l4 + 6), seq);
		CHECK_EQ(csum_fold(csum_add(0, ip.l4, ip.l4_len)), 0);
		CHECK(!memcmp(ip.l4 + 8, "minivmm tap test", 16));
		free(r);
	}
}

TEST(arp_and_ping_without_vnet_hdr)
{
	NEED_NETNS();
	struct test_netdev *n = tap_open("tap,id=t0,ifname=mvtap0,script=no,downscript=no,"
					 "vnet_hdr=off",
					 "mvtap0");
	if (!n)
		return;
	CHECK(!net_backend_has_vnet_hdr(n->be));
	CHECK_EQ(net_backend_offloads(n->be), 0);
	CHECK_EQ(net_backend_queues(n->be), 1);
	arp_and_ping(n, 0, 1);
	arp_and_ping(n, 0, 2);
	CHECK(test_wait_rx_packets(n, 4));
	struct net_stats s = test_stats(n);
	CHECK(s.tx_packets >= 4);
	CHECK_EQ(s.rx_dropped, 0);
	CHECK_EQ(s.tx_dropped, 0);
	CHECK(!n->dev.wrong_thread);
	test_netdev_close(n);
}

TEST(vnet_hdr_passes_through)
{
	NEED_NETNS();
	struct test_netdev *n = tap_open("tap,id=t0,ifname=mvtap1,script=no,vnet_hdr=on", "mvtap1");
	if (!n)
		return;
	CHECK(net_backend_has_vnet_hdr(n->be));
	unsigned off = net_backend_offloads(n->be);
	CHECK(off & NET_OFFLOAD_CSUM);
	CHECK(off & NET_OFFLOAD_TSO4);
	CHECK(off & NET_OFFLOAD_TSO6);
	CHECK_EQ(net_backend_set_offloads(n->be, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4), 0);
	CHECK_EQ(net_backend_set_offloads(n->be, 1u << 7), -EINVAL);
	CHECK_EQ(net_backend_set_offloads(n->be, 0), 0);
	arp_and_ping(n, 0, 1);

	/* what the kernel wrote in front of the ARP reply: no offload */
	uint8_t f[NET_VNET_HDR_LEN + 128];
	size_t len = arp_request(f, test_guest_mac, GUEST_IP, HOST_IP);
	CHECK_EQ(test_send_frame(n, 0, f, len), 0);
	struct test_ip ip;
	struct test_frame *r = wait_for(n, 0, &ip, 10);
	CHECK(r != NULL);
	uint8_t host_mac[6] = { 0 };
	if (r) {
		CHECK_EQ(r->data[0], 0);	/* flags */
		CHECK_EQ(r->data[1], 0);	/* GSO_NONE */
		memcpy(host_mac, r->data + NET_VNET_HDR_LEN + 22, 6);
		free(r);
	}

	/* A UDP datagram whose checksum field holds only the pseudo-header
	 * sum: with NEEDS_CSUM in the header the kernel completes it and the
	 * socket gets it; without, the checksum is wrong and it is dropped. */
	int s = udp_socket_bound(HOST_IP, 7777);
	for (int pass = 0; pass < 2; pass++) {
		bool partial = pass == 0;
		uint8_t *frame = f + NET_VNET_HDR_LEN;
		const char *msg = partial ? "partial checksum" : "bad checksum";
		len = udp_frame(frame, host_mac, test_guest_mac, GUEST_IP, 5000, HOST_IP, 7777, msg,
				strlen(msg));
		uint8_t *udp = frame + 34;
		uint8_t pseudo[12];
		put32(pseudo, GUEST_IP);
		put32(pseudo + 4, HOST_IP);
		pseudo[8] = 0;
		pseudo[9] = 17;
		put16(pseudo + 10, (uint16_t)(8 + strlen(msg)));
		put16(udp + 6, (uint16_t)~csum_fold(csum_add(0, pseudo, 12)));
		memset(f, 0, NET_VNET_HDR_LEN);
		if (partial) {
			f[0] = 1;	/* VIRTIO_NET_HDR_F_NEEDS_CSUM */
			f[6] = 34;	/* csum_start (little-endian) */
			f[8] = 6;	/* csum_offset */
		}
		CHECK_EQ(test_send(n, f, NET_VNET_HDR_LEN + len), 0);
		char buf[64] = { 0 };
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		int ready = poll(&pfd, 1, partial ? 10000 : 1000);
		if (partial) {
			CHECK_EQ(ready, 1);
			CHECK_EQ(recv(s, buf, sizeof(buf) - 1, 0), (ssize_t)strlen(msg));
			CHECK_STR(buf, msg);
		} else {
			CHECK_EQ(ready, 0);
		}
	}
	close(s);
	/* a header the kernel rejects (a GSO type with no checksum offset) is
	 * dropped and counted, never a crash */
	uint64_t dropped = test_stats(n).tx_dropped;
	memset(f, 0, NET_VNET_HDR_LEN);
	f[1] = 0x1;	/* GSO_TCPV4 */
	f[4] = 0xff;	/* gso_size */
	CHECK_EQ(test_send(n, f, NET_VNET_HDR_LEN + len), 0);
	CHECK_EQ(test_stats(n).tx_dropped, dropped + 1);
	test_netdev_close(n);
}

static bool on_queue(const struct test_frame *f, const void *arg)
{
	(void)arg;
	return f->queue < 2;
}

TEST(two_queues)
{
	NEED_NETNS();
	struct test_netdev *n = tap_open("tap,id=t0,ifname=mvtap2,script=no,queues=2,vnet_hdr=off",
					 "mvtap2");
	if (!n)
		return;
	CHECK_EQ(net_backend_queues(n->be), 2);
	struct net_vhost_info vi;
	CHECK_EQ(net_backend_vhost_info(n->be, &vi), 0);
	CHECK(!vi.requested);
	CHECK_EQ(vi.nr_queues, 2);
	CHECK(vi.tap_fds[0] >= 0 && vi.tap_fds[1] >= 0 && vi.tap_fds[0] != vi.tap_fds[1]);
	CHECK(vi.vhost_fds[0] < 0);
	/* one queue until the device enables more */
	uint8_t f[128];
	size_t len = arp_request(f, test_guest_mac, GUEST_IP, HOST_IP);
	struct iovec iov = { f, len };
	CHECK_EQ(net_backend_send(n->be, 1, &iov, 1), -EINVAL);
	arp_and_ping(n, 0, 1);
	CHECK_EQ(net_backend_set_queues(n->be, 3), -EINVAL);
	CHECK_EQ(net_backend_set_queues(n->be, 2), 0);
	/* both queues send; the kernel picks the queue of each reply */
	for (uint16_t i = 0; i < 8; i++)
		arp_and_ping(n, i % 2, (uint16_t)(10 + i));
	test_dev_clear(&n->dev);
	/* frames from the kernel on the second queue: UDP flows of many ports */
	CHECK(add_neighbour("mvtap2", GUEST_IP, test_guest_mac));
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(2000 + i)),
					 .sin_addr.s_addr = htonl(GUEST_IP) };
		CHECK_EQ(sendto(s, "q", 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
	}
	close(s);
	unsigned per_queue[2] = { 0, 0 };
	for (int i = 0; i < 64; i++) {
		struct test_ip ip;
		struct test_frame *r = wait_for(n, 17, &ip, 10);
		CHECK(r != NULL);
		if (!r)
			break;
		per_queue[r->queue]++;
		free(r);
	}
	CHECK_EQ(per_queue[0] + per_queue[1], 64);
	CHECK(per_queue[1] > 0);	/* the kernel spreads flows over attached queues */
	CHECK_EQ(net_backend_set_queues(n->be, 1), 0);
	test_dev_clear(&n->dev);
	arp_and_ping(n, 0, 99);
	struct test_frame *r = test_dev_wait(&n->dev, on_queue, NULL, 0);
	CHECK(r == NULL || r->queue == 0);
	free(r);
	test_netdev_close(n);
}

static bool refused_twice(struct test_dev *d)
{
	return atomic_load(&d->refusals) >= 2;
}

/* The device refuses: the tap back-end holds one frame and stops reading
 * (the kernel keeps the rest); after resume every frame arrives in order */
TEST(back_pressure_without_loss)
{
	NEED_NETNS();
	struct test_netdev *n = tap_open("tap,id=t0,ifname=mvtap3,script=no,vnet_hdr=off", NULL);
	if (!n)
		return;
	/* no IPv6 chatter on this interface, so the frames are ours alone */
	int fd = open("/proc/sys/net/ipv6/conf/mvtap3/disable_ipv6", O_WRONLY);
	if (fd >= 0) {
		CHECK_EQ(write(fd, "1", 1), 1);
		close(fd);
	}
	atomic_store(&n->dev.refuse, true);
	CHECK(test_if_up("mvtap3", HOST_IP));
	CHECK(add_neighbour("mvtap3", GUEST_IP, test_guest_mac));
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
				 .sin_addr.s_addr = htonl(GUEST_IP) };
	for (uint32_t i = 0; i < 100; i++) {
		uint8_t seq[4];
		put32(seq, i);
		CHECK_EQ(sendto(s, seq, 4, 0, (struct sockaddr *)&a, sizeof(a)), 4);
	}
	close(s);
	CHECK(test_dev_wait_for(&n->dev, refused_twice, 10));
	usleep(200000);	/* room for a wrong back-end to read on (it must not) */
	CHECK_EQ(atomic_load(&n->dev.refusals), 2);	/* one frame, offered twice */
	CHECK_EQ(n->dev.nr_frames, 0);

	atomic_store(&n->dev.refuse, false);
	net_backend_resume_rx(n->be, 0);
	for (uint32_t i = 0; i < 100; i++) {
		struct test_ip ip;
		struct test_frame *r = wait_for(n, 17, &ip, 10);
		CHECK(r != NULL);
		if (!r)
			break;
		CHECK_EQ(ip.payload_len, 4);
		CHECK_EQ(get32(ip.payload), i);
		free(r);
	}
	struct net_stats st = test_stats(n);
	CHECK_EQ(st.rx_dropped, 0);
	CHECK_EQ(atomic_load(&n->dev.refusals), 2);
	test_netdev_close(n);
}

/* fd=: a tap set up by someone else, with a vnet header */
TEST(fd_passed_in)
{
	NEED_NETNS();
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "mvtap4");
	CHECK_EQ(ioctl(fd, TUNSETIFF, &ifr), 0);
	char arg[64];
	snprintf(arg, sizeof(arg), "tap,id=t0,fd=%d", fd);
	struct test_netdev *n = tap_open(arg, "mvtap4");
	if (!n)
		return;
	CHECK(net_backend_has_vnet_hdr(n->be));
	arp_and_ping(n, 0, 1);
	test_netdev_close(n);	/* the back-end owns and closes fd */
	CHECK(fcntl(fd, F_GETFD) < 0);

	/* a tun (no Ethernet) and something that is no tap are refused */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq tun = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	snprintf(tun.ifr_name, sizeof(tun.ifr_name), "mvtun0");
	CHECK_EQ(ioctl(fd, TUNSETIFF, &tun), 0);
	snprintf(arg, sizeof(arg), "tap,id=t0,fd=%d", fd);
	CHECK(test_netdev_open(arg) == NULL);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	snprintf(arg, sizeof(arg), "tap,id=t0,fd=%d", fd);
	CHECK(test_netdev_open(arg) == NULL);
}

static bool file_has(const char *path, const char *text)
{
	char buf[128] = { 0 };
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && strstr(buf, text);
}

static void write_script(const char *path, const char *body)
{
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

TEST(scripts_run_when_named)
{
	NEED_NETNS();
	char dir[] = "/tmp/minivmm-tap-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char up[64], down[64], bad[64], log_up[64], log_down[64], arg[256];
	snprintf(up, sizeof(up), "%s/up", dir);
	snprintf(down, sizeof(down), "%s/down", dir);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	snprintf(log_up, sizeof(log_up), "%s/up.log", dir);
	snprintf(log_down, sizeof(log_down), "%s/down.log", dir);
	char body[160];
	snprintf(body, sizeof(body), "echo \"up $1\" > %s", log_up);
	write_script(up, body);
	snprintf(body, sizeof(body), "echo \"down $1\" > %s", log_down);
	write_script(down, body);
	write_script(bad, "exit 3");

	snprintf(arg, sizeof(arg), "tap,id=t0,ifname=mvtap5,script=%s,downscript=%s", up, down);
	struct test_netdev *n = tap_open(arg, NULL);
	CHECK(file_has(log_up, "up mvtap5"));
	CHECK(!file_has(log_down, "down"));
	test_netdev_close(n);
	CHECK(file_has(log_down, "down mvtap5"));

	/* a script that fails fails the open (and no downscript runs) */
	unlink(log_down);
	snprintf(arg, sizeof(arg), "tap,id=t0,ifname=mvtap5,script=%s,downscript=%s", bad, down);
	printf("  (an error line about %s is expected)\n", bad);
	fflush(stdout);
	CHECK(test_netdev_open(arg) == NULL);
	CHECK(!file_has(log_down, "down"));
	snprintf(arg, sizeof(arg), "tap,id=t0,script=%s/missing", dir);
	CHECK(test_netdev_open(arg) == NULL);
	unlink(up);
	unlink(down);
	unlink(bad);
	unlink(log_up);
	rmdir(dir);
}

/* While vhost-net owns the data path the back-end does not read the tap */
TEST(vhost_hand_off)
{
	NEED_NETNS();
	bool have_vhost = access("/dev/vhost-net", F_OK) == 0;
	if (!have_vhost) {
		printf("  (an error line about /dev/vhost-net is expected)\n");
		fflush(stdout);
		CHECK(test_netdev_open("tap,id=t0,ifname=mvtap6,script=no,vhost=on") == NULL);
	}
	struct test_netdev *n = tap_open(have_vhost ? "tap,id=t0,ifname=mvtap6,script=no,vhost=on" :
						      "tap,id=t0,ifname=mvtap6,script=no",
					 "mvtap6");
	if (!n)
		return;
	struct net_vhost_info vi;
	CHECK_EQ(net_backend_vhost_info(n->be, &vi), 0);
	CHECK_EQ(vi.requested, have_vhost);
	CHECK_EQ(vi.vhost_fds[0] >= 0, have_vhost);
	arp_and_ping(n, 0, 1);
	CHECK_EQ(net_backend_set_vhost(n->be, true), 0);
	test_dev_clear(&n->dev);
	uint8_t f[128];
	size_t len = arp_request(f, test_guest_mac, GUEST_IP, HOST_IP);
	CHECK_EQ(test_send_frame(n, 0, f, len), 0);
	struct test_ip ip;
	struct test_frame *r = wait_for(n, 0, &ip, 1);
	CHECK(r == NULL);	/* the reply waits in the tap, for vhost */
	CHECK_EQ(net_backend_set_vhost(n->be, false), 0);
	r = wait_for(n, 0, &ip, 10);
	CHECK(r != NULL);
	free(r);
	test_netdev_close(n);
}

/* Run fn in a child process with stderr captured; its exit status */
static int in_child(void (*fn)(void), char *err, size_t size)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		fn();
		_exit(99);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	while (got < size - 1 && (n = read(p[0], err + got, size - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void open_tap_and_exit(void)
{
	struct test_netdev *n = test_netdev_open("tap,id=t0,ifname=mvtap7,script=no");
	_exit(n ? 0 : 1);
}

static void without_dev_net_tun(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/dev/net", "tmpfs", 0, NULL) < 0)
		_exit(98);
	open_tap_and_exit();
}

static void without_cap_net_admin(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	if (syscall(SYS_capget, &h, d) < 0)
		_exit(98);
	d[0].effective &= ~(1u << CAP_NET_ADMIN);
	if (syscall(SYS_capset, &h, d) < 0)
		_exit(98);
	open_tap_and_exit();
}

TEST(clear_errors_without_tun_or_privilege)
{
	NEED_NETNS();
	char err[1024];
	int status = in_child(without_dev_net_tun, err, sizeof(err));
	if (status == 98)
		SKIP("cannot mount over /dev/net in a mount namespace");
	CHECK_EQ(status, 1);
	CHECK(strstr(err, "/dev/net/tun is missing") && strstr(err, "modprobe tun"));
	CHECK(strstr(err, "-netdev tap,id=t0") != NULL);
	printf("  without /dev/net/tun: %s", err);

	status = in_child(without_cap_net_admin, err, sizeof(err));
	CHECK_EQ(status, 1);
	CHECK(strstr(err, "needs CAP_NET_ADMIN") != NULL);
	printf("  without CAP_NET_ADMIN: %s", err);
}

RUN_TESTS(T(arp_and_ping_without_vnet_hdr), T(vnet_hdr_passes_through), T(two_queues),
	  T(back_pressure_without_loss), T(fd_passed_in), T(scripts_run_when_named),
	  T(vhost_hand_off), T(clear_errors_without_tun_or_privilege))
