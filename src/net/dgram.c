/* -netdev dgram (and socket with udp=/mcast=): one frame per datagram, no
 * length in front, over UDP or a Unix datagram socket.  A multicast remote
 * is joined, so every VMM in the group hears every frame (the sender's own
 * frames come back too, as in QEMU).  Datagrams shorter than an Ethernet
 * header or longer than NET_FRAME_MAX are dropped and counted. */
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

struct net_dgram {
	struct net_backend be;
	int fd;
	int poll_index;
	struct sockaddr_storage dst;	/* where frames go */
	socklen_t dst_len;		/* 0: the socket is connected (or has nowhere) */
	bool unlink_path;		/* we made the Unix socket at local.path */
	uint8_t *buf;			/* NET_FRAME_MAX + 1: one byte tells a giant */
	size_t held_len;		/* a frame in buf the device refused */
};

static struct net_dgram *to_dgram(struct net_backend *be)
{
	return net_container_of(be, struct net_dgram, be);
}

/* ---- the I/O thread ---- */

static void dgram_poll_fill(struct net_backend *be, struct net_pollset *ps, int *timeout_ms)
{
	struct net_dgram *d = to_dgram(be);
	(void)timeout_ms;
	short events = (d->held_len ? 0 : POLLIN) | (net_tx_blocked(be, 0) ? POLLOUT : 0);
	d->poll_index = events ? net_poll_add(ps, d->fd, events) : -1;
}

static void dgram_poll_done(struct net_backend *be, struct net_pollset *ps, bool error)
{
	struct net_dgram *d = to_dgram(be);
	(void)error;

	if (d->held_len && net_rx_retry_due(be, 0)) {
		struct iovec iov = { d->buf, d->held_len };
		if (net_rx_deliver(be, 0, &iov, 1, d->held_len) == 0)
			d->held_len = 0;
	}
	short rev = net_poll_revents(ps, d->poll_index);
	if (rev & (POLLOUT | POLLERR))
		net_tx_ready(be, 0);
	/* a batch of datagrams, then the others get a turn */
	for (int i = 0; i < 64 && !d->held_len && (rev & (POLLIN | POLLERR)); i++) {
		ssize_t n = recv(d->fd, d->buf, NET_FRAME_MAX + 1, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			/* EAGAIN: drained; others (ECONNREFUSED after a send to a
			 * port nobody listens on) say nothing about reading */
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			break;
		}
		if (n < NET_ETH_HLEN || n > NET_FRAME_MAX) {
			net_count_rx_malformed(be);
			continue;
		}
		struct iovec iov = { d->buf, (size_t)n };
		if (net_rx_deliver(be, 0, &iov, 1, (size_t)n) == -EAGAIN)
			d->held_len = (size_t)n;
	}
}

/* ---- from the device ---- */

static int dgram_send(struct net_backend *be, unsigned queue, const struct iovec *iov,
		      unsigned iovcnt, size_t len)
{
	struct net_dgram *d = to_dgram(be);
	struct msghdr msg = {
		.msg_name = d->dst_len ? &d->dst : NULL,
		.msg_namelen = d->dst_len,
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = iovcnt,
	};
	(void)queue;
	(void)len;
	for (;;) {
		if (sendmsg(d->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return errno == ENOBUFS ? -EAGAIN : -errno;
	}
}

/* ---- opening ---- */

/* addr as a sockaddr of family (AF_UNSPEC: any); the first that resolves */
static int dgram_sockaddr(const struct net_dgram *d, const struct netdev_addr *a, bool passive,
			  int family, struct sockaddr_storage *ss, socklen_t *len)
{
	if (a->type == NETDEV_ADDR_UNIX)
		return net_unix_sockaddr(a->path, (struct sockaddr_un *)ss, len);
	struct addrinfo *res;
	int ret = net_inet_resolve(d->be.cfg, a, SOCK_DGRAM, passive, family, &res);
	if (ret < 0)
		return ret;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static bool dgram_is_multicast(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	return ss->ss_family == AF_INET && IN_MULTICAST(ntohl(sin->sin_addr.s_addr));
}

/* Join the group dst names, on the interface with local.host's address */
static int dgram_join(struct net_dgram *d, const struct netdev_addr *local)
{
	const struct sockaddr_in *group = (const struct sockaddr_in *)&d->dst;
	struct ip_mreq mreq = { .imr_multiaddr = group->sin_addr,
				.imr_interface.s_addr = htonl(INADDR_ANY) };
	int one = 1, ttl = 1;
	if (local->type == NETDEV_ADDR_INET && local->host && local->host[0] &&
	    inet_pton(AF_INET, local->host, &mreq.imr_interface) != 1)
		return -EINVAL;
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = group->sin_port,
				   .sin_addr.s_addr = htonl(INADDR_ANY) };
	if (setsockopt(d->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(d->fd, (struct sockaddr *)&any, sizeof(any)) < 0 ||
	    setsockopt(d->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0 ||
	    setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) < 0 ||
	    setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq.imr_interface,
		       sizeof(mreq.imr_interface)) < 0)
		return -errno;
	return 0;
}

static int dgram_setup(struct net_dgram *d)
{
	const struct netdev_config *cfg = d->be.cfg;
	const struct netdev_addr *local = &cfg->dgram.local, *remote = &cfg->dgram.remote;
	char what[300];
	int ret;

	if (remote->type != NETDEV_ADDR_NONE) {
		ret = dgram_sockaddr(d, remote, false, AF_UNSPEC, &d->dst, &d->dst_len);
		if (ret < 0)
			return ret;
	}
	if (local->type == NETDEV_ADDR_FD) {
		int type = 0;
		socklen_t len = sizeof(type);
		d->fd = local->fd;
		if (getsockopt(d->fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_DGRAM) {
			net_error(cfg, "fd %d is not a datagram socket", d->fd);
			return -ENOTSOCK;
		}
		return net_set_nonblock(d->fd);
	}
	int family = remote->type == NETDEV_ADDR_UNIX ? AF_UNIX : d->dst.ss_family;
	d->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->fd < 0) {
		int err = errno;
		net_error(cfg, "cannot make a datagram socket: %s", strerror(err));
		return -err;
	}
	if (dgram_is_multicast(&d->dst)) {
		ret = dgram_join(d, local);
		if (ret < 0) {
			net_addr_describe(remote, what, sizeof(what));
			net_error(cfg, "cannot join multicast group %s: %s", what, strerror(-ret));
		}
		return ret;
	}
	struct sockaddr_storage ss;
	socklen_t len;
	ret = dgram_sockaddr(d, local, true, family, &ss, &len);
	if (ret < 0)
		return ret;
	if (family == AF_UNIX)
		net_unix_unlink_stale(local->path);
	if (bind(d->fd, (struct sockaddr *)&ss, len) < 0) {
		int err = errno;
		net_addr_describe(local, what, sizeof(what));
		net_error(cfg, "cannot bind to %s: %s", what, strerror(err));
		return -err;
	}
	d->unlink_path = family == AF_UNIX;
	return 0;
}

static void dgram_destroy(struct net_backend *be)
{
	struct net_dgram *d = to_dgram(be);
	if (d->fd >= 0)
		close(d->fd);
	if (d->unlink_path)
		unlink(be->cfg->dgram.local.path);
	free(d->buf);
	net_backend_fini(be);
	free(d);
}

static const struct net_backend_ops dgram_ops = {
	.poll_fill = dgram_poll_fill,
	.poll_done = dgram_poll_done,
	.send = dgram_send,
	.destroy = dgram_destroy,
};

int net_dgram_open(const struct netdev_config *cfg, unsigned debug_mask, struct net_backend **out)
{
	struct net_dgram *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fd = -1;
	int ret = net_backend_init(&d->be, &dgram_ops, cfg, debug_mask, 1);
	if (ret < 0) {
		free(d);
		return ret;
	}
	d->buf = malloc(NET_FRAME_MAX + 1);
	ret = d->buf ? dgram_setup(d) : -ENOMEM;
	if (ret < 0) {
		dgram_destroy(&d->be);
		return ret;
	}
	*out = &d->be;
	return 0;
}
