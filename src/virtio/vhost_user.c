/* The vhost-user front-end: messages on a unix socket, descriptors passed
 * with SCM_RIGHTS.  The back-end is another process and is not trusted:
 * a reply is read whole or not at all, checked against the request it
 * answers, and bounded; descriptors it sends unasked are closed. */
#include "virtio/vhost_user.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "mem/guest_mem.h"

#define VRING_NOFD_MASK 0x100u

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* The connection broke: say so once, refuse what follows */
static int vu_broken(struct vhost_user *vu, const char *what, int err)
{
	if (!vu->dead)
		log_error("vhost-user back-end at %s: %s: %s", vu->path, what,
			  err == -ECONNRESET ? "the back-end closed the connection" : strerror(-err));
	vu->dead = true;
	return err;
}

static int vu_send(struct vhost_user *vu, uint32_t req, uint32_t flags, const void *payload,
		   uint32_t size, const int *fds, unsigned nfds)
{
	uint8_t buf[VHOST_USER_HDR_SIZE + VHOST_USER_MAX_PAYLOAD];
	put32(buf, req);
	put32(buf + 4, flags | VHOST_USER_VERSION);
	put32(buf + 8, size);
	if (size)
		memcpy(buf + VHOST_USER_HDR_SIZE, payload, size);
	size_t len = VHOST_USER_HDR_SIZE + size, done = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} control;
	while (done < len) {
		struct iovec iov = { .iov_base = buf + done, .iov_len = len - done };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (nfds && done == 0) {	/* the descriptors go with the first byte */
			memset(&control, 0, sizeof(control));
			msg.msg_control = control.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
		}
		ssize_t n = sendmsg(vu->fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : errno == EPIPE ? -ECONNRESET : -errno;
		done += (size_t)n;
	}
	return 0;
}

/* Exactly len bytes; descriptors that come along are closed */
static int vu_read_all(struct vhost_user *vu, uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = buf + done, .iov_len = len - done };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
				      .msg_controllen = sizeof(control.buf) };
		ssize_t n = recvmsg(vu->fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				close(fd);
			}
		}
		if (n == 0)
			return -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

/* The reply to req: exactly size bytes of payload into reply */
static int vu_recv_reply(struct vhost_user *vu, uint32_t req, void *reply, uint32_t size)
{
	uint8_t hdr[VHOST_USER_HDR_SIZE];
	uint8_t payload[VHOST_USER_MAX_PAYLOAD];
	int ret = vu_read_all(vu, hdr, sizeof(hdr));
	if (ret < 0)
		return ret;
	uint32_t got_req = get32(hdr), flags = get32(hdr + 4), got_size = get32(hdr + 8);
	if (got_req != req || (flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    !(flags & VHOST_USER_REPLY) || got_size != size) {
		log_error("vhost-user back-end at %s: bad reply to request %u (request %u, flags "
			  "0x%x, %u bytes; want %u)",
			  vu->path, req, got_req, flags, got_size, size);
		vu->dead = true;	/* said why */
		return -EPROTO;
	}
	ret = vu_read_all(vu, payload, size);
	if (ret == 0)
		memcpy(reply, payload, size);
	return ret;
}

/* One request: reply_size bytes come back into reply when reply is set;
 * else, with REPLY_ACK, the back-end's acknowledgement is waited for */
static int vu_request(struct vhost_user *vu, enum vhost_user_request req, const void *payload,
		      uint32_t size, const int *fds, unsigned nfds, void *reply, uint32_t reply_size)
{
	pthread_mutex_lock(&vu->lock);
	int ret = -ENOTCONN;
	if (vu->dead || vu->fd < 0)
		goto out;
	bool ack = !reply && (vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	ret = vu_send(vu, req, ack ? VHOST_USER_NEED_REPLY : 0, payload, size, fds, nfds);
	if (ret < 0) {
		ret = vu_broken(vu, "sending a request", ret);
		goto out;
	}
	if (reply) {
		ret = vu_recv_reply(vu, req, reply, reply_size);
	} else if (ack) {
		uint8_t status[8];
		ret = vu_recv_reply(vu, req, status, sizeof(status));
		if (ret == 0 && get64(status) != 0) {
			log_error("vhost-user back-end at %s: request %u failed (status %llu)",
				  vu->path, req, (unsigned long long)get64(status));
			ret = -EIO;
			goto out;
		}
	}
	if (ret < 0)
		ret = vu_broken(vu, "waiting for a reply", ret);
out:
	pthread_mutex_unlock(&vu->lock);
	return ret;
}

static int vu_get_u64(struct vhost_user *vu, enum vhost_user_request req, uint64_t *v)
{
	uint8_t b[8];
	int ret = vu_request(vu, req, NULL, 0, NULL, 0, b, sizeof(b));
	if (ret == 0)
		*v = get64(b);
	return ret;
}

static int vu_set_u64(struct vhost_user *vu, enum vhost_user_request req, uint64_t v, int fd)
{
	uint8_t b[8];
	put64(b, v);
	return vu_request(vu, req, b, sizeof(b), &fd, fd >= 0, NULL, 0);
}

static int vu_set_state(struct vhost_user *vu, enum vhost_user_request req, unsigned q,
			unsigned num)
{
	uint8_t b[8];
	put32(b, q);
	put32(b + 4, num);
	return vu_request(vu, req, b, sizeof(b), NULL, 0, NULL, 0);
}

int vhost_user_connect(struct vhost_user *vu, const char *path)
{
	memset(vu, 0, sizeof(*vu));
	pthread_mutex_init(&vu->lock, NULL);
	vu->path = path;
	vu->max_queues = 1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_error("vhost-user: socket path %s is too long", path);
		vu->fd = -1;
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	vu->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (vu->fd < 0 || connect(vu->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;
		log_error("vhost-user: cannot connect to the back-end at %s: %s", path,
			  strerror(errno));
		return ret;
	}
	/* a back-end that stops answering is an error, not a hang */
	struct timeval tv = { .tv_sec = VHOST_USER_TIMEOUT_S };
	setsockopt(vu->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(vu->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	int ret = vu_get_u64(vu, VHOST_USER_GET_FEATURES, &vu->features);
	if (ret < 0)
		return ret;
	if (vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		uint64_t pf = 0;
		ret = vu_get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, &pf);
		if (ret < 0)
			return ret;
		pf &= VHOST_USER_PROTOCOL_FEATURES;
		ret = vu_set_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES, pf, -1);
		if (ret < 0)
			return ret;
		vu->protocol_features = pf;
	}
	if (vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_MQ)) {
		uint64_t n = 0;
		ret = vu_get_u64(vu, VHOST_USER_GET_QUEUE_NUM, &n);
		if (ret < 0)
			return ret;
		if (n == 0 || n > 0xffff) {
			log_error("vhost-user back-end at %s: it has %llu queues", path,
				  (unsigned long long)n);
			return -EPROTO;
		}
		vu->max_queues = (unsigned)n;
	}
	return vu_request(vu, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL, 0);
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->fd >= 0)
		close(vu->fd);
	vu->fd = -1;
	vu->dead = true;
	pthread_mutex_destroy(&vu->lock);
}

int vhost_user_set_mem_table(struct vhost_user *vu, const struct guest_mem *gm)
{
	if (gm->fd < 0 || !gm->shared)
		return -EINVAL;
	uint8_t b[8 + 32 * GUEST_MEM_MAX_REGIONS] = { 0 };
	int fds[GUEST_MEM_MAX_REGIONS];
	unsigned n = 0;
	for (int i = 0; i < gm->nr_regions && n < VHOST_USER_MAX_FDS; i++, n++) {
		const struct mem_region *r = &gm->regions[i];
		uint8_t *e = b + 8 + 32 * n;
		put64(e, r->gpa);
		put64(e + 8, r->size);
		put64(e + 16, (uint64_t)(uintptr_t)r->hva);
		put64(e + 24, (uint64_t)(r->hva - gm->base));	/* offset in the memfd */
		fds[n] = gm->fd;
	}
	put32(b, n);
	return vu_request(vu, VHOST_USER_SET_MEM_TABLE, b, 8 + 32 * n, fds, n, NULL, 0);
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
	return vu_set_u64(vu, VHOST_USER_SET_FEATURES, features, -1);
}

int vhost_user_set_vring_num(struct vhost_user *vu, unsigned q, unsigned num)
{
	return vu_set_state(vu, VHOST_USER_SET_VRING_NUM, q, num);
}

int vhost_user_set_vring_base(struct vhost_user *vu, unsigned q, unsigned base)
{
	return vu_set_state(vu, VHOST_USER_SET_VRING_BASE, q, base);
}

int vhost_user_get_vring_base(struct vhost_user *vu, unsigned q, unsigned *base)
{
	uint8_t b[8], r[8];
	put32(b, q);
	put32(b + 4, 0);
	int ret = vu_request(vu, VHOST_USER_GET_VRING_BASE, b, sizeof(b), NULL, 0, r, sizeof(r));
	if (ret == 0) {
		if (get32(r) != q)
			return -EPROTO;
		*base = get32(r + 4);
	}
	return ret;
}

int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned q, const void *desc,
			      const void *used, const void *avail)
{
	uint8_t b[40] = { 0 };
	put32(b, q);
	put64(b + 8, (uint64_t)(uintptr_t)desc);
	put64(b + 16, (uint64_t)(uintptr_t)used);
	put64(b + 24, (uint64_t)(uintptr_t)avail);
	return vu_request(vu, VHOST_USER_SET_VRING_ADDR, b, sizeof(b), NULL, 0, NULL, 0);
}

int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned q, int fd)
{
	return vu_set_u64(vu, VHOST_USER_SET_VRING_KICK, q | (fd < 0 ? VRING_NOFD_MASK : 0), fd);
}

int vhost_user_set_vring_call(struct vhost_user *vu, unsigned q, int fd)
{
	return vu_set_u64(vu, VHOST_USER_SET_VRING_CALL, q | (fd < 0 ? VRING_NOFD_MASK : 0), fd);
}

int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned q, bool enable)
{
	return vu_set_state(vu, VHOST_USER_SET_VRING_ENABLE, q, enable);
}

int vhost_user_get_config(struct vhost_user *vu, unsigned offset, void *buf, unsigned len)
{
	if (!(vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)))
		return -EOPNOTSUPP;
	if (len > VHOST_USER_CONFIG_MAX)
		return -EINVAL;
	uint8_t b[12 + VHOST_USER_CONFIG_MAX] = { 0 };
	put32(b, offset);
	put32(b + 4, len);
	int ret = vu_request(vu, VHOST_USER_GET_CONFIG, b, 12 + len, NULL, 0, b, 12 + len);
	if (ret == 0) {
		if (get32(b) != offset || get32(b + 4) != len)
			return -EPROTO;
		memcpy(buf, b + 12, len);
	}
	return ret;
}
