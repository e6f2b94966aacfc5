/* The vhost-user front-end against a back-end played by this test on a
 * unix socket: the opening exchange (features, the protocol features both
 * sides have, the queue count, SET_OWNER acknowledged), the memory table
 * (both regions of a RAM split by the PCI hole, each with the memfd,
 * which maps to the guest's bytes), the ring set-up messages, GET_CONFIG;
 * and a back-end that misbehaves: one that hangs up, one that answers
 * the wrong request, one that refuses a request.  None of them hangs the
 * front-end, and after a broken connection every request fails. */
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mem/guest_mem.h"
#include "virtio/vhost_user.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

enum behaviour { GOOD, HANG_UP_AFTER_FEATURES, WRONG_REPLY, REFUSE_OWNER };

struct backend {
	int listen_fd;
	char path[108];
	enum behaviour how;
	pthread_t thread;
	/* what the front-end sent */
	uint64_t set_protocol_features;
	uint64_t set_features;
	unsigned mem_regions, mem_fds;
	uint64_t region_gpa[2], region_size[2], region_offset[2];
	char seen_in_ram[8];
	unsigned vring_num, vring_base, kick_fds, call_fds;
	uint64_t vring_desc;
};

static int recv_msg(int fd, uint8_t *buf, size_t cap, int *fds, unsigned *nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = 12 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b,
			      .msg_controllen = sizeof(control.b) };
	if (recvmsg(fd, &msg, MSG_WAITALL) != 12)
		return -1;
	*nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		unsigned n = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		*nfds = n;
	}
	uint32_t size;
	memcpy(&size, buf + 8, 4);
	if (size > cap - 12 || (size && recv(fd, buf + 12, size, MSG_WAITALL) != (ssize_t)size))
		return -1;
	return (int)size;
}

static void reply(int fd, uint32_t req, const void *payload, uint32_t size)
{
	uint8_t b[12 + 512];
	uint32_t flags = VHOST_USER_VERSION | VHOST_USER_REPLY;
	memcpy(b, &req, 4);
	memcpy(b + 4, &flags, 4);
	memcpy(b + 8, &size, 4);
	memcpy(b + 12, payload, size);
	if (write(fd, b, 12 + size) < 0)
		abort();
}

static void reply_u64(int fd, uint32_t req, uint64_t v)
{
	reply(fd, req, &v, 8);
}

static void *backend_run(void *arg)
{
	struct backend *be = arg;
	int fd = accept(be->listen_fd, NULL, NULL);
	uint8_t b[12 + 4096];
	int fds[8];
	unsigned nfds;
	int size;
	while ((size = recv_msg(fd, b, sizeof(b), fds, &nfds)) >= 0) {
		uint32_t req, flags;
		memcpy(&req, b, 4);
		memcpy(&flags, b + 4, 4);
		const uint8_t *p = b + 12;
		bool ack = flags & VHOST_USER_NEED_REPLY;
		uint64_t status = 0;
		switch (req) {
		case VHOST_USER_GET_FEATURES:
			if (be->how == WRONG_REPLY) {
				reply_u64(fd, VHOST_USER_GET_PROTOCOL_FEATURES, 0);
				break;
			}
			reply_u64(fd, req, (1ull << 32) | (1ull << 30) | (1ull << 9));
			if (be->how == HANG_UP_AFTER_FEATURES)
				goto out;
			break;
		case VHOST_USER_GET_PROTOCOL_FEATURES:
			/* and a feature the front-end does not know */
			reply_u64(fd, req, VHOST_USER_PROTOCOL_FEATURES | (1ull << 20));
			break;
		case VHOST_USER_SET_PROTOCOL_FEATURES:
			memcpy(&be->set_protocol_features, p, 8);
			break;
		case VHOST_USER_GET_QUEUE_NUM:
			reply_u64(fd, req, 4);
			break;
		case VHOST_USER_SET_OWNER:
			if (be->how == REFUSE_OWNER)
				status = 1;
			break;
		case VHOST_USER_SET_FEATURES:
			memcpy(&be->set_features, p, 8);
			break;
		case VHOST_USER_SET_MEM_TABLE: {
			uint32_t n;
			memcpy(&n, p, 4);
			be->mem_regions = n;
			be->mem_fds = nfds;
			for (unsigned i = 0; i < n && i < 2; i++) {
				memcpy(&be->region_gpa[i], p + 8 + 32 * i, 8);
				memcpy(&be->region_size[i], p + 8 + 32 * i + 8, 8);
				memcpy(&be->region_offset[i], p + 8 + 32 * i + 24, 8);
			}
			/* what a back-end does: map the fd, find guest-physical 4 GiB */
			if (n == 2 && nfds == 2) {
				uint8_t *m = mmap(NULL, be->region_size[1], PROT_READ, MAP_SHARED, fds[1],
						  (off_t)be->region_offset[1]);
				if (m != MAP_FAILED) {
					memcpy(be->seen_in_ram, m, 8);
					munmap(m, be->region_size[1]);
				}
			}
			break;
		}
		case VHOST_USER_SET_VRING_NUM:
			memcpy(&be->vring_num, p + 4, 4);
			break;
		case VHOST_USER_SET_VRING_BASE:
			memcpy(&be->vring_base, p + 4, 4);
			break;
		case VHOST_USER_SET_VRING_ADDR:
			memcpy(&be->vring_desc, p + 8, 8);
			break;
		case VHOST_USER_SET_VRING_KICK:
			be->kick_fds += nfds;
			break;
		case VHOST_USER_SET_VRING_CALL:
			be->call_fds += nfds;
			break;
		case VHOST_USER_GET_VRING_BASE: {
			uint8_t st[8];
			memcpy(st, p, 4);
			uint32_t base = 7;
			memcpy(st + 4, &base, 4);
			reply(fd, req, st, 8);
			break;
		}
		case VHOST_USER_GET_CONFIG: {
			uint8_t cfg[12 + 60];
			memcpy(cfg, p, 12);
			for (unsigned i = 0; i < 60; i++)
				cfg[12 + i] = (uint8_t)(i + 1);
			reply(fd, req, cfg, (uint32_t)size);
			break;
		}
		}
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		if (ack)
			reply_u64(fd, req, status);
	}
out:
	close(fd);
	return NULL;
}

static void backend_start(struct backend *be, enum behaviour how)
{
	memset(be, 0, sizeof(*be));
	be->how = how;
	snprintf(be->path, sizeof(be->path), "/tmp/minivmm-test-vu-%d.sock", (int)getpid());
	unlink(be->path);
	be->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, be->path);
	if (bind(be->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(be->listen_fd, 1) < 0)
		abort();
	pthread_create(&be->thread, NULL, backend_run, be);
}

static void backend_stop(struct backend *be, struct vhost_user *vu)
{
	vhost_user_close(vu);
	pthread_join(be->thread, NULL);
	close(be->listen_fd);
	unlink(be->path);
}

TEST(opening_memory_and_rings)
{
	struct backend be;
	struct vhost_user vu;
	backend_start(&be, GOOD);
	CHECK_EQ(vhost_user_connect(&vu, be.path), 0);
	CHECK_EQ(vu.features, (1ull << 32) | (1ull << 30) | (1ull << 9));
	CHECK_EQ(vu.protocol_features, VHOST_USER_PROTOCOL_FEATURES);
	CHECK_EQ(vu.max_queues, 4);

	struct guest_mem gm;
	CHECK_EQ(guest_mem_init_pc_memfd(&gm, 3 * GiB + 16 * MiB, true), 0);
	CHECK_EQ(guest_mem_write(&gm, PC_HIGHMEM_BASE, "highram", 8), 0);
	CHECK_EQ(vhost_user_set_mem_table(&vu, &gm), 0);
	CHECK_EQ(vhost_user_set_features(&vu, (1ull << 32) | (1ull << 30)), 0);
	CHECK_EQ(vhost_user_set_vring_num(&vu, 0, 128), 0);
	CHECK_EQ(vhost_user_set_vring_base(&vu, 0, 5), 0);
	CHECK_EQ(vhost_user_set_vring_addr(&vu, 0, gm.base + 0x1000, gm.base + 0x3000,
					   gm.base + 0x2000),
		 0);
	CHECK_EQ(vhost_user_set_vring_kick(&vu, 0, gm.fd), 0);	/* any fd will do */
	CHECK_EQ(vhost_user_set_vring_call(&vu, 0, gm.fd), 0);
	CHECK_EQ(vhost_user_set_vring_call(&vu, 0, -1), 0);	/* no fd: polling */
	CHECK_EQ(vhost_user_set_vring_enable(&vu, 0, true), 0);
	uint8_t cfg[60];
	CHECK_EQ(vhost_user_get_config(&vu, 0, cfg, sizeof(cfg)), 0);
	CHECK_EQ(cfg[0], 1);
	CHECK_EQ(cfg[59], 60);
	unsigned base = 0;
	CHECK_EQ(vhost_user_get_vring_base(&vu, 0, &base), 0);
	CHECK_EQ(base, 7);
	backend_stop(&be, &vu);

	CHECK_EQ(be.set_protocol_features, VHOST_USER_PROTOCOL_FEATURES);
	CHECK_EQ(be.set_features, (1ull << 32) | (1ull << 30));
	CHECK_EQ(be.mem_regions, 2);
	CHECK_EQ(be.mem_fds, 2);
	CHECK_EQ(be.region_gpa[0], 0);
	CHECK_EQ(be.region_size[0], PC_LOWMEM_LIMIT);
	CHECK_EQ(be.region_gpa[1], PC_HIGHMEM_BASE);
	CHECK_EQ(be.region_offset[1], PC_LOWMEM_LIMIT);
	CHECK(!memcmp(be.seen_in_ram, "highram", 8));
	CHECK_EQ(be.vring_num, 128);
	CHECK_EQ(be.vring_base, 5);
	CHECK_EQ(be.vring_desc, (uint64_t)(uintptr_t)(gm.base + 0x1000));
	CHECK_EQ(be.kick_fds, 1);
	CHECK_EQ(be.call_fds, 1);
	guest_mem_destroy(&gm);

	/* anonymous RAM cannot be handed over */
	CHECK_EQ(guest_mem_init_pc(&gm, 16 * MiB), 0);
	CHECK_EQ(vhost_user_set_mem_table(&vu, &gm), -EINVAL);
	guest_mem_destroy(&gm);
}

TEST(backend_hangs_up)
{
	struct backend be;
	struct vhost_user vu;
	backend_start(&be, HANG_UP_AFTER_FEATURES);
	CHECK_EQ(vhost_user_connect(&vu, be.path), -ECONNRESET);
	CHECK(vu.dead);
	CHECK_EQ(vhost_user_set_vring_num(&vu, 0, 128), -ENOTCONN);
	backend_stop(&be, &vu);
}

TEST(backend_answers_the_wrong_request)
{
	struct backend be;
	struct vhost_user vu;
	backend_start(&be, WRONG_REPLY);
	CHECK_EQ(vhost_user_connect(&vu, be.path), -EPROTO);
	CHECK_EQ(vhost_user_set_features(&vu, 0), -ENOTCONN);
	backend_stop(&be, &vu);
}

TEST(backend_refuses_a_request)
{
	struct backend be;
	struct vhost_user vu;
	backend_start(&be, REFUSE_OWNER);
	CHECK_EQ(vhost_user_connect(&vu, be.path), -EIO);
	/* a refusal is not a broken connection */
	CHECK(!vu.dead);
	backend_stop(&be, &vu);
}

TEST(nobody_listening)
{
	struct vhost_user vu;
	CHECK_EQ(vhost_user_connect(&vu, "/tmp/minivmm-test-no-such-socket"), -ENOENT);
	vhost_user_close(&vu);
}

RUN_TESTS(T(opening_memory_and_rings), T(backend_hangs_up), T(backend_answers_the_wrong_request),
	  T(backend_refuses_a_request), T(nobody_listening))
