/* -netdev tap: a tap interface of the host's kernel, one descriptor per
 * queue (IFF_MULTI_QUEUE for queues=N), with the virtio-net header in front
 * of every frame when the kernel offers IFF_VNET_HDR (vnet_hdr=on, or by
 * default).  Scripts run only when named: script=FILE and downscript=FILE
 * are run with the interface name, as QEMU runs them.  With vhost=on the
 * back-end opens /dev/vhost-net per queue and the device hands the data path
 * to the kernel (net/vhost_net.h); the taps are then left alone. */
#include "net/net_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

/* Frames read from one queue before the others get a turn */
#define TAP_RX_BATCH 64
#define TAP_BUF_SIZE (NET_VNET_HDR_LEN + NET_FRAME_MAX)

_Static_assert(NET_OFFLOAD_CSUM == TUN_F_CSUM && NET_OFFLOAD_TSO4 == TUN_F_TSO4 &&
		       NET_OFFLOAD_TSO6 == TUN_F_TSO6 && NET_OFFLOAD_ECN == TUN_F_TSO_ECN &&
		       NET_OFFLOAD_UFO == TUN_F_UFO,
	       "NET_OFFLOAD_* are TUNSETOFFLOAD's bits");

struct tap_queue {
	int fd;
	int vhost_fd;		/* vhost=on: /dev/vhost-net for this queue pair */
	int poll_index;		/* in this turn's poll set, or -1 */
	size_t held_len;	/* a frame in buf the device refused; 0: none */
	uint8_t *buf;
};

struct net_tap {
	struct net_backend be;
	char ifname[IFNAMSIZ];
	bool read_error_logged;
	struct tap_queue queues[NET_MAX_QUEUES];
};

static struct net_tap *to_tap(struct net_backend *be)
{
	return net_container_of(be, struct net_tap, be);
}

/* ---- scripts ---- */

/* Run "script ifname" and wait for it, as QEMU runs -netdev tap's scripts */
static int tap_run_script(const struct netdev_config *cfg, const char *script,
			  const char *ifname)
{
	if (access(script, X_OK) < 0) {
		int err = errno;
		net_error(cfg, "cannot run %s: %s", script, strerror(err));
		return -err;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		net_error(cfg, "cannot run %s: %s", script, strerror(err));
		return -err;
	}
	if (pid == 0) {
		/* the script gets no descriptor of ours beyond stdio */
		closefrom(3);
		execl(script, script, ifname, (char *)NULL);
		fprintf(stderr, "minivmm: cannot run %s: %s\n", script, strerror(errno));
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			net_error(cfg, "waiting for %s: %s", script, strerror(errno));
			return -ECHILD;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		net_error(cfg, "%s %s failed with exit status %d", script, ifname,
			  WEXITSTATUS(status));
	else
		net_error(cfg, "%s %s was killed by signal %d", script, ifname,
			  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -EIO;
}

/* ---- set-up ---- */

static int tap_open_tun(const struct netdev_config *cfg)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	int err = errno;
	if (err == ENOENT || err == ENODEV || err == ENXIO)
		net_error(cfg, "/dev/net/tun is missing: the kernel needs the tun module "
			       "(modprobe tun)");
	else if (err == EACCES || err == EPERM)
		net_error(cfg, "no permission to open /dev/net/tun (root or CAP_NET_ADMIN is "
			       "needed; or pass an open tap with fd=)");
	else
		net_error(cfg, "cannot open /dev/net/tun: %s", strerror(err));
	return -err;
}

/* Create or attach to the interface (ifname, or a new tapN) */
static int tap_set_iff(const struct netdev_config *cfg, int fd, char ifname[IFNAMSIZ],
		       short flags)
{
	struct ifreq ifr = { .ifr_flags = flags };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) == 0) {
		snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
		return 0;
	}
	int err = errno;
	const char *name = ifname[0] ? ifname : "tap";
	if (err == EPERM || err == EACCES)
		net_error(cfg, "creating or attaching tap %s needs CAP_NET_ADMIN (or the tap's "
			       "owner; or pass an open tap with fd=)",
			  name);
	else if (err == EBUSY)
		net_error(cfg, "tap %s is in use (by another program, or it is not a multiqueue "
			       "tap)",
			  name);
	else if (err == EINVAL)
		net_error(cfg, "interface %s exists and is not a tap with these settings "
			       "(vnet_hdr=, queues=)",
			  name);
	else
		net_error(cfg, "TUNSETIFF %s: %s", name, strerror(err));
	return -err;
}

static int tap_create(struct net_tap *t)
{
	const struct netdev_config *cfg = t->be.cfg;
	const struct netdev_tap *c = &cfg->tap;
	unsigned features = 0;

	int fd = tap_open_tun(cfg);
	if (fd < 0)
		return fd;
	if (ioctl(fd, TUNGETFEATURES, &features) < 0)
		features = IFF_TAP | IFF_NO_PI;	/* a kernel older than 2.6.27 */
	bool vnet = c->vnet_hdr == NETDEV_VNET_HDR_ON ||
		    (c->vnet_hdr == NETDEV_VNET_HDR_AUTO && (features & IFF_VNET_HDR));
	if (vnet && !(features & IFF_VNET_HDR)) {
		net_error(cfg, "vnet_hdr=on: this kernel's tun has no IFF_VNET_HDR");
		close(fd);
		return -ENOTSUP;
	}
	if (c->queues > 1 && !(features & IFF_MULTI_QUEUE)) {
		net_error(cfg, "queues=%u: this kernel's tun has no IFF_MULTI_QUEUE", c->queues);
		close(fd);
		return -ENOTSUP;
	}
	short flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) |
		      (c->queues > 1 ? IFF_MULTI_QUEUE : 0);
	if (c->ifname)
		snprintf(t->ifname, sizeof(t->ifname), "%s", c->ifname);
	for (unsigned q = 0; q < c->queues; q++) {
		if (q > 0 && (fd = tap_open_tun(cfg)) < 0)
			return fd;
		t->queues[q].fd = fd;
		/* the first queue names a new interface; the rest join it */
		int ret = tap_set_iff(cfg, fd, t->ifname, flags);
		if (ret < 0)
			return ret;
	}
	t->be.vnet_hdr = vnet;
	return 0;
}

/* fd=/fds=: taps someone else set up; what they are is asked of them */
static int tap_adopt(struct net_tap *t)
{
	const struct netdev_config *cfg = t->be.cfg;
	const struct netdev_tap *c = &cfg->tap;

	for (unsigned q = 0; q < c->nr_fds; q++) {
		struct ifreq ifr = { 0 };
		int fd = c->fds[q];
		t->queues[q].fd = fd;
		if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
			net_error(cfg, "fd=%d is not a tap: %s", fd, strerror(errno));
			return -EINVAL;
		}
		if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP) {
			net_error(cfg, "fd=%d is a tun, not a tap (it carries no Ethernet frames)",
				  fd);
			return -EINVAL;
		}
		if (!(ifr.ifr_flags & IFF_NO_PI)) {
			net_error(cfg, "fd=%d puts packet information before each frame (it was set "
				       "up without IFF_NO_PI)",
				  fd);
			return -EINVAL;
		}
		bool vnet = ifr.ifr_flags & IFF_VNET_HDR;
		if (q == 0) {
			snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
			t->be.vnet_hdr = vnet;
		} else if (strcmp(t->ifname, ifr.ifr_name) || vnet != t->be.vnet_hdr) {
			net_error(cfg, "fds= name different taps (%s, %s)", t->ifname, ifr.ifr_name);
			return -EINVAL;
		}
		int ret = net_set_nonblock(fd);
		if (ret < 0) {
			net_error(cfg, "fd=%d: %s", fd, strerror(-ret));
			return ret;
		}
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return -errno;
	}
	return 0;
}

/* The TUNSETOFFLOAD bits the kernel takes; offloads are left off */
static unsigned tap_probe_offloads(int fd)
{
	static const unsigned tries[] = {
		TUN_F_CSUM,
		TUN_F_CSUM | TUN_F_TSO4,
		TUN_F_CSUM | TUN_F_TSO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN,
		TUN_F_CSUM | TUN_F_UFO,
	};
	unsigned ok = 0;
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, tries[i]) == 0)
			ok |= tries[i];
	ioctl(fd, TUNSETOFFLOAD, 0);
	return ok;
}

static int tap_open_vhost(struct net_tap *t)
{
	const struct netdev_config *cfg = t->be.cfg;
	const struct netdev_tap *c = &cfg->tap;

	for (unsigned q = 0; q < t->be.nr_queues; q++) {
		if (c->nr_vhostfds) {
			t->queues[q].vhost_fd = c->vhostfds[q];
			continue;
		}
		int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			int err = errno;
			if (err == ENOENT || err == ENODEV || err == ENXIO)
				net_error(cfg, "vhost=on: /dev/vhost-net is missing: the kernel "
					       "needs the vhost_net module (modprobe vhost_net)");
			else
				net_error(cfg, "vhost=on: cannot open /dev/vhost-net: %s",
					  strerror(err));
			return -err;
		}
		t->queues[q].vhost_fd = fd;
	}
	return 0;
}

/* Attach the first active queues, detach the rest (IFF_MULTI_QUEUE) */
static int tap_set_queues(struct net_backend *be, unsigned active)
{
	struct net_tap *t = to_tap(be);
	if (be->nr_queues == 1)
		return 0;
	for (unsigned q = 0; q < be->nr_queues; q++) {
		struct ifreq ifr = { .ifr_flags = q < active ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE };
		/* EINVAL: already in that state */
		if (ioctl(t->queues[q].fd, TUNSETQUEUE, &ifr) < 0 && errno != EINVAL) {
			int err = errno;
			log_warn("-netdev %s: tap %s queue %u: TUNSETQUEUE: %s", be->cfg->id,
				 t->ifname, q, strerror(err));
			return -err;
		}
	}
	return 0;
}

/* ---- the I/O thread ---- */

static void tap_poll_fill(struct net_backend *be, struct net_pollset *ps, int *timeout_ms)
{
	struct net_tap *t = to_tap(be);
	unsigned active = atomic_load(&be->active_queues);
	bool vhost = atomic_load(&be->vhost_active);
	(void)timeout_ms;

	for (unsigned q = 0; q < be->nr_queues; q++) {
		struct tap_queue *tq = &t->queues[q];
		short events = 0;
		tq->poll_index = -1;
		if (vhost || q >= active)
			continue;
		if (!tq->held_len)
			events |= POLLIN;
		if (net_tx_blocked(be, q))
			events |= POLLOUT;
		if (events)
			tq->poll_index = net_poll_add(ps, tq->fd, events);
	}
}

/* Read and deliver frames until the tap is empty, the device refuses one
 * (it is held), or the batch is done */
static void tap_read_queue(struct net_tap *t, unsigned q)
{
	struct tap_queue *tq = &t->queues[q];
	size_t hdr = t->be.vnet_hdr ? NET_VNET_HDR_LEN : 0;

	for (int i = 0; i < TAP_RX_BATCH; i++) {
		ssize_t n = read(tq->fd, tq->buf, TAP_BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && !t->read_error_logged) {
				t->read_error_logged = true;
				log_warn("-netdev %s: reading tap %s: %s", t->be.cfg->id, t->ifname,
					 strerror(errno));
			}
			return;
		}
		if ((size_t)n < hdr + NET_ETH_HLEN) {
			net_count_rx_malformed(&t->be);
			continue;
		}
		struct iovec iov = { tq->buf, (size_t)n };
		if (net_rx_deliver(&t->be, q, &iov, 1, (size_t)n) == -EAGAIN) {
			tq->held_len = (size_t)n;
			return;
		}
	}
}

static void tap_poll_done(struct net_backend *be, struct net_pollset *ps, bool error)
{
	struct net_tap *t = to_tap(be);
	(void)error;

	for (unsigned q = 0; q < be->nr_queues; q++) {
		struct tap_queue *tq = &t->queues[q];
		if (tq->poll_index < 0 && !tq->held_len)
			continue;
		if (tq->held_len && net_rx_retry_due(be, q)) {
			struct iovec iov = { tq->buf, tq->held_len };
			if (net_rx_deliver(be, q, &iov, 1, tq->held_len) == 0)
				tq->held_len = 0;
		}
		short rev = net_poll_revents(ps, tq->poll_index);
		if (!tq->held_len && (rev & (POLLIN | POLLERR | POLLHUP)))
			tap_read_queue(t, q);
		if (rev & (POLLOUT | POLLERR))
			net_tx_ready(be, q);
	}
}

/* ---- from the device ---- */

static int tap_send(struct net_backend *be, unsigned queue, const struct iovec *iov,
		    unsigned iovcnt, size_t len)
{
	struct net_tap *t = to_tap(be);
	for (;;) {
		ssize_t n = writev(t->queues[queue].fd, iov, (int)iovcnt);
		if (n >= 0)
			return (size_t)n == len ? 0 : -EIO;
		if (errno != EINTR)
			return -errno;
	}
}

static int tap_set_offloads(struct net_backend *be, unsigned offloads)
{
	struct net_tap *t = to_tap(be);
	if (ioctl(t->queues[0].fd, TUNSETOFFLOAD, offloads) < 0)
		return -errno;
	return 0;
}

static int tap_vhost_info(const struct net_backend *be, struct net_vhost_info *info)
{
	const struct net_tap *t = net_container_of(be, const struct net_tap, be);
	memset(info, 0, sizeof(*info));
	info->requested = be->cfg->tap.vhost;
	info->nr_queues = be->nr_queues;
	for (unsigned q = 0; q < be->nr_queues; q++) {
		info->tap_fds[q] = t->queues[q].fd;
		info->vhost_fds[q] = t->queues[q].vhost_fd;
	}
	return 0;
}

/* ---- life cycle ---- */

static void tap_destroy(struct net_backend *be)
{
	struct net_tap *t = to_tap(be);
	for (unsigned q = 0; q < NET_MAX_QUEUES; q++) {
		struct tap_queue *tq = &t->queues[q];
		if (tq->fd >= 0)
			close(tq->fd);
		if (tq->vhost_fd >= 0)
			close(tq->vhost_fd);
		free(tq->buf);
	}
	/* the interface is gone with its last descriptor (unless persistent) */
	if (be->cfg->tap.downscript && t->ifname[0])
		tap_run_script(be->cfg, be->cfg->tap.downscript, t->ifname);
	net_backend_fini(be);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.poll_fill = tap_poll_fill,
	.poll_done = tap_poll_done,
	.send = tap_send,
	.set_offloads = tap_set_offloads,
	.set_queues = tap_set_queues,
	.vhost_info = tap_vhost_info,
	.destroy = tap_destroy,
};

int net_tap_open(const struct netdev_config *cfg, unsigned debug_mask, struct net_backend **out)
{
	const struct netdev_tap *c = &cfg->tap;
	struct net_tap *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (unsigned q = 0; q < NET_MAX_QUEUES; q++)
		t->queues[q].fd = t->queues[q].vhost_fd = -1;
	unsigned queues = c->nr_fds ? c->nr_fds : c->queues;
	int ret = net_backend_init(&t->be, &tap_ops, cfg, debug_mask, queues);
	if (ret < 0) {
		free(t);
		return ret;
	}
	ret = c->nr_fds ? tap_adopt(t) : tap_create(t);
	for (unsigned q = 0; ret == 0 && q < queues; q++)
		if (!(t->queues[q].buf = malloc(TAP_BUF_SIZE)))
			ret = -ENOMEM;
	if (ret == 0 && t->be.vnet_hdr) {
		int len = NET_VNET_HDR_LEN;
		for (unsigned q = 0; ret == 0 && q < queues; q++) {
			if (ioctl(t->queues[q].fd, TUNSETVNETHDRSZ, &len) < 0) {
				ret = -errno;
				net_error(cfg, "tap %s: TUNSETVNETHDRSZ: %s", t->ifname,
					  strerror(errno));
			}
		}
		t->be.offloads = tap_probe_offloads(t->queues[0].fd);
	}
	if (ret == 0)
		ret = tap_set_queues(&t->be, 1);
	if (ret == 0 && c->vhost)
		ret = tap_open_vhost(t);
	if (ret == 0 && c->script)
		ret = tap_run_script(cfg, c->script, t->ifname);
	if (ret < 0) {
		/* no downscript for a set-up that did not finish */
		t->ifname[0] = '\0';
		tap_destroy(&t->be);
		return ret;
	}
	*out = &t->be;
	return 0;
}
