/* -chardev socket: a unix or tcp stream socket.  A server (server=on)
 * listens and serves one client at a time, taking the next once the last
 * one leaves; with wait=on minivmm waits for the first before the guest
 * starts, as QEMU does.  A client connects once, at start. */
#include "core/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

static void describe(const struct chardev_config *cfg, char *buf, size_t size)
{
	if (!cfg->tcp)
		snprintf(buf, size, "unix:%s", cfg->path);
	else if (strchr(cfg->host, ':'))
		snprintf(buf, size, "tcp:[%s]:%u", cfg->host, cfg->port);
	else
		snprintf(buf, size, "tcp:%s:%u", cfg->host, cfg->port);
}

/* A socket bound (server) or connected (client) to a unix path */
static int unix_socket(struct chardev *cd, const struct chardev_config *cfg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(cfg->path);
	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, cfg->path, len);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (cfg->server) {
		struct stat st;
		/* a socket left by an earlier run; never a file of another kind */
		if (lstat(cfg->path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(cfg->path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		cd->unlink_path = strdup(cfg->path);
	} else if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* The same for a host and port: the first address that works */
static int tcp_socket(const struct chardev_config *cfg)
{
	char port[8];
	struct addrinfo *res, hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | (cfg->server ? AI_PASSIVE : 0),
	};
	snprintf(port, sizeof(port), "%u", cfg->port);
	int ret = getaddrinfo(*cfg->host ? cfg->host : NULL, port, &hints, &res);
	if (ret)
		return ret == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	int fd = -ENOENT;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			fd = -errno;
			continue;
		}
		int one = 1;
		if (cfg->server)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if ((cfg->server ? bind(fd, ai->ai_addr, ai->ai_addrlen) :
				   connect(fd, ai->ai_addr, ai->ai_addrlen)) == 0)
			break;
		int err = errno;
		close(fd);
		fd = -err;
	}
	freeaddrinfo(res);
	return fd;
}

/* A connected peer on fd: non-blocking, read and written */
static void chardev_socket_attach(struct chardev *cd, int fd, bool nodelay)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (nodelay) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	cd->fd = fd;
	cd->owned = true;
	cd->socket = true;
	cd->readable = true;
	chardev_connected(cd, true);
}

int chardev_socket_accept(struct chardev *cd)
{
	int fd = accept4(cd->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ? 0 : -errno;
	/* nodelay matters to a tcp peer only, and costs nothing on unix */
	chardev_socket_attach(cd, fd, true);
	return 0;
}

int chardev_socket_open(struct chardev *cd, const struct chardev_config *cfg)
{
	char what[300];
	describe(cfg, what, sizeof(what));
	int fd = cfg->tcp ? tcp_socket(cfg) : unix_socket(cd, cfg);
	if (fd < 0) {
		log_error("chardev '%s': cannot %s %s: %s", cd->label,
			  cfg->server ? "listen on" : "connect to", what, strerror(-fd));
		return fd;
	}
	if (!cfg->server) {
		chardev_socket_attach(cd, fd, cfg->nodelay);
		return 0;
	}
	if (listen(fd, 1) < 0) {
		int err = errno;
		close(fd);
		log_error("chardev '%s': cannot listen on %s: %s", cd->label, what, strerror(err));
		return -err;
	}
	cd->listen_fd = fd;
	if (cfg->wait) {
		log_info("waiting for a connection on %s (chardev '%s')", what, cd->label);
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			int ret = chardev_socket_accept(cd);
			if (ret < 0)
				return ret;
			if (cd->connected)
				break;
		}
	}
	/* later clients are taken by the main loop, which must not wait */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return 0;
}
