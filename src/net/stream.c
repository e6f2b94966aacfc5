/* -netdev stream (and socket with listen=/connect=/fd=): frames over a
 * stream socket to another VMM, each after its 4-byte big-endian length, as
 * QEMU frames them (net/frame.h).  A server takes one peer at a time and
 * waits for the next when it goes; a client connects when it opens and
 * stays down once its server goes (no reconnect).  The link is up while a
 * peer is connected; without one, frames from the guest are dropped.
 *
 * The connection is read on the I/O thread; the device writes to it from
 * its own thread under tx_lock, which also guards the descriptor's life.
 * A frame the socket takes only in part keeps its tail in tx_rest, and the
 * next frames wait (-EAGAIN) until the I/O thread has written it. */
#include "net/net_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "net/frame.h"

#define STREAM_READ_SIZE 65536
/* At most this many iovec entries go to sendmsg directly; more are copied */
#define STREAM_TX_IOV 64

struct net_stream {
	struct net_backend be;
	int listen_fd;		/* server: where the next peer comes from */
	int listen_index, conn_index;	/* in this turn's poll set */
	bool unlink_path;	/* we made the Unix socket at cfg's path */
	/* I/O thread: the bytes read and not yet parsed, and the frame reader */
	uint8_t *in;
	size_t in_pos, in_len;
	struct net_frame_reader reader;
	bool held;		/* reader's frame was refused by the device */
	/* the connection (-1: none) and what is left of a frame being sent */
	pthread_mutex_t tx_lock;
	int fd;
	uint8_t *tx_rest;	/* NET_FRAME_LEN_BYTES + NET_FRAME_MAX */
	size_t tx_rest_off, tx_rest_len;
	_Atomic bool tx_pending;	/* tx_rest_len > 0, for the poll loop */
};

static struct net_stream *to_stream(struct net_backend *be)
{
	return net_container_of(be, struct net_stream, be);
}

static const struct netdev_addr *stream_addr(const struct net_stream *s)
{
	return &s->be.cfg->stream.addr;
}

/* ---- the connection ---- */

static void stream_connected(struct net_stream *s, int fd)
{
	int one = 1;
	/* a frame is a message: do not hold it back waiting for more */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_mutex_lock(&s->tx_lock);
	s->fd = fd;
	pthread_mutex_unlock(&s->tx_lock);
	net_frame_reader_reset(&s->reader);
	s->in_pos = s->in_len = 0;
	net_set_carrier(&s->be, true);
}

/* The peer went (or the connection broke) */
static void stream_disconnect(struct net_stream *s)
{
	pthread_mutex_lock(&s->tx_lock);
	close(s->fd);
	s->fd = -1;
	s->tx_rest_len = s->tx_rest_off = 0;
	atomic_store(&s->tx_pending, false);
	pthread_mutex_unlock(&s->tx_lock);
	if (net_frame_reader_reset(&s->reader))
		net_count_rx_malformed(&s->be);	/* it ended inside a frame */
	s->in_pos = s->in_len = 0;
	net_set_carrier(&s->be, false);
	/* a device waiting for room: frames are dropped now, not held */
	net_tx_ready(&s->be, 0);
}

/* Parse what was read, giving complete frames to the device, until it is
 * used up or the device refuses one */
static void stream_parse(struct net_stream *s)
{
	while (!s->held && s->in_pos < s->in_len) {
		enum net_frame_event ev;
		s->in_pos += net_frame_read(&s->reader, s->in + s->in_pos, s->in_len - s->in_pos, &ev);
		if (ev == NET_FRAME_BAD) {
			net_count_rx_malformed(&s->be);
		} else if (ev == NET_FRAME_COMPLETE) {
			struct iovec iov = { s->reader.frame, s->reader.frame_len };
			if (net_rx_deliver(&s->be, 0, &iov, 1, s->reader.frame_len) == -EAGAIN)
				s->held = true;
		}
	}
}

/* Write the rest of a partly sent frame; true when nothing is left */
static bool stream_flush_rest(struct net_stream *s)
{
	bool done;
	pthread_mutex_lock(&s->tx_lock);
	while (s->tx_rest_len && s->fd >= 0) {
		ssize_t n = send(s->fd, s->tx_rest + s->tx_rest_off, s->tx_rest_len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN) {
				/* broken: the I/O thread sees the hang-up next */
				s->tx_rest_len = 0;
			}
			break;
		}
		s->tx_rest_off += (size_t)n;
		s->tx_rest_len -= (size_t)n;
	}
	done = s->tx_rest_len == 0;
	atomic_store(&s->tx_pending, !done);
	pthread_mutex_unlock(&s->tx_lock);
	return done;
}

/* ---- the I/O thread ---- */

static void stream_poll_fill(struct net_backend *be, struct net_pollset *ps, int *timeout_ms)
{
	struct net_stream *s = to_stream(be);
	(void)timeout_ms;
	s->listen_index = s->conn_index = -1;
	if (s->fd < 0) {
		if (s->listen_fd >= 0)
			s->listen_index = net_poll_add(ps, s->listen_fd, POLLIN);
		return;
	}
	short events = s->held ? 0 : POLLIN;
	if (atomic_load(&s->tx_pending) || net_tx_blocked(be, 0))
		events |= POLLOUT;
	if (events)
		s->conn_index = net_poll_add(ps, s->fd, events);
}

static void stream_accept(struct net_stream *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		stream_connected(s, fd);
	else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		log_warn("-netdev %s: accept: %s", s->be.cfg->id, strerror(errno));
}

static void stream_poll_done(struct net_backend *be, struct net_pollset *ps, bool error)
{
	struct net_stream *s = to_stream(be);
	(void)error;

	if (net_poll_revents(ps, s->listen_index) & POLLIN)
		stream_accept(s);
	if (s->held && net_rx_retry_due(be, 0)) {
		struct iovec iov = { s->reader.frame, s->reader.frame_len };
		if (net_rx_deliver(be, 0, &iov, 1, s->reader.frame_len) == 0) {
			s->held = false;
			stream_parse(s);
		}
	}
	short rev = net_poll_revents(ps, s->conn_index);
	if (rev & POLLOUT && stream_flush_rest(s))
		net_tx_ready(be, 0);
	if (s->fd < 0 || s->held || !(rev & (POLLIN | POLLHUP | POLLERR)))
		return;
	ssize_t n = read(s->fd, s->in, STREAM_READ_SIZE);
	if (n > 0) {
		s->in_pos = 0;
		s->in_len = (size_t)n;
		stream_parse(s);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		stream_disconnect(s);
	}
}

/* ---- from the device ---- */

static int stream_send(struct net_backend *be, unsigned queue, const struct iovec *iov,
		       unsigned iovcnt, size_t len)
{
	struct net_stream *s = to_stream(be);
	uint8_t hdr[NET_FRAME_LEN_BYTES];
	struct iovec v[STREAM_TX_IOV + 1];
	unsigned nv = 1;
	int ret = 0;
	(void)queue;

	net_frame_put_len(hdr, (uint32_t)len);
	v[0] = (struct iovec){ hdr, sizeof(hdr) };
	pthread_mutex_lock(&s->tx_lock);
	if (s->fd < 0) {
		ret = -ENOTCONN;
		goto out;
	}
	if (s->tx_rest_len) {
		ret = -EAGAIN;
		goto out;
	}
	if (iovcnt <= STREAM_TX_IOV) {
		memcpy(v + 1, iov, iovcnt * sizeof(*iov));
		nv += iovcnt;
	} else {
		/* a long chain: one copy, in the buffer for partial sends */
		net_iov_copy(s->tx_rest + sizeof(hdr), iov, iovcnt, len);
		v[nv++] = (struct iovec){ s->tx_rest + sizeof(hdr), len };
	}
	struct msghdr msg = { .msg_iov = v, .msg_iovlen = nv };
	size_t total = sizeof(hdr) + len;
	ssize_t n;
	do
		n = sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
	} else if ((size_t)n < total) {
		/* the frame is on its way: keep its tail for the I/O thread */
		uint8_t *frame = s->tx_rest + sizeof(hdr);
		if (iovcnt <= STREAM_TX_IOV)
			net_iov_copy(frame, iov, iovcnt, len);
		memcpy(s->tx_rest, hdr, sizeof(hdr));
		s->tx_rest_off = (size_t)n;
		s->tx_rest_len = total - (size_t)n;
		atomic_store(&s->tx_pending, true);
		net_wake(be);
	}
out:
	pthread_mutex_unlock(&s->tx_lock);
	return ret;
}

/* ---- opening ---- */

/* server=on: a listening socket on the address */
static int stream_listen(struct net_stream *s)
{
	const struct netdev_config *cfg = s->be.cfg;
	const struct netdev_addr *a = stream_addr(s);
	char what[300];
	net_addr_describe(a, what, sizeof(what));

	if (a->type == NETDEV_ADDR_UNIX) {
		struct sockaddr_un sun;
		socklen_t len;
		net_unix_sockaddr(a->path, &sun, &len);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
		net_unix_unlink_stale(a->path);
		if (bind(fd, (struct sockaddr *)&sun, len) < 0 || listen(fd, 1) < 0) {
			int err = errno;
			net_error(cfg, "cannot listen on %s: %s", what, strerror(err));
			close(fd);
			return -err;
		}
		s->unlink_path = true;
		return fd;
	}
	struct addrinfo *res;
	int ret = net_inet_resolve(cfg, a, SOCK_STREAM, true, AF_UNSPEC, &res);
	if (ret < 0)
		return ret;
	int err = EADDRNOTAVAIL, fd = -1;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int one = 1;
		if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
				bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0)) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		net_error(cfg, "cannot listen on %s: %s", what, strerror(err));
	return fd >= 0 ? fd : -err;
}

/* server=off: connected to the address, or an error */
static int stream_connect(struct net_stream *s)
{
	const struct netdev_config *cfg = s->be.cfg;
	const struct netdev_addr *a = stream_addr(s);
	char what[300];
	net_addr_describe(a, what, sizeof(what));
	int err, fd = -1;

	if (a->type == NETDEV_ADDR_UNIX) {
		struct sockaddr_un sun;
		socklen_t len;
		net_unix_sockaddr(a->path, &sun, &len);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		err = fd < 0 ? errno : 0;
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, len) < 0) {
			err = errno;
			close(fd);
			fd = -1;
		}
	} else {
		struct addrinfo *res;
		int ret = net_inet_resolve(cfg, a, SOCK_STREAM, false, AF_UNSPEC, &res);
		if (ret < 0)
			return ret;
		err = EADDRNOTAVAIL;
		for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
			if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
				err = errno;
				close(fd);
				fd = -1;
			}
		}
		freeaddrinfo(res);
	}
	if (fd < 0) {
		net_error(cfg, "cannot connect to %s: %s", what, strerror(err));
		return -err;
	}
	int ret = net_set_nonblock(fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

/* addr.type=fd / socket,fd=: a listening socket (server=on) or a connection */
static int stream_adopt(struct net_stream *s, bool server)
{
	const struct netdev_config *cfg = s->be.cfg;
	int fd = stream_addr(s)->fd, type = 0, listening = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		net_error(cfg, "fd %d is not a stream socket", fd);
		return -ENOTSOCK;
	}
	len = sizeof(listening);
	getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
	if (!listening != !server) {
		net_error(cfg, server ? "fd %d is not a listening socket (server=on)" :
					"fd %d is a listening socket: give server=on",
			  fd);
		return -EINVAL;
	}
	int ret = net_set_nonblock(fd);
	return ret < 0 ? ret : fd;
}

static void stream_destroy(struct net_backend *be)
{
	struct net_stream *s = to_stream(be);
	if (s->fd >= 0)
		close(s->fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->unlink_path)
		unlink(stream_addr(s)->path);
	pthread_mutex_destroy(&s->tx_lock);
	free(s->in);
	free(s->reader.frame);
	free(s->tx_rest);
	net_backend_fini(be);
	free(s);
}

static const struct net_backend_ops stream_ops = {
	.poll_fill = stream_poll_fill,
	.poll_done = stream_poll_done,
	.send = stream_send,
	.destroy = stream_destroy,
};

int net_stream_open(const struct netdev_config *cfg, unsigned debug_mask,
		    struct net_backend **out)
{
	struct net_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = s->listen_fd = -1;
	pthread_mutex_init(&s->tx_lock, NULL);
	int ret = net_backend_init(&s->be, &stream_ops, cfg, debug_mask, 1);
	if (ret < 0) {
		pthread_mutex_destroy(&s->tx_lock);
		free(s);
		return ret;
	}
	s->in = malloc(STREAM_READ_SIZE);
	s->tx_rest = malloc(NET_FRAME_LEN_BYTES + NET_FRAME_MAX);
	uint8_t *frame = malloc(NET_FRAME_MAX);
	net_frame_reader_init(&s->reader, frame);
	if (!s->in || !s->tx_rest || !frame) {
		stream_destroy(&s->be);
		return -ENOMEM;
	}

	bool server = cfg->stream.server;
	if (stream_addr(s)->type == NETDEV_ADDR_FD)
		ret = stream_adopt(s, server);
	else
		ret = server ? stream_listen(s) : stream_connect(s);
	if (ret < 0) {
		stream_destroy(&s->be);
		return ret;
	}
	if (server) {
		s->listen_fd = ret;
		net_set_carrier(&s->be, false);	/* up when a peer comes */
	} else {
		stream_connected(s, ret);
	}
	*out = &s->be;
	return 0;
}
