/* NBD exports through libnbd: nbd://HOST[:PORT]/EXPORT,
 * nbd+unix:///EXPORT?socket=PATH, and QEMU's older nbd:HOST:PORT[:exportname=E]
 * and nbd:unix:PATH[:exportname=E].  Commands go out asynchronously, many
 * at a time on the one connection, from whichever worker asks; a thread
 * of this node runs the socket (libnbd makes none) and completes them.
 * Flush, trim and zero map to the NBD commands when the server offers
 * them; what it does not offer is done another way or, for trim (advice),
 * not at all.  A server that says read-only makes a read-only disk. */
#include "blk_internal.h"

#include <errno.h>

#include "core/log.h"

#ifdef MINIVMM_NO_NBD
int nbd_open(struct blk_ctx *ctx, const char *uri, bool readonly, struct bnode **out)
{
	(void)ctx, (void)readonly, (void)out;
	log_error("%s: this minivmm was built without NBD (a static build)", uri);
	return -ENOTSUP;
}
#else
#include <libnbd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* The most one command moves (the NBD protocol's usual limit) */
#define NBD_MAX_PAYLOAD (32u << 20)
/* trim and zero ranges per command */
#define NBD_MAX_EFFECT (1u << 30)

struct nbd_node {
	struct bnode n;
	struct nbd_handle *h;
	bool can_flush, can_fua, can_zero, can_trim;
	uint64_t max_payload;
	int wake_fd;		/* eventfd: new commands to send, or stop */
	atomic_bool stop;
	pthread_t loop;
};

/* One request's commands, waited for together */
struct nbd_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned pending;
	int error;		/* the first errno */
};

static struct nbd_node *to_nbd(struct bnode *n)
{
	return container_of_blk(n, struct nbd_node, n);
}

static void *nbd_loop(void *opaque)
{
	struct nbd_node *d = opaque;
	int fd = nbd_aio_get_fd(d->h);
	while (!atomic_load(&d->stop) && fd >= 0) {
		unsigned dir = nbd_aio_get_direction(d->h);
		struct pollfd p[2] = {
			{ fd, (short)((dir & LIBNBD_AIO_DIRECTION_READ ? POLLIN : 0) |
				      (dir & LIBNBD_AIO_DIRECTION_WRITE ? POLLOUT : 0)), 0 },
			{ d->wake_fd, POLLIN, 0 },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			uint64_t v;
			if (read(d->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
		}
		dir = nbd_aio_get_direction(d->h);
		int r = 0;
		if ((dir & LIBNBD_AIO_DIRECTION_READ) && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			r = nbd_aio_notify_read(d->h);
		else if ((dir & LIBNBD_AIO_DIRECTION_WRITE) && (p[0].revents & (POLLOUT | POLLERR)))
			r = nbd_aio_notify_write(d->h);
		/* a dead connection has failed every command in flight */
		if (r < 0 || nbd_aio_is_dead(d->h) || nbd_aio_is_closed(d->h))
			break;
	}
	return NULL;
}

static int nbd_done(void *opaque, int *error)
{
	struct nbd_wait *w = opaque;
	pthread_mutex_lock(&w->lock);
	if (*error && !w->error)
		w->error = *error;
	w->pending--;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 1;
}

enum nbd_cmd { NBD_READ, NBD_WRITE, NBD_FLUSH, NBD_TRIM, NBD_ZERO };

/* Send one command; its completion counts down w */
static void nbd_issue(struct nbd_node *d, struct nbd_wait *w, enum nbd_cmd cmd, void *buf,
		      uint64_t len, uint64_t offset, uint32_t flags)
{
	nbd_completion_callback cb = { .callback = nbd_done, .user_data = w };
	pthread_mutex_lock(&w->lock);
	w->pending++;
	pthread_mutex_unlock(&w->lock);
	int64_t r = -1;
	switch (cmd) {
	case NBD_READ:
		r = nbd_aio_pread(d->h, buf, len, offset, cb, 0);
		break;
	case NBD_WRITE:
		r = nbd_aio_pwrite(d->h, buf, len, offset, cb, flags);
		break;
	case NBD_FLUSH:
		r = nbd_aio_flush(d->h, cb, 0);
		break;
	case NBD_TRIM:
		r = nbd_aio_trim(d->h, len, offset, cb, 0);
		break;
	case NBD_ZERO:
		r = nbd_aio_zero(d->h, len, offset, cb, flags);
		break;
	}
	if (r < 0) {
		int err = nbd_aio_is_dead(d->h) || nbd_aio_is_closed(d->h) ? ENOTCONN : nbd_get_errno();
		pthread_mutex_lock(&w->lock);
		w->pending--;
		if (!w->error)
			w->error = err ? err : EIO;
		pthread_mutex_unlock(&w->lock);
	}
	/* the loop polls for writing once there is something to send */
	uint64_t one = 1;
	if (write(d->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: the loop is awake anyway */
	}
}

static int nbd_wait_all(struct nbd_wait *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->pending)
		pthread_cond_wait(&w->cond, &w->lock);
	int err = w->error;
	pthread_mutex_unlock(&w->lock);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	return err ? -err : 0;
}

#define NBD_WAIT_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 }

/* Each iovec segment as commands of at most max_payload */
static int nbd_rw(struct nbd_node *d, enum nbd_cmd cmd, uint64_t offset, const struct iovec *iov,
		  unsigned cnt, uint32_t flags)
{
	struct nbd_wait w = NBD_WAIT_INIT;
	for (unsigned i = 0; i < cnt; i++) {
		uint8_t *p = iov[i].iov_base;
		for (uint64_t done = 0; done < iov[i].iov_len;) {
			uint64_t len = iov[i].iov_len - done;
			if (len > d->max_payload)
				len = d->max_payload;
			nbd_issue(d, &w, cmd, p + done, len, offset, flags);
			done += len;
			offset += len;
		}
	}
	return nbd_wait_all(&w);
}

static int nbd_node_read(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt)
{
	struct nbd_node *d = to_nbd(n);
	uint64_t len = iov_length(iov, cnt);
	/* the disk is rounded up to whole sectors; past the export is zeroes */
	uint64_t have = offset < n->size ? n->size - offset : 0;
	if (have >= len)
		return nbd_rw(d, NBD_READ, offset, iov, cnt, 0);
	struct iovec *part = malloc((cnt + 1) * sizeof(*part));
	if (!part)
		return -ENOMEM;
	unsigned k = iov_slice(iov, cnt, 0, have, part, cnt);
	int ret = have ? nbd_rw(d, NBD_READ, offset, part, k, 0) : 0;
	free(part);
	iov_zero(iov, cnt, have, len - have);
	return ret;
}

static int nbd_flush_cmd(struct nbd_node *d)
{
	struct nbd_wait w = NBD_WAIT_INIT;
	if (!d->can_flush)
		return 0;	/* a server without flush writes through */
	nbd_issue(d, &w, NBD_FLUSH, NULL, 0, 0, 0);
	return nbd_wait_all(&w);
}

static int nbd_node_write(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt,
		     unsigned flags)
{
	struct nbd_node *d = to_nbd(n);
	if (offset + iov_length(iov, cnt) > n->size)
		return -ENOSPC;
	bool fua = flags & BLK_REQ_FUA;
	int ret = nbd_rw(d, NBD_WRITE, offset, iov, cnt,
			 fua && d->can_fua ? LIBNBD_CMD_FLAG_FUA : 0);
	if (ret == 0 && fua && !d->can_fua)
		ret = nbd_flush_cmd(d);
	return ret;
}

static int nbd_node_flush(struct bnode *n)
{
	return nbd_flush_cmd(to_nbd(n));
}

/* trim or zero over a range, in pieces the protocol can carry */
static int nbd_effect(struct nbd_node *d, enum nbd_cmd cmd, uint64_t offset, uint64_t len,
		      uint32_t flags)
{
	struct nbd_wait w = NBD_WAIT_INIT;
	for (uint64_t done = 0; done < len;) {
		uint64_t l = len - done < NBD_MAX_EFFECT ? len - done : NBD_MAX_EFFECT;
		nbd_issue(d, &w, cmd, NULL, l, offset + done, flags);
		done += l;
	}
	return nbd_wait_all(&w);
}

static int nbd_node_discard(struct bnode *n, uint64_t offset, uint64_t len)
{
	struct nbd_node *d = to_nbd(n);
	if (offset >= n->size)
		return 0;
	if (len > n->size - offset)
		len = n->size - offset;
	return d->can_trim ? nbd_effect(d, NBD_TRIM, offset, len, 0) : 0;
}

static int nbd_node_write_zeroes(struct bnode *n, uint64_t offset, uint64_t len, unsigned flags)
{
	struct nbd_node *d = to_nbd(n);
	if (offset + len > n->size)
		return -ENOSPC;
	if (d->can_zero)
		return nbd_effect(d, NBD_ZERO, offset, len,
				  flags & BLK_REQ_UNMAP ? 0 : LIBNBD_CMD_FLAG_NO_HOLE);
	/* no zero command: zeroes as data */
	uint64_t chunk = len < d->max_payload ? len : d->max_payload;
	uint8_t *zero = calloc(1, chunk);
	int ret = zero ? 0 : -ENOMEM;
	for (uint64_t done = 0; done < len && ret == 0; done += chunk) {
		struct iovec iov = { zero, len - done < chunk ? len - done : chunk };
		ret = nbd_rw(d, NBD_WRITE, offset + done, &iov, 1, 0);
	}
	free(zero);
	return ret;
}

static void nbd_close_node(struct bnode *n)
{
	struct nbd_node *d = to_nbd(n);
	if (d->wake_fd >= 0) {
		atomic_store(&d->stop, true);
		uint64_t one = 1;
		if (write(d->wake_fd, &one, sizeof(one)) < 0) {
			/* the loop is awake anyway */
		}
		pthread_join(d->loop, NULL);
		close(d->wake_fd);
	}
	/* a polite goodbye when the connection still stands */
	if (!nbd_aio_is_dead(d->h) && !nbd_aio_is_closed(d->h))
		nbd_shutdown(d->h, 0);
	nbd_close(d->h);
	free(d);
}

static const struct bnode_ops nbd_ops = {
	.read = nbd_node_read,
	.write = nbd_node_write,
	.flush = nbd_node_flush,
	.discard = nbd_node_discard,
	.write_zeroes = nbd_node_write_zeroes,
	.close = nbd_close_node,
};

/* QEMU's older forms: nbd:HOST:PORT[:exportname=E], nbd:unix:PATH[:exportname=E] */
static int nbd_connect_legacy(struct nbd_handle *h, const char *spec)
{
	char *s = strdup(spec + 4);
	if (!s)
		return -1;
	char *export = strstr(s, ":exportname=");
	if (export) {
		*export = 0;
		export += strlen(":exportname=");
	}
	int r = -1;
	if (nbd_set_export_name(h, export ? export : "") == 0) {
		if (!strncmp(s, "unix:", 5)) {
			r = nbd_connect_unix(h, s + 5);
		} else {
			char *colon = strrchr(s, ':');
			if (colon)
				*colon = 0;
			r = nbd_connect_tcp(h, s, colon ? colon + 1 : "10809");
		}
	}
	free(s);
	return r;
}

int nbd_open(struct blk_ctx *ctx, const char *uri, bool readonly, struct bnode **out)
{
	struct nbd_node *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->wake_fd = -1;
	d->h = nbd_create();
	bool uri_form = !strncmp(uri, "nbd://", 6) || !strncmp(uri, "nbd+unix://", 11) ||
			!strncmp(uri, "nbd+tcp://", 10);
	if (!d->h || (uri_form ? nbd_connect_uri(d->h, uri) : nbd_connect_legacy(d->h, uri)) < 0) {
		int err = nbd_get_errno();
		log_error("%s: cannot connect: %s", uri, nbd_get_error() ? nbd_get_error() : "?");
		if (d->h)
			nbd_close(d->h);
		free(d);
		return err ? -err : -EIO;
	}
	int64_t size = nbd_get_size(d->h);
	if (size < 0) {
		log_error("%s: the export has no size: %s", uri, nbd_get_error());
		nbd_close(d->h);
		free(d);
		return -EIO;
	}
	d->n = (struct bnode){ .ops = &nbd_ops, .ctx = ctx, .name = uri, .size = (uint64_t)size,
			       .readonly = readonly || nbd_is_read_only(d->h) == 1 };
	d->can_flush = nbd_can_flush(d->h) == 1;
	d->can_fua = nbd_can_fua(d->h) == 1;
	d->can_zero = nbd_can_zero(d->h) == 1;
	d->can_trim = nbd_can_trim(d->h) == 1;
	d->n.can_discard = !d->n.readonly && d->can_trim;
	int64_t max = nbd_get_block_size(d->h, LIBNBD_SIZE_MAXIMUM);
	d->max_payload = max > 0 && max < NBD_MAX_PAYLOAD ? (uint64_t)max : NBD_MAX_PAYLOAD;
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int ret = d->wake_fd < 0 ? -errno : -pthread_create(&d->loop, NULL, nbd_loop, d);
	if (ret < 0) {
		if (d->wake_fd >= 0)
			close(d->wake_fd);
		log_error("%s: %s", uri, strerror(-ret));
		nbd_close(d->h);
		free(d);
		return ret;
	}
	*out = &d->n;
	return 0;
}
#endif
