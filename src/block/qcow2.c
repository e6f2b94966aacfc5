/* qcow2: not yet. */
#include "blk_internal.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"

bool qcow2_probe(const uint8_t *buf, size_t len)
{
	static const uint8_t magic[4] = { 'Q', 'F', 'I', 0xfb };
	return len >= sizeof(magic) && !memcmp(buf, magic, sizeof(magic));
}

int qcow2_open(struct blk_ctx *ctx, struct bnode *file, bool readonly, unsigned depth,
	       struct bnode **out)
{
	(void)ctx, (void)readonly, (void)depth, (void)out;
	log_error("%s: qcow2 images are not supported yet", file->name);
	bnode_close(file);
	return -ENOTSUP;
}
