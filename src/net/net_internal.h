/* What the back-ends of src/net share: the common part of a back-end, the
 * I/O thread's poll set, and the helpers that talk to the device.  Each
 * back-end file embeds a struct net_backend in its own state and fills a
 * struct net_backend_ops. */
#ifndef MINIVMM_NET_INTERNAL_H
#define MINIVMM_NET_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>

#include "net/net.h"

#define net_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* The descriptors one turn of the I/O thread waits on; grows as needed */
struct net_pollset {
	struct pollfd *fds;
	unsigned n, cap;
};

/* Adds fd; returns its index, or -1 (not polled this turn) if out of memory */
int net_poll_add(struct net_pollset *ps, int fd, short events);
/* revents of the entry index returned (0 for -1) */
short net_poll_revents(const struct net_pollset *ps, int index);

struct net_backend_ops {
	/* Add the descriptors to wait on; *timeout_ms (-1: none) may be
	 * lowered.  On the I/O thread. */
	void (*poll_fill)(struct net_backend *be, struct net_pollset *ps, int *timeout_ms);
	/* After the wait (error: poll failed): serve what is ready, retry
	 * held frames (net_rx_retry_due), report tx room (net_tx_ready). */
	void (*poll_done)(struct net_backend *be, struct net_pollset *ps, bool error);
	/* A frame from the device, of len bytes, already checked against
	 * NET_FRAME_MAX and the link; 0, -EAGAIN (the common code then owes
	 * the device tx_ready, and poll_fill must wait for room while
	 * net_tx_blocked), or another error (dropped).  Any thread. */
	int (*send)(struct net_backend *be, unsigned queue, const struct iovec *iov,
		    unsigned iovcnt, size_t len);
	/* Optional */
	int (*set_offloads)(struct net_backend *be, unsigned offloads);
	int (*set_queues)(struct net_backend *be, unsigned active);
	int (*vhost_info)(const struct net_backend *be, struct net_vhost_info *info);
	/* Close and free what open made, net_backend_fini included; the
	 * thread has stopped */
	void (*destroy)(struct net_backend *be);
};

struct net_queue {
	atomic_bool rx_waiting;	/* the back-end holds a frame the device refused */
	atomic_bool resume_rx;	/* ... and the device has asked for it since */
	atomic_bool tx_blocked;	/* a send returned -EAGAIN: tx_ready is owed */
	bool delivered;		/* I/O thread: frames since the last rx_flush */
};

struct net_counter_set {
	_Atomic uint64_t rx_packets, rx_bytes, rx_dropped, rx_malformed;
	_Atomic uint64_t tx_packets, tx_bytes, tx_dropped;
};

struct net_backend {
	const struct net_backend_ops *ops;
	const struct netdev_config *cfg;
	unsigned debug_mask;
	unsigned nr_queues;
	_Atomic unsigned active_queues;
	bool vnet_hdr;
	unsigned offloads;	/* what the back-end accepts */
	_Atomic bool admin_up;	/* net_backend_set_link */
	_Atomic bool carrier;	/* the back-end's own idea: a stream has a peer */
	bool link_reported;	/* I/O thread: what link_changed last said */
	_Atomic bool vhost_active;

	const struct net_port *port;
	void *port_opaque;
	struct net_queue queues[NET_MAX_QUEUES];
	struct net_counter_set stats;

	int wake_fd;		/* eventfd */
	pthread_t thread;
	bool thread_started;
	_Atomic bool stop;
	/* net_sync: changes acknowledged by a turn of the I/O thread */
	pthread_mutex_t sync_lock;
	pthread_cond_t sync_cond;
	_Atomic unsigned sync_req;
	unsigned sync_done;	/* under sync_lock (written by the I/O thread) */
};

/* Common set-up of the embedded part; -errno (the eventfd) */
int net_backend_init(struct net_backend *be, const struct net_backend_ops *ops,
		     const struct netdev_config *cfg, unsigned debug_mask, unsigned nr_queues);
/* Undo net_backend_init (for an open that fails half way) */
void net_backend_fini(struct net_backend *be);
/* Make the I/O thread go round its loop again.  Any thread. */
void net_wake(struct net_backend *be);

/* Give a frame to the device (I/O thread).  0: taken, or dropped and
 * counted; -EAGAIN: the caller holds the frame and retries it once
 * net_rx_retry_due says so. */
int net_rx_deliver(struct net_backend *be, unsigned queue, const struct iovec *iov,
		   unsigned iovcnt, size_t len);
/* Has the device asked for held frames since the last call?  Consumes the
 * request. */
bool net_rx_retry_due(struct net_backend *be, unsigned queue);
/* The back-end can take frames on queue again: tx_ready, if owed */
void net_tx_ready(struct net_backend *be, unsigned queue);
bool net_tx_blocked(const struct net_backend *be, unsigned queue);
void net_count_rx_dropped(struct net_backend *be);
void net_count_rx_malformed(struct net_backend *be);
/* A stream's peer came or went */
void net_set_carrier(struct net_backend *be, bool up);

size_t net_iov_length(const struct iovec *iov, unsigned iovcnt);
/* Copies the iovec into buf (len bytes, the iovec's total) */
void net_iov_copy(void *buf, const struct iovec *iov, unsigned iovcnt, size_t len);

/* Sets O_NONBLOCK; -errno */
int net_set_nonblock(int fd);

/* sockaddr.c: addresses of the socket back-ends */
struct addrinfo;
struct sockaddr_un;
/* "host:port", "[v6]:port", a path, "fd N" */
void net_addr_describe(const struct netdev_addr *a, char *buf, size_t size);
/* getaddrinfo for an INET address (a->host empty: any, when passive);
 * on failure prints why and returns -EHOSTUNREACH */
int net_inet_resolve(const struct netdev_config *cfg, const struct netdev_addr *a, int socktype,
		     bool passive, int family, struct addrinfo **res);
int net_unix_sockaddr(const char *path, struct sockaddr_un *sun, socklen_t *len);
/* Before bind: remove a socket an earlier run left at path (nothing else) */
void net_unix_unlink_stale(const char *path);

/* The back-ends, each in its own file */
int net_user_open(const struct netdev_config *cfg, unsigned debug_mask, struct net_backend **out);
int net_tap_open(const struct netdev_config *cfg, unsigned debug_mask, struct net_backend **out);
int net_stream_open(const struct netdev_config *cfg, unsigned debug_mask,
		    struct net_backend **out);
int net_dgram_open(const struct netdev_config *cfg, unsigned debug_mask, struct net_backend **out);

/* "-netdev ID: message" on stderr */
__attribute__((format(printf, 2, 3))) void net_error(const struct netdev_config *cfg,
						      const char *fmt, ...);

#endif
