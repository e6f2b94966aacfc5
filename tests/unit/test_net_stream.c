/* -netdev stream, socket and dgram driven through net.h by tests playing
 * the devices: two back-ends joined over a Unix socket and over 127.0.0.1
 * pass frames both ways with QEMU's framing intact; a hostile peer's bad
 * framing is dropped and counted; back-pressure holds the stream without
 * loss; datagrams over UDP, Unix sockets and multicast (in a network
 * namespace of the test's own). */
#include <netinet/in.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/frame.h"
#include "net_test.h"

static char sock_path[64];

static const char *unix_path(const char *tag)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/minivmm-net-%d-%s.sock", (int)getpid(), tag);
	return sock_path;
}

static uint16_t free_port(int type)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		abort();
	close(fd);
	return ntohs(a.sin_port);
}

static bool link_is_up(struct test_dev *d)
{
	return atomic_load(&d->link) == 1;
}

static bool link_is_down(struct test_dev *d)
{
	return atomic_load(&d->link) == 0;
}

/* A frame of len bytes: an Ethernet header, then bytes from seed */
static void make_frame(uint8_t *f, size_t len, uint32_t seed)
{
	eth_header(f, test_broadcast, test_guest_mac, 0x88b5);	/* local experimental */
	for (size_t i = 14; i < len; i++) {
		seed = seed * 1664525 + 1013904223;
		f[i] = (uint8_t)(seed >> 24);
	}
	if (len >= 18)
		put32(f + 14, seed);
}

/* Frames of several sizes from a to b; b gets them whole and in order */
static void pass_frames(struct test_netdev *a, struct test_netdev *b, uint32_t seed)
{
	static const size_t sizes[] = { 14, 60, 61, 1514, 9000, 32768, NET_FRAME_MAX };
	static uint8_t f[NET_FRAME_MAX];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		make_frame(f, sizes[i], seed + (uint32_t)i);
		CHECK_EQ(test_send(a, f, sizes[i]), 0);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct test_frame *r = test_dev_wait(&b->dev, NULL, NULL, 10);
		CHECK(r != NULL);
		if (!r)
			return;
		make_frame(f, sizes[i], seed + (uint32_t)i);
		CHECK_EQ(r->len, sizes[i]);
		CHECK(r->len == sizes[i] && !memcmp(r->data, f, sizes[i]));
		free(r);
	}
}

/* Open a server and a client on the same address and wait for the link */
static bool open_pair(const char *server_arg, const char *client_arg, struct test_netdev **s,
		      struct test_netdev **c)
{
	*s = test_netdev_open(server_arg);
	CHECK(*s != NULL);
	if (!*s)
		return false;
	CHECK(!net_backend_link_up((*s)->be));	/* no peer yet */
	*c = test_netdev_open(client_arg);
	CHECK(*c != NULL);
	if (!*c) {
		test_netdev_close(*s);
		return false;
	}
	CHECK(net_backend_link_up((*c)->be));
	CHECK(test_dev_wait_for(&(*s)->dev, link_is_up, 10));
	return true;
}

TEST(unix_stream_both_ways)
{
	char srv[160], cli[160];
	const char *path = unix_path("u");
	snprintf(srv, sizeof(srv), "stream,id=a,server=on,addr.type=unix,addr.path=%s", path);
	snprintf(cli, sizeof(cli), "stream,id=b,server=off,addr.type=unix,addr.path=%s", path);
	struct test_netdev *a, *b;
	if (!open_pair(srv, cli, &a, &b))
		return;
	pass_frames(a, b, 1);
	pass_frames(b, a, 2);
	CHECK(!net_backend_has_vnet_hdr(a->be));
	CHECK_EQ(net_backend_queues(a->be), 1);
	struct net_stats s = test_stats(a);
	CHECK_EQ(s.tx_packets, 7);
	CHECK_EQ(s.rx_malformed, 0);
	CHECK(!a->dev.wrong_thread && !b->dev.wrong_thread);
	/* the server goes: the client's link goes down, its frames are dropped */
	test_netdev_close(a);
	CHECK(access(path, F_OK) < 0);	/* the server removed its socket */
	CHECK(test_dev_wait_for(&b->dev, link_is_down, 10));
	uint8_t f[60];
	make_frame(f, sizeof(f), 3);
	CHECK_EQ(test_send(b, f, sizeof(f)), 0);
	CHECK_EQ(test_stats(b).tx_dropped, 1);
	test_netdev_close(b);
}

TEST(inet_stream_both_ways)
{
	char srv[160], cli[160];
	uint16_t port = free_port(SOCK_STREAM);
	snprintf(srv, sizeof(srv), "stream,id=a,server=on,addr.type=inet,addr.host=127.0.0.1,"
				   "addr.port=%u", port);
	snprintf(cli, sizeof(cli), "stream,id=b,addr.type=inet,addr.host=127.0.0.1,addr.port=%u",
		 port);
	struct test_netdev *a, *b;
	if (!open_pair(srv, cli, &a, &b))
		return;
	pass_frames(a, b, 10);
	pass_frames(b, a, 20);
	test_netdev_close(b);
	test_netdev_close(a);

	/* the older socket syntax speaks the same framing */
	port = free_port(SOCK_STREAM);
	snprintf(srv, sizeof(srv), "socket,id=a,listen=127.0.0.1:%u", port);
	snprintf(cli, sizeof(cli), "stream,id=b,addr.type=inet,addr.host=localhost,addr.port=%u",
		 port);
	if (!open_pair(srv, cli, &a, &b))
		return;
	pass_frames(b, a, 30);
	test_netdev_close(b);
	test_netdev_close(a);
}

TEST(connect_refused)
{
	char cli[160];
	snprintf(cli, sizeof(cli), "socket,id=b,connect=127.0.0.1:%u", free_port(SOCK_STREAM));
	printf("  (an error line about a refused connection is expected)\n");
	fflush(stdout);
	CHECK(test_netdev_open(cli) == NULL);
	snprintf(cli, sizeof(cli), "stream,id=b,addr.type=unix,addr.path=%s", unix_path("none"));
	CHECK(test_netdev_open(cli) == NULL);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		abort();
	return fd;
}

static void put_len_frame(uint8_t *buf, size_t *off, uint32_t len, uint32_t seed)
{
	net_frame_put_len(buf + *off, len);
	*off += 4;
	make_frame(buf + *off, len, seed);
	*off += len;
}

static bool malformed_is(struct test_netdev *n, uint64_t count)
{
	for (int i = 0; i < 10000 && test_stats(n).rx_malformed < count; i++)
		usleep(1000);
	return test_stats(n).rx_malformed == count;
}

/* A peer that breaks the framing: lengths 0, runts, a giant, a truncated
 * frame, all dribbled in pieces.  Good frames around them arrive; the bad
 * ones are dropped and counted. */
TEST(bad_framing_is_dropped_and_counted)
{
	char srv[160];
	const char *path = unix_path("bad");
	snprintf(srv, sizeof(srv), "stream,id=a,server=on,addr.type=unix,addr.path=%s", path);
	struct test_netdev *a = test_netdev_open(srv);
	CHECK(a != NULL);
	if (!a)
		return;
	int peer = raw_connect(path);
	CHECK(test_dev_wait_for(&a->dev, link_is_up, 10));

	static uint8_t buf[200000];
	size_t len = 0;
	net_frame_put_len(buf + len, 0);		/* empty */
	len += 4;
	put_len_frame(buf, &len, 60, 1);		/* good */
	net_frame_put_len(buf + len, 5);		/* a runt, 5 bytes */
	len += 4;
	memset(buf + len, 0xee, 5);
	len += 5;
	put_len_frame(buf, &len, 100, 2);		/* good */
	net_frame_put_len(buf + len, NET_FRAME_MAX + 1);	/* a giant */
	len += 4;
	memset(buf + len, 0xdd, NET_FRAME_MAX + 1);
	len += NET_FRAME_MAX + 1;
	put_len_frame(buf, &len, 1514, 3);		/* good */
	/* the first part one byte at a time, the rest at once */
	for (size_t i = 0; i < 200; i++)
		CHECK_EQ(write(peer, buf + i, 1), 1);
	CHECK_EQ(write(peer, buf + 200, len - 200), (ssize_t)(len - 200));

	static const size_t good[] = { 60, 100, 1514 };
	for (int i = 0; i < 3; i++) {
		struct test_frame *r = test_dev_wait(&a->dev, NULL, NULL, 10);
		CHECK(r != NULL);
		if (!r)
			break;
		uint8_t want[1514];
		make_frame(want, good[i], (uint32_t)i + 1);
		CHECK_EQ(r->len, good[i]);
		CHECK(r->len == good[i] && !memcmp(r->data, want, good[i]));
		free(r);
	}
	CHECK(malformed_is(a, 3));

	/* a frame cut short by the peer leaving */
	len = 0;
	net_frame_put_len(buf, 1000);
	memset(buf + 4, 0xcc, 500);
	CHECK_EQ(write(peer, buf, 504), 504);
	close(peer);
	CHECK(test_dev_wait_for(&a->dev, link_is_down, 10));
	CHECK(malformed_is(a, 4));
	CHECK_EQ(test_stats(a).rx_packets, 3);

	/* the server takes the next peer, which starts a fresh stream */
	peer = raw_connect(path);
	CHECK(test_dev_wait_for(&a->dev, link_is_up, 10));
	len = 0;
	put_len_frame(buf, &len, 64, 9);
	CHECK_EQ(write(peer, buf, len), (ssize_t)len);
	struct test_frame *r = test_dev_wait(&a->dev, NULL, NULL, 10);
	CHECK(r != NULL && r->len == 64);
	free(r);
	/* and what the device sends reaches the peer, framed */
	uint8_t f[80];
	make_frame(f, sizeof(f), 42);
	CHECK_EQ(test_send(a, f, sizeof(f)), 0);
	uint8_t got[84];
	size_t have = 0;
	while (have < sizeof(got)) {
		ssize_t n = read(peer, got + have, sizeof(got) - have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	CHECK_EQ(have, sizeof(got));
	CHECK_EQ(get32(got), sizeof(f));
	CHECK(!memcmp(got + 4, f, sizeof(f)));
	close(peer);
	test_netdev_close(a);
}

struct sender {
	struct test_netdev *n;
	unsigned count;
	atomic_uint eagains;
	atomic_bool done;
};

static void *send_many(void *arg)
{
	struct sender *s = arg;
	static uint8_t f[1514];
	for (unsigned i = 0; i < s->count; i++) {
		make_frame(f, sizeof(f), i);
		put32(f + 14, i);
		struct iovec iov = { f, sizeof(f) };
		int r;
		while ((r = net_backend_send(s->n->be, 0, &iov, 1)) == -EAGAIN) {
			atomic_fetch_add(&s->eagains, 1);
			atomic_store(&s->n->dev.tx_ready_calls, 0);
			/* tx_ready may have come already: wait a little, then retry */
			test_dev_wait_for(&s->n->dev, test_tx_ready_seen, 1);
		}
		if (r != 0)
			break;
	}
	atomic_store(&s->done, true);
	return NULL;
}

static bool refused_twice(struct test_dev *d)
{
	return atomic_load(&d->refusals) >= 2;
}

/* The receiving device refuses: the stream back-end holds one frame and
 * stops reading, the socket fills, the sender gets -EAGAIN and tx_ready;
 * after resume every frame arrives, in order, none dropped. */
TEST(back_pressure_without_loss)
{
	char srv[160], cli[160];
	const char *path = unix_path("bp");
	snprintf(srv, sizeof(srv), "stream,id=a,server=on,addr.type=unix,addr.path=%s", path);
	snprintf(cli, sizeof(cli), "stream,id=b,addr.type=unix,addr.path=%s", path);
	struct test_netdev *a, *b;
	if (!open_pair(srv, cli, &a, &b))
		return;
	atomic_store(&a->dev.refuse, true);
	struct sender s = { .n = b, .count = 3000 };
	pthread_t t;
	pthread_create(&t, NULL, send_many, &s);
	CHECK(test_dev_wait_for(&a->dev, refused_twice, 10));
	for (int i = 0; i < 20000 && !atomic_load(&s.eagains); i++)
		usleep(1000);
	CHECK(atomic_load(&s.eagains) > 0);	/* the sender felt it */
	CHECK(!atomic_load(&s.done));
	CHECK_EQ(atomic_load(&a->dev.refusals), 2);	/* one frame held, no more read */

	atomic_store(&a->dev.refuse, false);
	net_backend_resume_rx(a->be, 0);
	for (unsigned i = 0; i < s.count; i++) {
		struct test_frame *r = test_dev_wait(&a->dev, NULL, NULL, 20);
		CHECK(r != NULL);
		if (!r)
			break;
		if (r->len != 1514 || get32(r->data + 14) != i) {
			CHECK_EQ(get32(r->data + 14), i);
			free(r);
			break;
		}
		free(r);
	}
	pthread_join(t, NULL);
	CHECK(atomic_load(&b->dev.tx_ready_calls) > 0 || atomic_load(&s.eagains) > 0);
	struct net_stats sa = test_stats(a), sb = test_stats(b);
	CHECK_EQ(sb.tx_packets, s.count);
	CHECK_EQ(sb.tx_dropped, 0);
	CHECK_EQ(sa.rx_dropped, 0);
	CHECK_EQ(sa.rx_malformed, 0);
	test_netdev_close(b);
	test_netdev_close(a);
}

TEST(udp_dgram_both_ways)
{
	uint16_t pa = free_port(SOCK_DGRAM), pb = free_port(SOCK_DGRAM);
	char argv_a[200], argv_b[200];
	snprintf(argv_a, sizeof(argv_a),
		 "dgram,id=a,local.type=inet,local.host=127.0.0.1,local.port=%u,remote.type=inet,"
		 "remote.host=127.0.0.1,remote.port=%u", pa, pb);
	snprintf(argv_b, sizeof(argv_b), "socket,id=b,udp=127.0.0.1:%u,localaddr=127.0.0.1:%u", pa,
		 pb);
	struct test_netdev *a = test_netdev_open(argv_a), *b = test_netdev_open(argv_b);
	CHECK(a && b);
	if (a && b) {
		static uint8_t f[9000];
		for (uint32_t i = 0; i < 20; i++) {
			size_t len = 14 + i * 400;
			make_frame(f, len, i);
			CHECK_EQ(test_send(i % 2 ? b : a, f, len), 0);
			struct test_frame *r = test_dev_wait(&(i % 2 ? a : b)->dev, NULL, NULL, 10);
			CHECK(r != NULL && r->len == len && !memcmp(r->data, f, len));
			free(r);
		}
		/* datagrams that are no frame: too short; the device never sees them */
		int raw = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(pa),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		CHECK_EQ(sendto(raw, "tiny", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
		CHECK_EQ(sendto(raw, "", 0, 0, (struct sockaddr *)&to, sizeof(to)), 0);
		close(raw);
		CHECK(malformed_is(a, 2));
		CHECK_EQ(a->dev.nr_frames, 0);
	}
	test_netdev_close(a);
	test_netdev_close(b);
}

TEST(unix_dgram_and_giants)
{
	char pa[64], pb[64], argv_a[200], argv_b[200];
	snprintf(pa, sizeof(pa), "%s", unix_path("da"));
	snprintf(pb, sizeof(pb), "%s", unix_path("db"));
	snprintf(argv_a, sizeof(argv_a),
		 "dgram,id=a,local.type=unix,local.path=%s,remote.type=unix,remote.path=%s", pa, pb);
	snprintf(argv_b, sizeof(argv_b),
		 "dgram,id=b,local.type=unix,local.path=%s,remote.type=unix,remote.path=%s", pb, pa);
	struct test_netdev *a = test_netdev_open(argv_a), *b = test_netdev_open(argv_b);
	CHECK(a && b);
	if (a && b) {
		static uint8_t f[NET_FRAME_MAX + 100];
		make_frame(f, NET_FRAME_MAX, 5);
		CHECK_EQ(test_send(a, f, NET_FRAME_MAX), 0);
		struct test_frame *r = test_dev_wait(&b->dev, NULL, NULL, 10);
		CHECK(r != NULL && r->len == NET_FRAME_MAX && !memcmp(r->data, f, NET_FRAME_MAX));
		free(r);
		/* a datagram longer than any frame, from another socket */
		int raw = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int sndbuf = 1 << 20;
		setsockopt(raw, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		struct sockaddr_un to = { .sun_family = AF_UNIX };
		snprintf(to.sun_path, sizeof(to.sun_path), "%s", pb);
		CHECK_EQ(sendto(raw, f, NET_FRAME_MAX + 1, 0, (struct sockaddr *)&to, sizeof(to)),
			 NET_FRAME_MAX + 1);
		close(raw);
		CHECK(malformed_is(b, 1));
		make_frame(f, 60, 6);
		CHECK_EQ(test_send(b, f, 60), 0);
		r = test_dev_wait(&a->dev, NULL, NULL, 10);
		CHECK(r != NULL && r->len == 60 && !memcmp(r->data, f, 60));
		free(r);
	}
	test_netdev_close(a);
	test_netdev_close(b);
	CHECK(access(pa, F_OK) < 0 && access(pb, F_OK) < 0);
}

/* Multicast needs a loopback that multicasts: in a namespace of our own */
TEST(multicast_group)
{
	if (unshare(CLONE_NEWNET) < 0)
		SKIP("cannot make a network namespace (unshare -n needs root)");
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	CHECK_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP | IFF_MULTICAST;
	CHECK_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	const char *arg = "socket,id=m,mcast=239.255.7.7:17007,localaddr=127.0.0.1";
	struct test_netdev *a = test_netdev_open(arg), *b = test_netdev_open(arg);
	CHECK(a && b);
	if (a && b) {
		uint8_t f[100];
		make_frame(f, sizeof(f), 77);
		CHECK_EQ(test_send(a, f, sizeof(f)), 0);
		/* both members hear it (the sender too, as in QEMU) */
		struct test_frame *r = test_dev_wait(&b->dev, NULL, NULL, 10);
		CHECK(r != NULL && r->len == sizeof(f) && !memcmp(r->data, f, sizeof(f)));
		free(r);
		r = test_dev_wait(&a->dev, NULL, NULL, 10);
		CHECK(r != NULL && r->len == sizeof(f));
		free(r);
	}
	test_netdev_close(a);
	test_netdev_close(b);
}

RUN_TESTS(T(unix_stream_both_ways), T(inet_stream_both_ways), T(connect_refused),
	  T(bad_framing_is_dropped_and_counted), T(back_pressure_without_loss),
	  T(udp_dgram_both_ways), T(unix_dgram_and_giants), T(multicast_group))
