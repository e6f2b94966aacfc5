/* Character sinks: stdout, shared with the rest of the process and never
 * closed, or a file we create. */
#include "core/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* How long a full non-blocking sink may stall the guest before we drop */
#define CHARDEV_STALL_MS 2000

int chardev_open(struct chardev *cd, const struct chardev_config *cfg)
{
	cd->fd = -1;
	cd->owned = 0;
	cd->broken = 0;
	switch (cfg->kind) {
	case CHARDEV_NONE:
		return 0;
	case CHARDEV_STDIO:
		cd->fd = STDOUT_FILENO;
		return 0;
	case CHARDEV_FILE:
		if (!cfg->path || !*cfg->path) {
			log_error("character device file: no path given");
			return -EINVAL;
		}
		cd->fd = open(cfg->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (cd->fd < 0) {
			int err = errno;
			log_error("cannot open %s for output: %s", cfg->path, strerror(err));
			return -err;
		}
		cd->owned = 1;
		return 0;
	}
	log_error("unknown character device kind %d", (int)cfg->kind);
	return -EINVAL;
}

/* Someone made the sink non-blocking (a shared terminal or pipe): wait a
 * little for room rather than lose output, but never hang the guest. */
static int chardev_wait_writable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int n;
	do
		n = poll(&pfd, 1, CHARDEV_STALL_MS);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -EAGAIN;
	if (n < 0)
		return -errno;
	return 0;
}

void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	if (cd->fd < 0 || cd->broken)
		return;
	while (len) {
		/* vCPU threads block SIGPIPE, so a closed pipe is EPIPE here */
		ssize_t n = write(cd->fd, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		int err = n < 0 ? errno : EIO;
		if (err == EINTR)
			continue;
		if (err == EAGAIN && (err = -chardev_wait_writable(cd->fd)) == 0)
			continue;
		/* one warning, then the sink stays quiet: the guest goes on */
		log_warn("character output stopped: %s", strerror(err));
		cd->broken = 1;
		return;
	}
}

void chardev_close(struct chardev *cd)
{
	if (cd->owned && cd->fd >= 0)
		close(cd->fd);
	cd->fd = -1;
	cd->owned = 0;
}
