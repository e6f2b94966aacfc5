/* What every back-end shares: opening by type, the I/O thread and its poll
 * loop, the hand-over of frames to and from the device with back-pressure,
 * link state and counters.  The back-end files do the I/O. */
#include "net/net_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"

void net_error(const struct netdev_config *cfg, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a -nic's netdev has an id no one typed */
	if (cfg->id[0] == '#')
		log_error("-nic %s: %s", cfg->type_name, msg);
	else
		log_error("-netdev %s,id=%s: %s", cfg->type_name, cfg->id, msg);
}

int net_set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

size_t net_iov_length(const struct iovec *iov, unsigned iovcnt)
{
	size_t len = 0;
	for (unsigned i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	return len;
}

void net_iov_copy(void *buf, const struct iovec *iov, unsigned iovcnt, size_t len)
{
	uint8_t *p = buf;
	for (unsigned i = 0; i < iovcnt && len; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;
		memcpy(p, iov[i].iov_base, n);
		p += n;
		len -= n;
	}
}

/* ---- the poll set ---- */

int net_poll_add(struct net_pollset *ps, int fd, short events)
{
	if (ps->n == ps->cap) {
		unsigned cap = ps->cap ? ps->cap * 2 : 16;
		struct pollfd *fds = realloc(ps->fds, cap * sizeof(*fds));
		if (!fds)
			return -1;
		ps->fds = fds;
		ps->cap = cap;
	}
	ps->fds[ps->n] = (struct pollfd){ .fd = fd, .events = events };
	return (int)ps->n++;
}

short net_poll_revents(const struct net_pollset *ps, int index)
{
	return index >= 0 && (unsigned)index < ps->n ? ps->fds[index].revents : 0;
}

/* ---- life cycle ---- */

int net_backend_init(struct net_backend *be, const struct net_backend_ops *ops,
		     const struct netdev_config *cfg, unsigned debug_mask, unsigned nr_queues)
{
	be->ops = ops;
	be->cfg = cfg;
	be->debug_mask = debug_mask;
	be->nr_queues = nr_queues;
	atomic_store(&be->active_queues, 1);
	atomic_store(&be->admin_up, true);
	atomic_store(&be->carrier, true);
	be->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (be->wake_fd < 0) {
		int err = -errno;
		net_error(cfg, "eventfd: %s", strerror(errno));
		return err;
	}
	pthread_mutex_init(&be->sync_lock, NULL);
	pthread_cond_init(&be->sync_cond, NULL);
	return 0;
}

void net_backend_fini(struct net_backend *be)
{
	if (be->wake_fd < 0)
		return;
	close(be->wake_fd);
	be->wake_fd = -1;
	pthread_mutex_destroy(&be->sync_lock);
	pthread_cond_destroy(&be->sync_cond);
}

#ifdef MINIVMM_NO_SLIRP
/* Debian has no static libslirp: a static build has no user network */
int net_user_open(const struct netdev_config *cfg, unsigned debug_mask, struct net_backend **out)
{
	(void)debug_mask;
	(void)out;
	net_error(cfg, "this minivmm was built without libslirp (a static build)");
	return -ENOTSUP;
}
#endif

int net_backend_open(const struct netdev_config *cfg, unsigned debug_mask,
		     struct net_backend **out)
{
	switch (cfg->type) {
	case NETDEV_USER:
		return net_user_open(cfg, debug_mask, out);
	case NETDEV_TAP:
		return net_tap_open(cfg, debug_mask, out);
	case NETDEV_STREAM:
		return net_stream_open(cfg, debug_mask, out);
	case NETDEV_DGRAM:
		return net_dgram_open(cfg, debug_mask, out);
	}
	net_error(cfg, "unknown back-end type");
	return -EINVAL;
}

void net_wake(struct net_backend *be)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is already non-zero, the thread will wake */
	if (write(be->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("-netdev %s: cannot wake the I/O thread: %s", be->cfg->id,
			 strerror(errno));
}

static void net_report_link(struct net_backend *be)
{
	bool up = net_backend_link_up(be);
	if (up != be->link_reported) {
		be->link_reported = up;
		if (be->port->link_changed)
			be->port->link_changed(be->port_opaque, up);
	}
}

/* Wait until the I/O thread has gone round its loop once with what the
 * caller changed before (active queues, vhost): from then on it acts on it */
static void net_sync(struct net_backend *be)
{
	if (!be->thread_started || pthread_equal(pthread_self(), be->thread))
		return;
	pthread_mutex_lock(&be->sync_lock);
	unsigned want = atomic_fetch_add(&be->sync_req, 1) + 1;
	net_wake(be);
	while ((int)(be->sync_done - want) < 0)
		pthread_cond_wait(&be->sync_cond, &be->sync_lock);
	pthread_mutex_unlock(&be->sync_lock);
}

static void *net_thread(void *arg)
{
	struct net_backend *be = arg;
	struct net_pollset ps = { 0 };

	while (!atomic_load(&be->stop)) {
		/* what net_sync waits for: a turn that began after its change */
		unsigned sync = atomic_load(&be->sync_req);
		/* vhost-net owns the data path: leave the back-end's descriptors alone */
		bool paused = atomic_load(&be->vhost_active);
		ps.n = 0;
		int timeout = -1;
		if (net_poll_add(&ps, be->wake_fd, POLLIN) < 0) {
			usleep(10000);	/* out of memory: try again shortly */
			continue;
		}
		if (!paused)
			be->ops->poll_fill(be, &ps, &timeout);
		if (sync != be->sync_done)
			timeout = 0;	/* someone waits for the end of this turn */
		int n = poll(ps.fds, ps.n, timeout);
		bool error = n < 0 && errno != EINTR;
		if (error) {
			log_warn("-netdev %s: poll: %s", be->cfg->id, strerror(errno));
			usleep(10000);
		}
		if (n > 0 && (ps.fds[0].revents & POLLIN)) {
			uint64_t v;
			if (read(be->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_warn("-netdev %s: eventfd: %s", be->cfg->id, strerror(errno));
		}
		if (n < 0)
			for (unsigned i = 0; i < ps.n; i++)
				ps.fds[i].revents = 0;
		if (!paused)
			be->ops->poll_done(be, &ps, error);
		net_report_link(be);
		for (unsigned q = 0; q < be->nr_queues; q++) {
			if (be->queues[q].delivered) {
				be->queues[q].delivered = false;
				if (be->port->rx_flush)
					be->port->rx_flush(be->port_opaque, q);
			}
		}
		if (sync != be->sync_done) {
			pthread_mutex_lock(&be->sync_lock);
			be->sync_done = sync;
			pthread_cond_broadcast(&be->sync_cond);
			pthread_mutex_unlock(&be->sync_lock);
		}
	}
	free(ps.fds);
	return NULL;
}

int net_backend_start(struct net_backend *be, const struct net_port *port, void *opaque)
{
	if (be->thread_started || !port || !port->receive || !port->tx_ready)
		return -EINVAL;
	be->port = port;
	be->port_opaque = opaque;
	be->link_reported = net_backend_link_up(be);
	int ret = pthread_create(&be->thread, NULL, net_thread, be);
	if (ret) {
		net_error(be->cfg, "cannot start the I/O thread: %s", strerror(ret));
		return -ret;
	}
	be->thread_started = true;
	return 0;
}

void net_backend_close(struct net_backend *be)
{
	if (!be)
		return;
	if (be->thread_started) {
		atomic_store(&be->stop, true);
		net_wake(be);
		pthread_join(be->thread, NULL);
	}
	be->ops->destroy(be);
}

/* ---- properties ---- */

const char *net_backend_id(const struct net_backend *be)
{
	return be->cfg->id;
}

unsigned net_backend_queues(const struct net_backend *be)
{
	return be->nr_queues;
}

int net_backend_set_queues(struct net_backend *be, unsigned active)
{
	if (active < 1 || active > be->nr_queues)
		return -EINVAL;
	if (be->ops->set_queues) {
		int ret = be->ops->set_queues(be, active);
		if (ret < 0)
			return ret;
	}
	atomic_store(&be->active_queues, active);
	net_sync(be);
	return 0;
}

bool net_backend_has_vnet_hdr(const struct net_backend *be)
{
	return be->vnet_hdr;
}

unsigned net_backend_offloads(const struct net_backend *be)
{
	return be->offloads;
}

int net_backend_set_offloads(struct net_backend *be, unsigned offloads)
{
	if (offloads & ~be->offloads)
		return -EINVAL;
	return be->ops->set_offloads ? be->ops->set_offloads(be, offloads) : 0;
}

bool net_backend_link_up(const struct net_backend *be)
{
	return atomic_load(&be->admin_up) && atomic_load(&be->carrier);
}

void net_backend_set_link(struct net_backend *be, bool up)
{
	atomic_store(&be->admin_up, up);
	net_wake(be);
}

void net_set_carrier(struct net_backend *be, bool up)
{
	atomic_store(&be->carrier, up);
}

void net_backend_stats(const struct net_backend *be, struct net_stats *s)
{
	const struct net_counter_set *c = &be->stats;
	s->rx_packets = atomic_load(&c->rx_packets);
	s->rx_bytes = atomic_load(&c->rx_bytes);
	s->rx_dropped = atomic_load(&c->rx_dropped);
	s->rx_malformed = atomic_load(&c->rx_malformed);
	s->tx_packets = atomic_load(&c->tx_packets);
	s->tx_bytes = atomic_load(&c->tx_bytes);
	s->tx_dropped = atomic_load(&c->tx_dropped);
}

int net_backend_vhost_info(const struct net_backend *be, struct net_vhost_info *info)
{
	if (!be->ops->vhost_info)
		return -ENOTSUP;
	return be->ops->vhost_info(be, info);
}

int net_backend_set_vhost(struct net_backend *be, bool active)
{
	if (!be->ops->vhost_info)
		return -ENOTSUP;
	atomic_store(&be->vhost_active, active);
	net_sync(be);
	return 0;
}

/* ---- frames ---- */

static size_t net_hdr_len(const struct net_backend *be)
{
	return be->vnet_hdr ? NET_VNET_HDR_LEN : 0;
}

void net_count_rx_dropped(struct net_backend *be)
{
	atomic_fetch_add_explicit(&be->stats.rx_dropped, 1, memory_order_relaxed);
}

void net_count_rx_malformed(struct net_backend *be)
{
	atomic_fetch_add_explicit(&be->stats.rx_malformed, 1, memory_order_relaxed);
}

int net_rx_deliver(struct net_backend *be, unsigned queue, const struct iovec *iov,
		   unsigned iovcnt, size_t len)
{
	struct net_queue *q = &be->queues[queue];
	int ret = -ENETDOWN;

	if (net_backend_link_up(be)) {
		ret = be->port->receive(be->port_opaque, queue, iov, iovcnt);
		if (ret == -EAGAIN) {
			/* Say that a frame waits before looking again: either
			 * this second look sees buffers the guest has just
			 * posted, or the device's net_backend_resume_rx sees
			 * rx_waiting and wakes the thread. */
			atomic_store(&q->rx_waiting, true);
			ret = be->port->receive(be->port_opaque, queue, iov, iovcnt);
			if (ret == -EAGAIN)
				return -EAGAIN;
		}
	}
	if (atomic_load_explicit(&q->rx_waiting, memory_order_relaxed))
		atomic_store(&q->rx_waiting, false);
	if (ret < 0) {
		net_count_rx_dropped(be);
		return 0;
	}
	atomic_fetch_add_explicit(&be->stats.rx_packets, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&be->stats.rx_bytes, len - net_hdr_len(be),
				  memory_order_relaxed);
	q->delivered = true;
	return 0;
}

bool net_rx_retry_due(struct net_backend *be, unsigned queue)
{
	return atomic_exchange(&be->queues[queue].resume_rx, false);
}

void net_backend_resume_rx(struct net_backend *be, unsigned queue)
{
	if (queue >= be->nr_queues)
		return;
	struct net_queue *q = &be->queues[queue];
	if (atomic_load(&q->rx_waiting) && !atomic_exchange(&q->resume_rx, true))
		net_wake(be);
}

void net_tx_ready(struct net_backend *be, unsigned queue)
{
	if (atomic_exchange(&be->queues[queue].tx_blocked, false))
		be->port->tx_ready(be->port_opaque, queue);
}

bool net_tx_blocked(const struct net_backend *be, unsigned queue)
{
	return atomic_load(&be->queues[queue].tx_blocked);
}

int net_backend_send(struct net_backend *be, unsigned queue, const struct iovec *iov,
		     unsigned iovcnt)
{
	if (queue >= atomic_load(&be->active_queues))
		return -EINVAL;
	size_t len = net_iov_length(iov, iovcnt);
	size_t hdr = net_hdr_len(be);
	int ret = -EINVAL;
	if (len >= hdr + NET_ETH_HLEN && len <= hdr + NET_FRAME_MAX && iovcnt <= IOV_MAX &&
	    net_backend_link_up(be))
		ret = be->ops->send(be, queue, iov, iovcnt, len);
	if (ret == -EAGAIN) {
		/* the thread now waits for room and owes tx_ready */
		atomic_store(&be->queues[queue].tx_blocked, true);
		net_wake(be);
		return -EAGAIN;
	}
	if (ret < 0) {
		atomic_fetch_add_explicit(&be->stats.tx_dropped, 1, memory_order_relaxed);
		return 0;
	}
	atomic_fetch_add_explicit(&be->stats.tx_packets, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&be->stats.tx_bytes, len - hdr, memory_order_relaxed);
	return 0;
}
