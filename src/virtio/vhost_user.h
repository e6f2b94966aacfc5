/* The vhost-user protocol, front-end side (QEMU's docs/interop/
 * vhost-user.rst): a virtio device's data path handed to another process
 * (the back-end) over a unix socket.  The front-end tells the back-end
 * the guest's memory (memfd descriptors it maps), each virtqueue's size,
 * ring addresses and start index, and two eventfds per queue: kick (the
 * guest notified; written by the VMM on tcg, by KVM's ioeventfd on kvm)
 * and call (the back-end used buffers: the VMM raises the interrupt).
 *
 * One request at a time on the connection (a mutex); every reply is
 * checked (its request code, the reply flag, its size), and a reply that
 * does not come within VHOST_USER_TIMEOUT_S is an error, as is a closed
 * connection: after either the connection is dead and every request
 * fails with -ENOTCONN.  Functions return 0 or a negative errno. */
#ifndef MINIVMM_VHOST_USER_H
#define MINIVMM_VHOST_USER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct guest_mem;

#define VHOST_USER_TIMEOUT_S 10

/* the feature bit that says the back-end speaks protocol features */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* protocol feature bits */
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_CONFIG 9

/* the protocol features the front-end takes */
#define VHOST_USER_PROTOCOL_FEATURES                                                  \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIG))

enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_GET_CONFIG = 24,
};

/* header flags */
#define VHOST_USER_VERSION 0x1
#define VHOST_USER_VERSION_MASK 0x3
#define VHOST_USER_REPLY 0x4
#define VHOST_USER_NEED_REPLY 0x8

#define VHOST_USER_HDR_SIZE 12
#define VHOST_USER_MAX_PAYLOAD 4096	/* the largest message either side sends */
#define VHOST_USER_MAX_FDS 8
#define VHOST_USER_CONFIG_MAX 256

struct vhost_user {
	int fd;			/* the connection, -1 when closed */
	const char *path;	/* for messages */
	pthread_mutex_t lock;	/* one request and its reply at a time */
	bool dead;		/* the connection broke: no more requests */
	uint64_t features;	/* the back-end's (GET_FEATURES) */
	uint64_t protocol_features;	/* both sides' (0 without PROTOCOL_FEATURES) */
	unsigned max_queues;	/* GET_QUEUE_NUM with MQ, else 1 */
};

/* Connect to the back-end listening on path and make the opening
 * exchange: features, protocol features, the queue count, SET_OWNER.
 * Prints what went wrong.  vu is ready for vhost_user_close either way. */
int vhost_user_connect(struct vhost_user *vu, const char *path);
void vhost_user_close(struct vhost_user *vu);

/* The guest's RAM, which must be a shared memfd (guest_mem.fd) */
int vhost_user_set_mem_table(struct vhost_user *vu, const struct guest_mem *gm);
int vhost_user_set_features(struct vhost_user *vu, uint64_t features);
int vhost_user_set_vring_num(struct vhost_user *vu, unsigned q, unsigned num);
int vhost_user_set_vring_base(struct vhost_user *vu, unsigned q, unsigned base);
/* Stops the ring; *base: the next available index the back-end would take */
int vhost_user_get_vring_base(struct vhost_user *vu, unsigned q, unsigned *base);
/* host addresses of the rings, as mapped in this process */
int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned q, const void *desc,
			      const void *used, const void *avail);
int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned q, int fd);
int vhost_user_set_vring_call(struct vhost_user *vu, unsigned q, int fd);
int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned q, bool enable);
/* len bytes of the device configuration from offset (CONFIG protocol
 * feature) */
int vhost_user_get_config(struct vhost_user *vu, unsigned offset, void *buf, unsigned len);

#endif
