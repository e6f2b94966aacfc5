/* Reading a kernel or module file whole, with a size limit, from a regular
 * file or from a pipe (e.g. a shell's process substitution). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/loaders.h"
#include "core/log.h"

int boot_read_file(const char *path, const char *what, uint64_t max, uint8_t **buf, size_t *size)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	int ret = 0;

	*buf = NULL;
	*size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_error("cannot open %s '%s': %s", what, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (S_ISDIR(st.st_mode))
		ret = -EISDIR;
	if (ret < 0) {
		log_error("cannot read %s '%s': %s", what, path, strerror(-ret));
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		ret = -EFBIG;
		goto too_big;
	}
	/* read up to one byte past max to tell "too big" from "exactly max" */
	if (max > SIZE_MAX - 1)
		max = SIZE_MAX - 1;
	size_t limit = (size_t)max + 1;
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	if (cap > limit)
		cap = limit;
	for (;;) {
		if (!data || len == cap) {
			if (data) {
				if (cap == limit) {
					ret = -EFBIG;
					goto too_big;
				}
				cap = cap > limit / 2 ? limit : cap * 2;
			}
			uint8_t *n = realloc(data, cap);
			if (!n) {
				ret = -ENOMEM;
				log_error("cannot read %s '%s': %s", what, path, strerror(ENOMEM));
				goto out;
			}
			data = n;
		}
		ssize_t n = read(fd, data + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			log_error("cannot read %s '%s': %s", what, path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*buf = data;
	*size = len;
	data = NULL;
	goto out;
too_big:
	log_error("%s '%s' is larger than guest RAM can hold (%llu MiB)", what, path,
		  (unsigned long long)(max >> 20));
out:
	free(data);
	close(fd);
	return ret;
}
