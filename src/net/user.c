/* -netdev user: the user-mode network of libslirp.  The guest sees a
 * router at 10.0.2.2 (which is the host's loopback too), a DNS relay at
 * 10.0.2.3 and a DHCP server handing out 10.0.2.15 onwards; its TCP and UDP
 * go out through ordinary host sockets, so no privilege is needed.
 *
 * libslirp is single-threaded: every call into it (input, its poll fds,
 * its timers) happens on the back-end's I/O thread.  Frames from the device
 * therefore wait in a bounded queue for that thread.  libslirp's output
 * cannot be paused, so frames the device cannot take yet wait in a second
 * bounded queue, and those that do not fit are dropped and counted; TCP
 * resends them. */
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libslirp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

/* Bounds of the two queues (frames and bytes) */
#define USER_QUEUE_FRAMES 256
#define USER_QUEUE_BYTES (1u << 20)

struct user_frame {
	size_t len;
	uint8_t data[];
};

struct user_queue {
	struct user_frame *frames[USER_QUEUE_FRAMES];
	unsigned head, count;
	size_t bytes;
};

struct user_timer {
	struct user_timer *next;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms;	/* -1: not armed */
};

struct net_user {
	struct net_backend be;
	Slirp *slirp;
	struct user_timer *timers;
	struct net_pollset *ps;		/* the set being filled or read */
	/* frames from the device; tx_lock guards it */
	pthread_mutex_t tx_lock;
	struct user_queue txq;
	/* I/O thread: frames for the device that it has not taken yet */
	struct user_queue rxq;
};

static struct net_user *to_user(struct net_backend *be)
{
	return net_container_of(be, struct net_user, be);
}

static bool user_queue_fits(const struct user_queue *q, size_t len)
{
	return q->count < USER_QUEUE_FRAMES && q->bytes + len <= USER_QUEUE_BYTES;
}

static void user_queue_push(struct user_queue *q, struct user_frame *f)
{
	q->frames[(q->head + q->count++) % USER_QUEUE_FRAMES] = f;
	q->bytes += f->len;
}

static struct user_frame *user_queue_peek(const struct user_queue *q)
{
	return q->count ? q->frames[q->head] : NULL;
}

static void user_queue_pop(struct user_queue *q)
{
	q->bytes -= q->frames[q->head]->len;
	q->head = (q->head + 1) % USER_QUEUE_FRAMES;
	q->count--;
}

static void user_queue_free(struct user_queue *q)
{
	struct user_frame *f;
	while ((f = user_queue_peek(q))) {
		user_queue_pop(q);
		free(f);
	}
}

static struct user_frame *user_frame_new(size_t len)
{
	struct user_frame *f = malloc(sizeof(*f) + len);
	if (f)
		f->len = len;
	return f;
}

static int64_t user_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- towards the device ---- */

/* Offer held frames in order until the device refuses one */
static void user_flush_rx(struct net_user *u)
{
	struct user_frame *f;
	while ((f = user_queue_peek(&u->rxq))) {
		struct iovec iov = { f->data, f->len };
		if (net_rx_deliver(&u->be, 0, &iov, 1, f->len) == -EAGAIN)
			return;
		user_queue_pop(&u->rxq);
		free(f);
	}
}

static ssize_t user_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_user *u = opaque;
	if (!user_queue_peek(&u->rxq)) {
		struct iovec iov = { (void *)buf, len };
		if (net_rx_deliver(&u->be, 0, &iov, 1, len) != -EAGAIN)
			return (ssize_t)len;
	}
	struct user_frame *f = user_queue_fits(&u->rxq, len) ? user_frame_new(len) : NULL;
	if (!f) {
		net_count_rx_dropped(&u->be);
		return (ssize_t)len;	/* as a wire would lose it */
	}
	memcpy(f->data, buf, len);
	user_queue_push(&u->rxq, f);
	return (ssize_t)len;
}

/* ---- libslirp's callbacks ---- */

static void user_guest_error(const char *msg, void *opaque)
{
	struct net_user *u = opaque;
	if (u->be.debug_mask & DEBUG_GUEST_ERRORS)
		log_debug("-netdev %s: %s", u->be.cfg->id, msg);
}

static int64_t user_clock_get_ns(void *opaque)
{
	(void)opaque;
	return user_now_ns();
}

static void *user_timer_new(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_user *u = opaque;
	struct user_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = u->timers;
	u->timers = t;
	return t;
}

static void user_timer_free(void *timer, void *opaque)
{
	struct net_user *u = opaque;
	for (struct user_timer **pp = &u->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = (*pp)->next;
			free(timer);
			return;
		}
	}
}

static void user_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct user_timer *)timer)->expire_ms = expire_ms;
}

/* Descriptors are handed over afresh on every turn of the loop */
static void user_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void user_notify(void *opaque)
{
	struct net_user *u = opaque;
	net_wake(&u->be);
}

static const SlirpCb user_callbacks = {
	.send_packet = user_send_packet,
	.guest_error = user_guest_error,
	.clock_get_ns = user_clock_get_ns,
	.timer_free = user_timer_free,
	.timer_mod = user_timer_mod,
	.register_poll_fd = user_register_poll_fd,
	.unregister_poll_fd = user_register_poll_fd,
	.notify = user_notify,
	.timer_new_opaque = user_timer_new,
};

static const struct {
	int slirp;
	short poll;
} user_poll_events[] = {
	{ SLIRP_POLL_IN, POLLIN },   { SLIRP_POLL_OUT, POLLOUT }, { SLIRP_POLL_PRI, POLLPRI },
	{ SLIRP_POLL_ERR, POLLERR }, { SLIRP_POLL_HUP, POLLHUP },
};

static int user_add_poll(int fd, int events, void *opaque)
{
	struct net_user *u = opaque;
	short ev = 0;
	for (size_t i = 0; i < sizeof(user_poll_events) / sizeof(user_poll_events[0]); i++)
		if (events & user_poll_events[i].slirp)
			ev |= user_poll_events[i].poll;
	return net_poll_add(u->ps, fd, ev);
}

static int user_get_revents(int idx, void *opaque)
{
	struct net_user *u = opaque;
	short rev = net_poll_revents(u->ps, idx);
	int events = 0;
	for (size_t i = 0; i < sizeof(user_poll_events) / sizeof(user_poll_events[0]); i++)
		if (rev & user_poll_events[i].poll)
			events |= user_poll_events[i].slirp;
	return events;
}

/* ---- the I/O thread ---- */

static void user_poll_fill(struct net_backend *be, struct net_pollset *ps, int *timeout_ms)
{
	struct net_user *u = to_user(be);
	uint32_t timeout = UINT32_MAX;

	u->ps = ps;
	slirp_pollfds_fill(u->slirp, &timeout, user_add_poll, u);
	int64_t now_ms = user_now_ns() / 1000000;
	for (struct user_timer *t = u->timers; t; t = t->next) {
		if (t->expire_ms < 0)
			continue;
		int64_t left = t->expire_ms > now_ms ? t->expire_ms - now_ms : 0;
		if ((uint64_t)left < timeout)
			timeout = (uint32_t)left;
	}
	*timeout_ms = timeout == UINT32_MAX ? -1 : timeout > INT_MAX ? INT_MAX : (int)timeout;
}

static void user_run_timers(struct net_user *u)
{
	int64_t now_ms = user_now_ns() / 1000000;
	bool fired;
	do {
		/* a handler may re-arm or free timers: look again after each */
		fired = false;
		for (struct user_timer *t = u->timers; t; t = t->next) {
			if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
				t->expire_ms = -1;
				slirp_handle_timer(u->slirp, t->id, t->cb_opaque);
				fired = true;
				break;
			}
		}
	} while (fired);
}

/* Hand libslirp what the device sent */
static void user_drain_tx(struct net_user *u)
{
	struct user_queue batch;
	pthread_mutex_lock(&u->tx_lock);
	batch = u->txq;
	u->txq.head = u->txq.count = 0;
	u->txq.bytes = 0;
	pthread_mutex_unlock(&u->tx_lock);

	struct user_frame *f;
	while ((f = user_queue_peek(&batch))) {
		user_queue_pop(&batch);
		slirp_input(u->slirp, f->data, (int)f->len);
		free(f);
	}
	net_tx_ready(&u->be, 0);
}

static void user_poll_done(struct net_backend *be, struct net_pollset *ps, bool error)
{
	struct net_user *u = to_user(be);

	if (user_queue_peek(&u->rxq) && net_rx_retry_due(be, 0))
		user_flush_rx(u);
	u->ps = ps;
	slirp_pollfds_poll(u->slirp, error, user_get_revents, u);
	user_run_timers(u);
	user_drain_tx(u);
}

/* ---- from the device ---- */

static int user_send(struct net_backend *be, unsigned queue, const struct iovec *iov,
		     unsigned iovcnt, size_t len)
{
	struct net_user *u = to_user(be);
	(void)queue;
	if (len > INT_MAX)
		return -EMSGSIZE;

	pthread_mutex_lock(&u->tx_lock);
	bool fits = user_queue_fits(&u->txq, len);
	pthread_mutex_unlock(&u->tx_lock);
	if (!fits)
		return -EAGAIN;
	/* only the I/O thread takes frames out: the room stays */
	struct user_frame *f = user_frame_new(len);
	if (!f)
		return -ENOMEM;
	net_iov_copy(f->data, iov, iovcnt, len);
	pthread_mutex_lock(&u->tx_lock);
	bool was_empty = u->txq.count == 0;
	user_queue_push(&u->txq, f);
	pthread_mutex_unlock(&u->tx_lock);
	/* a non-empty queue has a wake-up on its way already */
	if (was_empty)
		net_wake(be);
	return 0;
}

/* ---- life cycle ---- */

static void user_destroy(struct net_backend *be)
{
	struct net_user *u = to_user(be);
	if (u->slirp)
		slirp_cleanup(u->slirp);
	while (u->timers)
		user_timer_free(u->timers, u);
	user_queue_free(&u->txq);
	user_queue_free(&u->rxq);
	pthread_mutex_destroy(&u->tx_lock);
	net_backend_fini(be);
	free(u);
}

static const struct net_backend_ops user_ops = {
	.poll_fill = user_poll_fill,
	.poll_done = user_poll_done,
	.send = user_send,
	.destroy = user_destroy,
};

static struct in_addr in4(uint32_t host_order)
{
	return (struct in_addr){ htonl(host_order) };
}

static void format_ipv4(char *buf, size_t size, uint32_t addr)
{
	snprintf(buf, size, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
		 addr & 0xff);
}

static int user_add_forwards(struct net_user *u)
{
	const struct netdev_config *cfg = u->be.cfg;
	const struct netdev_user *c = &cfg->user;
	char host[16], guest[16];

	for (unsigned i = 0; i < c->nr_hostfwd; i++) {
		const struct netdev_hostfwd *fw = &c->hostfwd[i];
		errno = 0;
		if (slirp_add_hostfwd(u->slirp, fw->udp, in4(fw->host_addr), fw->host_port,
				      in4(fw->guest_addr), fw->guest_port) < 0) {
			int err = errno ? errno : EADDRINUSE;
			format_ipv4(host, sizeof(host), fw->host_addr);
			format_ipv4(guest, sizeof(guest), fw->guest_addr ? fw->guest_addr :
									   c->dhcp_start);
			net_error(cfg, "hostfwd %s %s:%u -> %s:%u: cannot listen on the host port: %s",
				  fw->udp ? "udp" : "tcp", host, fw->host_port, guest,
				  fw->guest_port, strerror(err));
			return -err;
		}
	}
	for (unsigned i = 0; i < c->nr_guestfwd; i++) {
		const struct netdev_guestfwd *fw = &c->guestfwd[i];
		struct in_addr addr = in4(fw->addr);
		int ret = fw->kind == NETDEV_GUESTFWD_CMD ?
				  slirp_add_exec(u->slirp, fw->target, &addr, fw->port) :
				  slirp_add_unix(u->slirp, fw->target, &addr, fw->port);
		if (ret < 0) {
			format_ipv4(guest, sizeof(guest), ntohl(addr.s_addr));
			net_error(cfg, "guestfwd %s:%u: libslirp refused it (an address outside "
				       "the network, or taken)",
				  guest, fw->port);
			return -EINVAL;
		}
	}
	return 0;
}

int net_user_open(const struct netdev_config *cfg, unsigned debug_mask, struct net_backend **out)
{
	const struct netdev_user *c = &cfg->user;
	struct net_user *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->tx_lock, NULL);
	int ret = net_backend_init(&u->be, &user_ops, cfg, debug_mask, 1);
	if (ret < 0) {
		pthread_mutex_destroy(&u->tx_lock);
		free(u);
		return ret;
	}

	SlirpConfig sc = {
		.version = 4,
		.restricted = c->restricted,
		.in_enabled = c->ipv4,
		.vnetwork = in4(c->net),
		.vnetmask = in4(c->mask),
		.vhost = in4(c->host),
		.in6_enabled = c->ipv6,
		.vprefix_len = (uint8_t)c->ipv6_prefix_len,
		.vhostname = c->hostname,
		.tftp_server_name = c->tftp_server_name,
		.tftp_path = c->tftp,
		.bootfile = c->bootfile,
		.vdhcp_start = in4(c->dhcp_start),
		.vnameserver = in4(c->dns),
		.vdnssearch = c->dnssearch[0] ? (const char **)c->dnssearch : NULL,
		.vdomainname = c->domainname,
	};
	memcpy(&sc.vprefix_addr6, c->ipv6_prefix, 16);
	memcpy(&sc.vhost6, c->ipv6_host, 16);
	memcpy(&sc.vnameserver6, c->ipv6_dns, 16);
	u->slirp = slirp_new(&sc, &user_callbacks, u);
	if (!u->slirp) {
		net_error(cfg, "libslirp could not start");
		user_destroy(&u->be);
		return -ENOMEM;
	}
	ret = user_add_forwards(u);
	if (ret < 0) {
		user_destroy(&u->be);
		return ret;
	}
	*out = &u->be;
	return 0;
}
