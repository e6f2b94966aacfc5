/* NBD: not yet. */
#include "blk_internal.h"

#include <errno.h>

#include "core/log.h"

int nbd_open(struct blk_ctx *ctx, const char *uri, bool readonly, struct bnode **out)
{
	(void)ctx, (void)readonly, (void)out;
	log_error("%s: NBD is not supported yet", uri);
	return -ENOTSUP;
}
