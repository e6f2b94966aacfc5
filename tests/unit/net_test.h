/* For the back-end tests: a device played by the test (struct net_port
 * callbacks that keep every frame they are given, and can refuse them to
 * apply back-pressure), and hand-built Ethernet, ARP, IPv4, UDP, TCP and
 * DHCP frames. */
#ifndef MINIVMM_TEST_NET_H
#define MINIVMM_TEST_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "net/net.h"
#include "test.h"

/* ---- the device ---- */

struct test_frame {
	struct test_frame *next;
	unsigned queue;
	size_t len;
	uint8_t data[];
};

struct test_dev {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct test_frame *head, **tail;
	unsigned nr_frames;
	atomic_bool refuse;		/* receive answers -EAGAIN */
	atomic_uint refusals;
	atomic_uint tx_ready_calls;
	atomic_uint flushes;
	atomic_int link;		/* -1 until link_changed, then 0/1 */
	atomic_uint link_changes;
	bool wrong_thread;		/* a callback ran on the test's own thread */
	pthread_t test_thread;
};

static inline void test_dev_note_thread(struct test_dev *d)
{
	if (pthread_equal(pthread_self(), d->test_thread))
		d->wrong_thread = true;
}

static inline int test_dev_receive(void *opaque, unsigned queue, const struct iovec *iov,
				   unsigned iovcnt)
{
	struct test_dev *d = opaque;
	test_dev_note_thread(d);
	if (atomic_load(&d->refuse)) {
		atomic_fetch_add(&d->refusals, 1);
		return -EAGAIN;
	}
	size_t len = 0;
	for (unsigned i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	struct test_frame *f = malloc(sizeof(*f) + len);
	if (!f)
		return -ENOMEM;
	f->next = NULL;
	f->queue = queue;
	f->len = len;
	size_t off = 0;
	for (unsigned i = 0; i < iovcnt; i++) {
		memcpy(f->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	pthread_mutex_lock(&d->lock);
	*d->tail = f;
	d->tail = &f->next;
	d->nr_frames++;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static inline void test_dev_rx_flush(void *opaque, unsigned queue)
{
	struct test_dev *d = opaque;
	(void)queue;
	test_dev_note_thread(d);
	pthread_mutex_lock(&d->lock);
	atomic_fetch_add(&d->flushes, 1);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static inline void test_dev_tx_ready(void *opaque, unsigned queue)
{
	struct test_dev *d = opaque;
	(void)queue;
	test_dev_note_thread(d);
	pthread_mutex_lock(&d->lock);
	atomic_fetch_add(&d->tx_ready_calls, 1);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static inline void test_dev_link_changed(void *opaque, bool up)
{
	struct test_dev *d = opaque;
	test_dev_note_thread(d);
	pthread_mutex_lock(&d->lock);
	atomic_store(&d->link, up);
	atomic_fetch_add(&d->link_changes, 1);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static const struct net_port test_dev_port = {
	.receive = test_dev_receive,
	.rx_flush = test_dev_rx_flush,
	.tx_ready = test_dev_tx_ready,
	.link_changed = test_dev_link_changed,
};

static inline void test_dev_init(struct test_dev *d)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->tail = &d->head;
	atomic_store(&d->link, -1);
	d->test_thread = pthread_self();
}

static inline void test_dev_clear(struct test_dev *d)
{
	pthread_mutex_lock(&d->lock);
	while (d->head) {
		struct test_frame *f = d->head;
		d->head = f->next;
		free(f);
	}
	d->tail = &d->head;
	d->nr_frames = 0;
	pthread_mutex_unlock(&d->lock);
}

static inline void test_dev_fini(struct test_dev *d)
{
	test_dev_clear(d);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
}

/* A deadline seconds from now, for pthread_cond_timedwait */
static inline struct timespec test_deadline(int seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	return ts;
}

/* The first frame (taken off the list) that match accepts, waiting up to
 * seconds; frames that do not match are dropped.  NULL on time-out.  The
 * caller frees it. */
typedef bool (*test_frame_match)(const struct test_frame *f, const void *arg);

static inline struct test_frame *test_dev_wait(struct test_dev *d, test_frame_match match,
					       const void *arg, int seconds)
{
	struct timespec deadline = test_deadline(seconds);
	struct test_frame *found = NULL;
	pthread_mutex_lock(&d->lock);
	while (!found) {
		while (d->head && !found) {
			struct test_frame *f = d->head;
			d->head = f->next;
			if (!d->head)
				d->tail = &d->head;
			d->nr_frames--;
			if (!match || match(f, arg))
				found = f;
			else
				free(f);
		}
		if (found || pthread_cond_timedwait(&d->cond, &d->lock, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&d->lock);
	return found;
}

/* Wait until cond(d) holds (checked under the lock), up to seconds */
static inline bool test_dev_wait_for(struct test_dev *d, bool (*cond)(struct test_dev *d),
				     int seconds)
{
	struct timespec deadline = test_deadline(seconds);
	pthread_mutex_lock(&d->lock);
	bool ok;
	while (!(ok = cond(d)))
		if (pthread_cond_timedwait(&d->cond, &d->lock, &deadline) == ETIMEDOUT) {
			ok = cond(d);
			break;
		}
	pthread_mutex_unlock(&d->lock);
	return ok;
}

/* ---- a back-end with its device ---- */

struct test_netdev {
	struct vm_config cfg;	/* the back-end points into it */
	struct net_backend *be;
	struct test_dev dev;
};

/* "-netdev ARG" through the command line, opened and started with a test
 * device; NULL (and the reason on stderr) if any step fails */
static inline struct test_netdev *test_netdev_open(const char *arg)
{
	struct test_netdev *n = calloc(1, sizeof(*n));
	char *argv[] = { (char *)"minivmm", (char *)"-kernel", (char *)"k", (char *)"-netdev",
			 (char *)arg, NULL };
	FILE *out = fopen("/dev/null", "w");
	if (!n || !out)
		abort();
	enum cli_result r = cli_parse(5, argv, &n->cfg, out, stderr);
	fclose(out);
	test_dev_init(&n->dev);
	if (r != CLI_RUN || net_backend_open(&n->cfg.netdevs[0], 0, &n->be) < 0) {
		test_dev_fini(&n->dev);
		free(n);
		return NULL;
	}
	if (net_backend_start(n->be, &test_dev_port, &n->dev) < 0)
		abort();
	return n;
}

static inline void test_netdev_close(struct test_netdev *n)
{
	if (!n)
		return;
	net_backend_close(n->be);
	test_dev_fini(&n->dev);
	free(n);
}

static inline bool test_tx_ready_seen(struct test_dev *d)
{
	return atomic_load(&d->tx_ready_calls) > 0;
}

/* Send one frame on queue, waiting out back-pressure (tx_ready) */
static inline int test_send_q(struct test_netdev *n, unsigned queue, const void *frame,
			      size_t len)
{
	struct iovec iov = { (void *)frame, len };
	for (int tries = 0; tries < 1000; tries++) {
		atomic_store(&n->dev.tx_ready_calls, 0);
		int r = net_backend_send(n->be, queue, &iov, 1);
		if (r != -EAGAIN)
			return r;
		if (!test_dev_wait_for(&n->dev, test_tx_ready_seen, 10))
			return -ETIMEDOUT;
	}
	return -EAGAIN;
}

static inline int test_send(struct test_netdev *n, const void *frame, size_t len)
{
	return test_send_q(n, 0, frame, len);
}

static inline struct net_stats test_stats(struct test_netdev *n)
{
	struct net_stats s;
	net_backend_stats(n->be, &s);
	return s;
}

/* The counters move after the device's callback returns: wait until
 * rx_packets reaches count (up to 10 s) */
static inline bool test_wait_rx_packets(struct test_netdev *n, uint64_t count)
{
	for (int i = 0; i < 10000 && test_stats(n).rx_packets < count; i++)
		usleep(1000);
	return test_stats(n).rx_packets >= count;
}

/* ---- frames ---- */

#define ETH_P_IPV4 0x0800
#define ETH_P_ARP_ 0x0806

static const uint8_t test_guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t test_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static inline uint32_t ipv4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (uint32_t)(a << 24 | b << 16 | c << 8 | d);
}

static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline size_t eth_header(uint8_t *f, const uint8_t dst[6], const uint8_t src[6],
				uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	return 14;
}

/* An ARP request from (mac, ip) for target */
static inline size_t arp_request(uint8_t *f, const uint8_t mac[6], uint32_t ip, uint32_t target)
{
	size_t n = eth_header(f, test_broadcast, mac, ETH_P_ARP_);
	uint8_t *a = f + n;
	put16(a, 1);		/* Ethernet */
	put16(a + 2, ETH_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);	/* request */
	memcpy(a + 8, mac, 6);
	put32(a + 14, ip);
	memset(a + 18, 0, 6);
	put32(a + 24, target);
	return n + 28;
}

/* An ARP reply from (mac, ip) to (dst_mac, dst_ip) */
static inline size_t arp_reply(uint8_t *f, const uint8_t mac[6], uint32_t ip,
			       const uint8_t dst_mac[6], uint32_t dst_ip)
{
	size_t n = eth_header(f, dst_mac, mac, ETH_P_ARP_);
	uint8_t *a = f + n;
	put16(a, 1);
	put16(a + 2, ETH_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 2);
	memcpy(a + 8, mac, 6);
	put32(a + 14, ip);
	memcpy(a + 18, dst_mac, 6);
	put32(a + 24, dst_ip);
	return n + 28;
}

/* An IPv4 header (20 bytes) for payload_len bytes of proto */
static inline size_t ipv4_header(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst,
				 size_t payload_len)
{
	p[0] = 0x45;
	p[1] = 0;
	put16(p + 2, (uint16_t)(20 + payload_len));
	put16(p + 4, 0x1234);
	put16(p + 6, 0x4000);	/* DF */
	p[8] = 64;
	p[9] = proto;
	put16(p + 10, 0);
	put32(p + 12, src);
	put32(p + 16, dst);
	put16(p + 10, csum_fold(csum_add(0, p, 20)));
	return 20;
}

/* The TCP/UDP checksum over the pseudo-header and segment (with its
 * checksum field zero) */
static inline uint16_t l4_checksum(uint8_t proto, uint32_t src, uint32_t dst, const uint8_t *seg,
				   size_t len)
{
	uint8_t pseudo[12];
	put32(pseudo, src);
	put32(pseudo + 4, dst);
	pseudo[8] = 0;
	pseudo[9] = proto;
	put16(pseudo + 10, (uint16_t)len);
	return csum_fold(csum_add(csum_add(0, pseudo, 12), seg, len));
}

/* Ethernet + IPv4 + UDP around payload */
static inline size_t udp_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
			       uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			       const void *payload, size_t len)
{
	size_t n = eth_header(f, dst_mac, src_mac, ETH_P_IPV4);
	n += ipv4_header(f + n, 17, src, dst, 8 + len);
	uint8_t *u = f + n;
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + len));
	put16(u + 6, 0);
	memcpy(u + 8, payload, len);
	uint16_t sum = l4_checksum(17, src, dst, u, 8 + len);
	put16(u + 6, sum ? sum : 0xffff);
	return n + 8 + len;
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* Ethernet + IPv4 + TCP (no options) around payload */
static inline size_t tcp_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
			       uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			       uint32_t seq, uint32_t ack, uint8_t flags, const void *payload,
			       size_t len)
{
	size_t n = eth_header(f, dst_mac, src_mac, ETH_P_IPV4);
	n += ipv4_header(f + n, 6, src, dst, 20 + len);
	uint8_t *t = f + n;
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);	/* window */
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (len)
		memcpy(t + 20, payload, len);
	put16(t + 16, l4_checksum(6, src, dst, t, 20 + len));
	return n + 20 + len;
}

/* A parsed IPv4 frame: NULL fields when it is something else */
struct test_ip {
	const uint8_t *ip, *l4, *payload;
	uint8_t proto;
	uint32_t src, dst;
	uint16_t sport, dport;
	size_t l4_len, payload_len;
	/* TCP */
	uint32_t seq, ack;
	uint8_t flags;
};

static inline bool test_parse_ip(const uint8_t *f, size_t len, struct test_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (len < 14 + 20 || get16(f + 12) != ETH_P_IPV4 || (f[14] >> 4) != 4)
		return false;
	const uint8_t *p = f + 14;
	size_t ihl = (size_t)(p[0] & 15) * 4, total = get16(p + 2);
	if (ihl < 20 || total < ihl || 14 + total > len)
		return false;
	ip->ip = p;
	ip->proto = p[9];
	ip->src = get32(p + 12);
	ip->dst = get32(p + 16);
	ip->l4 = p + ihl;
	ip->l4_len = total - ihl;
	if ((ip->proto == 6 && ip->l4_len >= 20) || (ip->proto == 17 && ip->l4_len >= 8)) {
		ip->sport = get16(ip->l4);
		ip->dport = get16(ip->l4 + 2);
		size_t hlen = ip->proto == 6 ? (size_t)(ip->l4[12] >> 4) * 4 : 8;
		if (hlen > ip->l4_len)
			return false;
		ip->payload = ip->l4 + hlen;
		ip->payload_len = ip->l4_len - hlen;
		if (ip->proto == 6) {
			ip->seq = get32(ip->l4 + 4);
			ip->ack = get32(ip->l4 + 8);
			ip->flags = ip->l4[13];
		}
	}
	return true;
}

static inline bool test_frame_is_arp(const struct test_frame *f, const void *op)
{
	return f->len >= 42 && get16(f->data + 12) == ETH_P_ARP_ &&
	       get16(f->data + 20) == *(const uint16_t *)op;
}

/* ifname up with addr/24 (the test's network namespace) */
static inline bool test_if_up(const char *ifname, uint32_t addr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(addr);
	bool ok = ioctl(s, SIOCSIFADDR, &ifr) == 0;
	sin->sin_addr.s_addr = htonl(0xffffff00);
	ok = ok && ioctl(s, SIOCSIFNETMASK, &ifr) == 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
	close(s);
	return ok;
}

/* ---- the guest ---- */

/* Send a frame, with a zero vnet header in front when the back-end has
 * one */
static inline int test_send_frame(struct test_netdev *n, unsigned queue, const void *frame,
				  size_t len)
{
	if (!net_backend_has_vnet_hdr(n->be))
		return test_send_q(n, queue, frame, len);
	static __thread uint8_t buf[NET_VNET_HDR_LEN + NET_FRAME_MAX];
	memset(buf, 0, NET_VNET_HDR_LEN);
	memcpy(buf + NET_VNET_HDR_LEN, frame, len);
	return test_send_q(n, queue, buf, NET_VNET_HDR_LEN + len);
}

/* The Ethernet frame of f, past the vnet header if the back-end has one */
static inline const uint8_t *test_eth(struct test_netdev *n, const struct test_frame *f,
				      size_t *len)
{
	size_t hdr = net_backend_has_vnet_hdr(n->be) ? NET_VNET_HDR_LEN : 0;
	*len = f->len > hdr ? f->len - hdr : 0;
	return f->data + hdr;
}

/* The next frame for the guest (mac, ip), answering ARP requests for ip on
 * the way; NULL after seconds */
static inline struct test_frame *test_guest_next(struct test_netdev *n, const uint8_t mac[6],
						 uint32_t ip, int seconds)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int left = (int)(end.tv_sec - now.tv_sec);
		if (left < 0)
			return NULL;
		struct test_frame *f = test_dev_wait(&n->dev, NULL, NULL, left ? left : 1);
		if (!f)
			return NULL;
		size_t len;
		const uint8_t *e = test_eth(n, f, &len);
		if (len >= 42 && get16(e + 12) == ETH_P_ARP_ && get16(e + 20) == 1 &&
		    get32(e + 38) == ip) {
			uint8_t reply[64];
			size_t rlen = arp_reply(reply, mac, ip, e + 22, get32(e + 28));
			CHECK_EQ(test_send_frame(n, f->queue, reply, rlen), 0);
			free(f);
			continue;
		}
		return f;
	}
}

#endif
