/* Socket addresses of the stream and dgram back-ends: -netdev's host and
 * port resolved, Unix paths checked, and one way to name them in messages. */
#include "net/net_internal.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void net_addr_describe(const struct netdev_addr *a, char *buf, size_t size)
{
	switch (a->type) {
	case NETDEV_ADDR_INET:
		if (a->host && strchr(a->host, ':'))
			snprintf(buf, size, "[%s]:%u", a->host, a->port);
		else
			snprintf(buf, size, "%s:%u", a->host ? a->host : "", a->port);
		break;
	case NETDEV_ADDR_UNIX:
		snprintf(buf, size, "%s", a->path);
		break;
	case NETDEV_ADDR_FD:
		snprintf(buf, size, "fd %d", a->fd);
		break;
	case NETDEV_ADDR_NONE:
		snprintf(buf, size, "(none)");
		break;
	}
}

int net_inet_resolve(const struct netdev_config *cfg, const struct netdev_addr *a, int socktype,
		     bool passive, int family, struct addrinfo **res)
{
	char port[8];
	struct addrinfo hints = {
		.ai_family = family,
		.ai_socktype = socktype,
		.ai_flags = (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV,
	};
	snprintf(port, sizeof(port), "%u", a->port);
	const char *host = a->host && a->host[0] ? a->host : NULL;
	int ret = getaddrinfo(host, port, &hints, res);
	if (ret == 0)
		return 0;
	char what[300];
	net_addr_describe(a, what, sizeof(what));
	net_error(cfg, "cannot resolve %s: %s", what,
		  ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
	return -EHOSTUNREACH;
}

int net_unix_sockaddr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

void net_unix_unlink_stale(const char *path)
{
	struct stat st;
	/* a socket left by an earlier run; never a file of another kind */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
}
