/* -netdev user (libslirp) driven through net.h by a test playing the
 * device: DHCP, ARP, a TCP connection from the guest to an HTTP server on
 * the host's loopback (reached as 10.0.2.2), hostfwd and guestfwd, restrict=on,
 * link down, back-pressure with a bounded queue, and garbage from the
 * guest.  Only loopback is used. */
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_test.h"

#define GUEST_IP ipv4(10, 0, 2, 15)
#define HOST_IP ipv4(10, 0, 2, 2)
static const uint8_t slirp_host_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

/* ---- the guest's side ---- */

static struct test_frame *guest_next(struct test_netdev *n, int seconds)
{
	return test_guest_next(n, test_guest_mac, GUEST_IP, seconds);
}

/* One TCP connection of the guest's, in order, no options */
struct guest_conn {
	struct test_netdev *n;
	uint32_t local_ip, peer_ip;
	uint16_t local_port, peer_port;
	uint32_t snd_nxt, rcv_nxt;
};

static int conn_send(struct guest_conn *c, uint8_t flags, const void *data, size_t len)
{
	uint8_t f[1600];
	size_t n = tcp_frame(f, slirp_host_mac, test_guest_mac, c->local_ip, c->local_port,
			     c->peer_ip, c->peer_port, c->snd_nxt, c->rcv_nxt, flags, data, len);
	c->snd_nxt += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
	return test_send(c->n, f, n);
}

/* The next segment of this connection; NULL after seconds */
static struct test_frame *conn_recv(struct guest_conn *c, struct test_ip *ip, int seconds)
{
	struct test_frame *f;
	while ((f = guest_next(c->n, seconds))) {
		if (test_parse_ip(f->data, f->len, ip) && ip->proto == 6 && ip->src == c->peer_ip &&
		    ip->sport == c->peer_port && ip->dst == c->local_ip &&
		    ip->dport == c->local_port) {
			/* the checksum over what libslirp built must hold */
			CHECK_EQ(l4_checksum(6, ip->src, ip->dst, ip->l4, ip->l4_len), 0);
			return f;
		}
		free(f);
	}
	return NULL;
}

/* SYN from the guest; true when the SYN-ACK came and was acknowledged */
static bool conn_open(struct guest_conn *c, int seconds)
{
	struct test_ip ip;
	c->snd_nxt = 0x1000;
	if (conn_send(c, TCP_SYN, NULL, 0) != 0)
		return false;
	struct test_frame *f = conn_recv(c, &ip, seconds);
	if (!f)
		return false;
	bool ok = ip.flags == (TCP_SYN | TCP_ACK) && ip.ack == c->snd_nxt;
	c->rcv_nxt = ip.seq + 1;
	free(f);
	return ok && conn_send(c, TCP_ACK, NULL, 0) == 0;
}

/* Everything the peer sends until its FIN, acknowledging as it comes */
static size_t conn_read_all(struct guest_conn *c, uint8_t *buf, size_t size, int seconds)
{
	struct test_ip ip;
	struct test_frame *f;
	size_t got = 0;
	bool fin = false;
	while (!fin && (f = conn_recv(c, &ip, seconds))) {
		if (ip.seq == c->rcv_nxt) {
			size_t n = ip.payload_len < size - got ? ip.payload_len : size - got;
			memcpy(buf + got, ip.payload, n);
			got += n;
			c->rcv_nxt += (uint32_t)ip.payload_len;
			if (ip.flags & TCP_FIN) {
				c->rcv_nxt++;
				fin = true;
			}
		}
		free(f);
		/* in order or not, say what we have */
		conn_send(c, TCP_ACK, NULL, 0);
	}
	CHECK(fin);
	return got;
}

/* ---- a host server on 127.0.0.1 ---- */

struct http_server {
	int fd;
	uint16_t port;
	pthread_t thread;
	atomic_int accepted;
	char request[256];
	char response[4096];
	size_t response_len;
};

static void *http_serve(void *arg)
{
	struct http_server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	atomic_fetch_add(&s->accepted, 1);
	size_t got = 0;
	while (got < sizeof(s->request) - 1 && !strstr(s->request, "\r\n\r\n")) {
		ssize_t n = read(c, s->request + got, sizeof(s->request) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (write(c, s->response, s->response_len) != (ssize_t)s->response_len)
		printf("  server: short write\n");
	close(c);
	return NULL;
}

static int listen_loopback(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		abort();
	*port = ntohs(a.sin_port);
	return fd;
}

static void http_start(struct http_server *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = listen_loopback(&s->port);
	int n = snprintf(s->response, sizeof(s->response), "HTTP/1.0 200 OK\r\nContent-Length: 3000\r\n\r\n");
	for (int i = 0; i < 3000; i++)
		s->response[n + i] = (char)('a' + i % 26);
	s->response_len = (size_t)n + 3000;
	pthread_create(&s->thread, NULL, http_serve, s);
}

static void http_stop(struct http_server *s)
{
	shutdown(s->fd, SHUT_RDWR);	/* ends a pending accept */
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* A port nothing listens on now */
static uint16_t free_port(void)
{
	uint16_t port;
	close(listen_loopback(&port));
	return port;
}

/* ---- tests ---- */

static bool is_dhcp_reply(const struct test_frame *f, const void *arg)
{
	struct test_ip ip;
	(void)arg;
	return test_parse_ip(f->data, f->len, &ip) && ip.proto == 17 && ip.sport == 67 &&
	       ip.dport == 68;
}

/* The value of DHCP option code in the options at p (len bytes); NULL if absent */
static const uint8_t *dhcp_option(const uint8_t *p, size_t len, uint8_t code, uint8_t *opt_len)
{
	size_t i = 0;
	while (i < len && p[i] != 255) {
		if (p[i] == 0) {
			i++;
			continue;
		}
		if (i + 1 >= len || i + 2 + p[i + 1] > len)
			return NULL;
		if (p[i] == code) {
			*opt_len = p[i + 1];
			return p + i + 2;
		}
		i += 2 + (size_t)p[i + 1];
	}
	return NULL;
}

TEST(dhcp_offer)
{
	struct test_netdev *n = test_netdev_open("user,id=n0,ipv6=off");
	CHECK(n != NULL);
	if (!n)
		return;
	uint8_t bootp[548] = { 1, 1, 6 };	/* BOOTREQUEST over Ethernet */
	put32(bootp + 4, 0x5eed1234);		/* xid */
	put16(bootp + 10, 0x8000);		/* broadcast the reply */
	memcpy(bootp + 28, test_guest_mac, 6);
	put32(bootp + 236, 0x63825363);		/* the DHCP magic */
	static const uint8_t discover[] = { 53, 1, 1, 255 };
	memcpy(bootp + 240, discover, sizeof(discover));
	uint8_t f[700];
	size_t len = udp_frame(f, test_broadcast, test_guest_mac, 0, 68, 0xffffffff, 67, bootp,
			       sizeof(bootp));
	CHECK_EQ(test_send(n, f, len), 0);

	struct test_frame *r = test_dev_wait(&n->dev, is_dhcp_reply, NULL, 10);
	CHECK(r != NULL);
	if (r) {
		struct test_ip ip;
		test_parse_ip(r->data, r->len, &ip);
		CHECK(!memcmp(r->data + 6, slirp_host_mac, 6));
		CHECK_EQ(ip.src, HOST_IP);
		CHECK(ip.payload_len >= 240);
		const uint8_t *b = ip.payload;
		CHECK_EQ(b[0], 2);	/* BOOTREPLY */
		CHECK_EQ(get32(b + 4), 0x5eed1234);
		CHECK_EQ(get32(b + 16), GUEST_IP);	/* yiaddr */
		CHECK(!memcmp(b + 28, test_guest_mac, 6));
		uint8_t olen = 0;
		const uint8_t *type = dhcp_option(b + 240, ip.payload_len - 240, 53, &olen);
		CHECK(type && olen == 1 && type[0] == 2);	/* OFFER */
		const uint8_t *server = dhcp_option(b + 240, ip.payload_len - 240, 54, &olen);
		CHECK(server && olen == 4 && get32(server) == HOST_IP);
		const uint8_t *router = dhcp_option(b + 240, ip.payload_len - 240, 3, &olen);
		CHECK(router && olen == 4 && get32(router) == HOST_IP);
		const uint8_t *dns = dhcp_option(b + 240, ip.payload_len - 240, 6, &olen);
		CHECK(dns && olen >= 4 && get32(dns) == ipv4(10, 0, 2, 3));
		free(r);
	}
	CHECK(test_wait_rx_packets(n, 1));
	struct net_stats s = test_stats(n);
	CHECK_EQ(s.tx_packets, 1);
	CHECK_EQ(s.tx_bytes, len);
	CHECK_EQ(s.rx_dropped, 0);
	CHECK(!n->dev.wrong_thread);
	test_netdev_close(n);
}

/* ARP for 10.0.2.2 from the guest; libslirp's reply (the caller frees it),
 * or NULL after 10 s */
static struct test_frame *arp_for_host(struct test_netdev *n)
{
	uint8_t f[64];
	size_t len = arp_request(f, test_guest_mac, GUEST_IP, HOST_IP);
	CHECK_EQ(test_send(n, f, len), 0);
	static const uint16_t reply = 2;
	struct test_frame *r = test_dev_wait(&n->dev, test_frame_is_arp, &reply, 10);
	CHECK(r != NULL);
	return r;
}

static bool flushed(struct test_dev *d)
{
	return atomic_load(&d->flushes) > 0;
}

TEST(arp_for_the_host)
{
	struct test_netdev *n = test_netdev_open("user,id=n0");
	CHECK(n != NULL);
	if (!n)
		return;
	struct test_frame *r = arp_for_host(n);
	if (r) {
		CHECK(!memcmp(r->data, test_guest_mac, 6));
		CHECK(!memcmp(r->data + 22, slirp_host_mac, 6));	/* sender MAC */
		CHECK_EQ(get32(r->data + 28), HOST_IP);			/* sender IP */
		CHECK_EQ(get32(r->data + 38), GUEST_IP);		/* target IP */
		free(r);
	}
	CHECK(test_dev_wait_for(&n->dev, flushed, 10));
	test_netdev_close(n);
}

TEST(tcp_to_host_loopback)
{
	struct http_server srv;
	http_start(&srv);
	struct test_netdev *n = test_netdev_open("user,id=n0");
	CHECK(n != NULL);
	if (!n) {
		http_stop(&srv);
		return;
	}
	struct guest_conn c = { .n = n, .local_ip = GUEST_IP, .peer_ip = HOST_IP,
				.local_port = 40000, .peer_port = srv.port };
	CHECK(conn_open(&c, 10));
	static const char request[] = "GET / HTTP/1.0\r\n\r\n";
	CHECK_EQ(conn_send(&c, TCP_PSH | TCP_ACK, request, strlen(request)), 0);
	static uint8_t got[8192];
	size_t len = conn_read_all(&c, got, sizeof(got), 10);
	CHECK_EQ(len, srv.response_len);
	CHECK(len == srv.response_len && !memcmp(got, srv.response, len));
	conn_send(&c, TCP_FIN | TCP_ACK, NULL, 0);
	http_stop(&srv);
	CHECK_EQ(atomic_load(&srv.accepted), 1);
	CHECK(strstr(srv.request, "GET / HTTP/1.0") != NULL);
	CHECK_EQ(test_stats(n).rx_dropped, 0);
	test_netdev_close(n);
}

TEST(hostfwd_reaches_the_guest)
{
	uint16_t port = free_port();
	char arg[128];
	snprintf(arg, sizeof(arg), "user,id=n0,ipv6=off,hostfwd=tcp:127.0.0.1:%u-:8080", port);
	struct test_netdev *n = test_netdev_open(arg);
	CHECK(n != NULL);
	if (!n)
		return;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK_EQ(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);

	/* libslirp accepts and opens a connection to 10.0.2.15:8080 */
	struct test_ip ip;
	struct test_frame *f;
	while ((f = guest_next(n, 10))) {
		if (test_parse_ip(f->data, f->len, &ip) && ip.proto == 6)
			break;
		free(f);
	}
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ(ip.dst, GUEST_IP);
		CHECK_EQ(ip.dport, 8080);
		CHECK_EQ(ip.flags, TCP_SYN);
		/* accept it, then bytes flow both ways */
		struct guest_conn c = { .n = n, .local_ip = GUEST_IP, .peer_ip = ip.src,
					.local_port = 8080, .peer_port = ip.sport,
					.snd_nxt = 0x7000, .rcv_nxt = ip.seq + 1 };
		free(f);
		CHECK_EQ(conn_send(&c, TCP_SYN | TCP_ACK, NULL, 0), 0);
		CHECK_EQ(write(s, "ping", 4), 4);
		size_t got = 0;
		char data[8] = { 0 };
		while (got < 4 && (f = conn_recv(&c, &ip, 10))) {
			if (ip.seq == c.rcv_nxt && ip.payload_len) {
				memcpy(data + got, ip.payload, ip.payload_len < 4 - got ? ip.payload_len : 4 - got);
				got += ip.payload_len;
				c.rcv_nxt += (uint32_t)ip.payload_len;
			}
			free(f);
		}
		CHECK_STR(data, "ping");
		CHECK_EQ(conn_send(&c, TCP_PSH | TCP_ACK, "pong", 4), 0);
		char back[8] = { 0 };
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		CHECK_EQ(poll(&pfd, 1, 10000), 1);
		CHECK_EQ(read(s, back, sizeof(back) - 1), 4);
		CHECK_STR(back, "pong");
	}
	close(s);
	test_netdev_close(n);
}

TEST(hostfwd_port_in_use)
{
	uint16_t port;
	int busy = listen_loopback(&port);
	char arg[128];
	snprintf(arg, sizeof(arg), "user,id=n0,hostfwd=tcp:127.0.0.1:%u-:22", port);
	printf("  (an error line about port %u is expected)\n", port);
	fflush(stdout);
	struct test_netdev *n = test_netdev_open(arg);
	CHECK(n == NULL);
	test_netdev_close(n);
	close(busy);
}

TEST(guestfwd_runs_a_command)
{
	struct test_netdev *n =
		test_netdev_open("user,id=n0,ipv6=off,guestfwd=tcp:10.0.2.100:5555-cmd:echo guestfwd-ok");
	CHECK(n != NULL);
	if (!n)
		return;
	struct guest_conn c = { .n = n, .local_ip = GUEST_IP, .peer_ip = ipv4(10, 0, 2, 100),
				.local_port = 40001, .peer_port = 5555 };
	CHECK(conn_open(&c, 10));
	uint8_t got[64] = { 0 };
	size_t len = conn_read_all(&c, got, sizeof(got) - 1, 10);
	CHECK_EQ(len, 12);
	CHECK_STR((char *)got, "guestfwd-ok\n");
	test_netdev_close(n);
}

TEST(restrict_keeps_the_guest_in)
{
	struct http_server srv;
	http_start(&srv);
	struct test_netdev *n = test_netdev_open("user,id=n0,ipv6=off,restrict=on");
	CHECK(n != NULL);
	if (!n) {
		http_stop(&srv);
		return;
	}
	struct guest_conn c = { .n = n, .local_ip = GUEST_IP, .peer_ip = HOST_IP,
				.local_port = 40002, .peer_port = srv.port };
	/* no SYN-ACK: the connection is refused or never answered */
	CHECK(!conn_open(&c, 3));
	http_stop(&srv);
	CHECK_EQ(atomic_load(&srv.accepted), 0);
	/* ARP and DHCP still work inside */
	free(arp_for_host(n));
	test_netdev_close(n);
}

static bool link_down(struct test_dev *d)
{
	return atomic_load(&d->link) == 0;
}

static bool link_up(struct test_dev *d)
{
	return atomic_load(&d->link) == 1;
}

TEST(link_down_drops_both_ways)
{
	struct test_netdev *n = test_netdev_open("user,id=n0,ipv6=off");
	CHECK(n != NULL);
	if (!n)
		return;
	CHECK(net_backend_link_up(n->be));
	net_backend_set_link(n->be, false);
	CHECK(!net_backend_link_up(n->be));
	CHECK(test_dev_wait_for(&n->dev, link_down, 10));
	uint8_t f[64];
	size_t len = arp_request(f, test_guest_mac, GUEST_IP, HOST_IP);
	CHECK_EQ(test_send(n, f, len), 0);
	CHECK_EQ(test_stats(n).tx_dropped, 1);
	CHECK_EQ(test_stats(n).tx_packets, 0);
	net_backend_set_link(n->be, true);
	CHECK(test_dev_wait_for(&n->dev, link_up, 10));
	CHECK_EQ(atomic_load(&n->dev.link_changes), 2);
	free(arp_for_host(n));
	test_netdev_close(n);
}

static bool all_dropped(struct test_dev *d)
{
	/* the test stores the back-end beside its device */
	struct test_netdev *n = (struct test_netdev *)((char *)d - offsetof(struct test_netdev, dev));
	return test_stats(n).rx_dropped >= 44;
}

static bool got_256(struct test_dev *d)
{
	return d->nr_frames >= 256;
}

/* libslirp cannot be paused: while the device refuses, its frames wait in
 * a queue of 256 and the rest are dropped and counted; after resume the
 * queued ones arrive, in order. */
TEST(back_pressure_bounded_queue)
{
	struct test_netdev *n = test_netdev_open("user,id=n0,ipv6=off");
	CHECK(n != NULL);
	if (!n)
		return;
	atomic_store(&n->dev.refuse, true);
	for (unsigned i = 0; i < 300; i++) {
		uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, (uint8_t)(i >> 8), (uint8_t)i };
		uint8_t f[64];
		size_t len = arp_request(f, mac, GUEST_IP, HOST_IP);
		CHECK_EQ(test_send(n, f, len), 0);
	}
	CHECK(test_dev_wait_for(&n->dev, all_dropped, 20));
	struct net_stats s = test_stats(n);
	CHECK_EQ(s.tx_packets, 300);
	CHECK_EQ(s.rx_dropped, 44);
	CHECK_EQ(s.rx_packets, 0);
	CHECK_EQ(n->dev.nr_frames, 0);

	atomic_store(&n->dev.refuse, false);
	net_backend_resume_rx(n->be, 0);
	CHECK(test_dev_wait_for(&n->dev, got_256, 20));
	CHECK(test_wait_rx_packets(n, 256));
	s = test_stats(n);
	CHECK_EQ(s.rx_packets, 256);
	CHECK_EQ(s.rx_dropped, 44);
	for (unsigned i = 0; i < 256; i++) {
		struct test_frame *f = test_dev_wait(&n->dev, NULL, NULL, 1);
		CHECK(f != NULL);
		if (!f)
			break;
		CHECK_EQ(get16(f->data + 20), 2);
		CHECK_EQ(f->data[4], (uint8_t)(i >> 8));
		CHECK_EQ(f->data[5], (uint8_t)i);
		free(f);
	}
	/* and the path is open again */
	free(arp_for_host(n));
	CHECK(!n->dev.wrong_thread);
	test_netdev_close(n);
}

/* A hostile guest: runts, giants, truncated and lying headers, noise */
TEST(garbage_from_the_guest)
{
	struct test_netdev *n = test_netdev_open("user,id=n0");
	CHECK(n != NULL);
	if (!n)
		return;
	static uint8_t f[NET_FRAME_MAX + 64];
	/* shorter than an Ethernet header, longer than any frame: dropped */
	CHECK_EQ(test_send(n, f, 13), 0);
	CHECK_EQ(test_send(n, f, NET_FRAME_MAX + 1), 0);
	CHECK_EQ(test_stats(n).tx_dropped, 2);
	CHECK_EQ(net_backend_send(n->be, 1, (struct iovec[]){ { f, 60 } }, 1), -EINVAL);

	uint32_t seed = 12345;
	static const uint16_t types[] = { ETH_P_IPV4, ETH_P_ARP_, 0x86dd, 0x8100 };
	for (int i = 0; i < 2000; i++) {
		seed = seed * 1103515245 + 12345;
		size_t len = 14 + (seed >> 8) % 1500;
		for (size_t j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			f[j] = (uint8_t)(seed >> 16);
		}
		eth_header(f, slirp_host_mac, test_guest_mac, types[i % 4]);
		if (i % 4 == 0 && len >= 34) {
			f[14] = (uint8_t)(0x40 | (f[14] & 15));	/* IPv4, any IHL */
			if (i % 8 == 0)
				put32(f + 30, HOST_IP);
		}
		CHECK_EQ(test_send(n, f, len), 0);
	}
	/* an IPv4 header claiming more than the frame holds */
	size_t len = tcp_frame(f, slirp_host_mac, test_guest_mac, GUEST_IP, 1, HOST_IP, 2, 0, 0,
			       TCP_SYN, NULL, 0);
	put16(f + 16, 60000);
	CHECK_EQ(test_send(n, f, len), 0);

	/* still alive and answering */
	free(arp_for_host(n));
	test_netdev_close(n);
}

TEST(contract_basics)
{
	struct test_netdev *n = test_netdev_open("user,id=n0");
	CHECK(n != NULL);
	if (!n)
		return;
	CHECK_STR(net_backend_id(n->be), "n0");
	CHECK_EQ(net_backend_queues(n->be), 1);
	CHECK(!net_backend_has_vnet_hdr(n->be));
	CHECK_EQ(net_backend_offloads(n->be), 0);
	CHECK_EQ(net_backend_set_offloads(n->be, 0), 0);
	CHECK_EQ(net_backend_set_offloads(n->be, NET_OFFLOAD_CSUM), -EINVAL);
	CHECK_EQ(net_backend_set_queues(n->be, 2), -EINVAL);
	CHECK_EQ(net_backend_set_queues(n->be, 0), -EINVAL);
	CHECK_EQ(net_backend_set_queues(n->be, 1), 0);
	struct net_vhost_info vi;
	CHECK_EQ(net_backend_vhost_info(n->be, &vi), -ENOTSUP);
	CHECK_EQ(net_backend_set_vhost(n->be, true), -ENOTSUP);
	CHECK_EQ(net_backend_start(n->be, &test_dev_port, &n->dev), -EINVAL);	/* once */
	/* resume with nothing held is a no-op */
	net_backend_resume_rx(n->be, 0);
	net_backend_resume_rx(n->be, 7);
	test_netdev_close(n);
}

RUN_TESTS(T(dhcp_offer), T(arp_for_the_host), T(tcp_to_host_loopback),
	  T(hostfwd_reaches_the_guest), T(hostfwd_port_in_use), T(guestfwd_runs_a_command),
	  T(restrict_keeps_the_guest_in), T(link_down_drops_both_ways),
	  T(back_pressure_bounded_queue), T(garbage_from_the_guest), T(contract_basics))
