/* -chardev pty: a pseudo-terminal for the user to attach to (screen,
 * minicom, cat).  Its name is printed at start in QEMU's words.  Until
 * someone opens it, and after the last one closes it, output is dropped,
 * as QEMU does: a guest never waits for a terminal nobody looks at. */
#include "core/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/log.h"

int chardev_pty_open(struct chardev *cd)
{
	int fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 ||
	    ptsname_r(fd, cd->pty_name, sizeof(cd->pty_name))) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		log_error("chardev '%s': cannot make a pseudo-terminal: %s", cd->label, strerror(err));
		return -err;
	}
	/* raw, as a serial line: the guest does its own echo and line
	 * editing.  Opening and closing the terminal once also puts the
	 * master in the hung-up state that says nobody has it open; a pty
	 * never opened does not say so. */
	int slave = open(cd->pty_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios tio;
	if (slave >= 0 && tcgetattr(slave, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(slave, TCSANOW, &tio);
	}
	if (slave >= 0)
		close(slave);
	cd->fd = fd;
	cd->owned = true;
	cd->readable = true;
	log_plain("char device redirected to %s (label %s)\n", cd->pty_name, cd->label);
	return 0;
}

bool chardev_pty_has_reader(const struct chardev *cd)
{
	/* the master end hangs up while no one has the terminal open */
	struct pollfd pfd = { .fd = cd->fd, .events = 0 };
	return poll(&pfd, 1, 0) >= 0 && !(pfd.revents & POLLHUP);
}
