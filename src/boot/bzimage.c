/* Linux bzImage kernels, recognised by the "HdrS" signature of the x86
 * boot protocol header at offset 0x202.  Loading them is still to come;
 * until then they get a clear refusal instead of being run as a raw
 * binary. */
#include <errno.h>

#include "boot/loaders.h"
#include "core/log.h"

#define BZIMAGE_MAGIC_OFFSET 0x202
#define BZIMAGE_MAGIC 0x53726448u	/* "HdrS" */

static bool bzimage_probe(const struct boot_image *img)
{
	return img->size >= BZIMAGE_MAGIC_OFFSET + 4 &&
	       boot_le32(img->data + BZIMAGE_MAGIC_OFFSET) == BZIMAGE_MAGIC;
}

static int bzimage_load(struct vm *vm, const struct boot_image *img, struct boot_entry *entry)
{
	(void)vm;
	(void)entry;
	log_error("kernel '%s' is a Linux bzImage: not supported yet (use a PVH-enabled vmlinux ELF)",
		  img->path);
	return -ENOTSUP;
}

const struct boot_format bzimage_format = {
	.name = "Linux bzImage",
	.probe = bzimage_probe,
	.load = bzimage_load,
};
