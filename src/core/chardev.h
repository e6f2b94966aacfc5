/* An output stream for a character device (serial port, debugcon):
 * stdout or a file, as -serial stdio|file:PATH and -debugcon give it. */
#ifndef MINIVMM_CHARDEV_H
#define MINIVMM_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct chardev {
	int fd;			/* -1 for CHARDEV_NONE */
	int owned;		/* we opened it and close it */
	int broken;		/* a write failed: output is dropped from now on */
};

/* Open the sink; prints one error line naming the file and returns -errno. */
int chardev_open(struct chardev *cd, const struct chardev_config *cfg);
/* Write all of buf (retrying short writes and EINTR); errors are dropped
 * after a warning, the guest never sees them. */
void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len);
void chardev_close(struct chardev *cd);

#endif
