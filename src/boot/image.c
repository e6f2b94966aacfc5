/* Reading a kernel or module file whole, with a size limit, from a regular
 * file or from a pipe (e.g. a shell's process substitution); and keeping
 * what was read at start-up, so that a reset boots the same bytes again,
 * as QEMU does, whatever has become of the files since. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/loaders.h"
#include "core/log.h"
#include "core/vm.h"

struct boot_file {
	char *path;
	uint8_t *data;
	size_t size;
};

/* The files read since boot_keep_files, in the order they were read */
struct boot_files {
	struct boot_file *files;
	unsigned nr;
};

int boot_keep_files(struct vm *vm)
{
	if (vm->boot_files)
		return 0;
	vm->boot_files = calloc(1, sizeof(*vm->boot_files));
	if (!vm->boot_files) {
		log_error("cannot keep the boot images: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

void boot_files_free(struct vm *vm)
{
	struct boot_files *bf = vm->boot_files;
	if (!bf)
		return;
	for (unsigned i = 0; i < bf->nr; i++) {
		free(bf->files[i].path);
		free(bf->files[i].data);
	}
	free(bf->files);
	free(bf);
	vm->boot_files = NULL;
}

static const struct boot_file *boot_file_kept(const struct vm *vm, const char *path)
{
	const struct boot_files *bf = vm->boot_files;
	for (unsigned i = 0; bf && i < bf->nr; i++)
		if (!strcmp(bf->files[i].path, path))
			return &bf->files[i];
	return NULL;
}

/* Keep a copy of what was read; failing that (no memory) a reset reads
 * the file again, as if nothing had been kept */
static void boot_file_keep(struct vm *vm, const char *path, const uint8_t *data, size_t size)
{
	struct boot_files *bf = vm->boot_files;
	struct boot_file f = { strdup(path), malloc(size ? size : 1), size };
	struct boot_file *files = realloc(bf->files, (bf->nr + 1) * sizeof(*files));
	if (!f.path || !f.data || !files) {
		free(f.path);
		free(f.data);
		if (files)
			bf->files = files;
		return;
	}
	memcpy(f.data, data, size);
	bf->files = files;
	bf->files[bf->nr++] = f;
}

static void log_too_big(const char *what, const char *path, uint64_t max)
{
	log_error("%s '%s' is larger than guest RAM can hold (%llu MiB)", what, path,
		  (unsigned long long)(max >> 20));
}

static int boot_read_disk(const char *path, const char *what, uint64_t max, uint8_t **buf,
			  size_t *size);

int boot_read_file(struct vm *vm, const char *path, const char *what, uint64_t max, uint8_t **buf,
		   size_t *size)
{
	const struct boot_file *kept = vm->boot_files ? boot_file_kept(vm, path) : NULL;
	if (!kept) {
		int ret = boot_read_disk(path, what, max, buf, size);
		if (ret == 0 && vm->boot_files)
			boot_file_keep(vm, path, *buf, *size);
		return ret;
	}
	*buf = NULL;
	*size = 0;
	if (kept->size > max) {
		log_too_big(what, path, max);
		return -EFBIG;
	}
	*buf = malloc(kept->size ? kept->size : 1);
	if (!*buf) {
		log_error("cannot read %s '%s': %s", what, path, strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(*buf, kept->data, kept->size);
	*size = kept->size;
	return 0;
}

static int boot_read_disk(const char *path, const char *what, uint64_t max, uint8_t **buf,
			  size_t *size)
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
	log_too_big(what, path, max);
out:
	free(data);
	close(fd);
	return ret;
}
