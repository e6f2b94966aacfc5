/* The block layer's front: opening an image (protocol, then format), the
 * checks every request passes before any I/O, plugging, completion and
 * draining.  A request that a node can start by itself (a raw file's
 * reads, writes and flushes) goes straight to the engine; everything else
 * runs on the worker pool. */
#include "blk_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Threads that can hold a plug at once; more just go unplugged */
#define BLK_MAX_PLUGS 64
#define BLK_POOL_THREADS 16

struct blk_plug_slot {
	pthread_t thread;
	unsigned depth;		/* 0: free */
	struct blk_io *head, *tail;
};

struct blk {
	struct blk_ctx ctx;
	char *file;		/* the nodes' names point here */
	struct bnode *root;
	uint64_t size;
	bool readonly;
	bool can_discard;
	bool cfg_writethrough;	/* what -drive cache= said */
	atomic_bool writethrough;	/* now: the guest may turn the cache off and on */
	bool probed_raw;	/* format guessed: no qcow2 header may be written */
	enum drive_detect_zeroes detect_zeroes;

	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned in_flight;
	struct blk_plug_slot plugs[BLK_MAX_PLUGS];
};

bool blk_is_nbd_uri(const char *file)
{
	return !strncmp(file, "nbd:", 4) || !strncmp(file, "nbd+unix:", 9) ||
	       !strncmp(file, "nbd+tcp:", 8);
}

/* ---- opening ---- */

static int protocol_open(struct blk_ctx *ctx, const char *file, bool readonly, struct bnode **out)
{
	if (blk_is_nbd_uri(file))
		return nbd_open(ctx, file, readonly, out);
	return file_open(ctx, file, readonly, out);
}

int bnode_open_image(struct blk_ctx *ctx, const char *file, enum drive_format format,
		     bool readonly, unsigned depth, bool *guessed_raw, struct bnode **out)
{
	struct bnode *proto;
	int ret = protocol_open(ctx, file, readonly, &proto);
	if (ret < 0)
		return ret;
	if (guessed_raw)
		*guessed_raw = false;
	if (format == DRIVE_FORMAT_PROBE) {
		uint8_t head[BLK_SECTOR_SIZE] = { 0 };
		uint64_t len = proto->size < sizeof(head) ? proto->size : sizeof(head);
		ret = bnode_pread(proto, 0, head, len);
		if (ret < 0) {
			log_error("%s: cannot read the image: %s", file, strerror(-ret));
			bnode_close(proto);
			return ret;
		}
		format = qcow2_probe(head, len) ? DRIVE_FORMAT_QCOW2 : DRIVE_FORMAT_RAW;
		if (guessed_raw)
			*guessed_raw = format == DRIVE_FORMAT_RAW;
	}
	if (format == DRIVE_FORMAT_QCOW2)
		return qcow2_open(ctx, proto, readonly, depth, out);
	*out = proto;
	return 0;
}

static int blk_ctx_init(struct blk_ctx *ctx, const struct drive_config *cfg)
{
	int ret = blk_pool_init(&ctx->pool, BLK_POOL_THREADS);
	if (ret < 0) {
		log_error("%s: cannot start the I/O threads: %s", cfg->file, strerror(-ret));
		return ret;
	}
	ret = blk_engine_new(cfg->aio, &ctx->pool, &ctx->engine);
	if (ret < 0) {
		if (cfg->aio == DRIVE_AIO_IO_URING)
			log_error("%s: io_uring is not available (%s): use aio=threads", cfg->file,
				  strerror(-ret));
		else
			log_error("%s: %s", cfg->file, strerror(-ret));
		blk_pool_destroy(&ctx->pool);
		return ret;
	}
	bounce_pool_init(&ctx->bounce);
	ctx->direct = cfg->direct;
	ctx->no_flush = cfg->no_flush;
	return 0;
}

static void blk_ctx_destroy(struct blk_ctx *ctx)
{
	ctx->engine->ops->destroy(ctx->engine);
	blk_pool_destroy(&ctx->pool);
	bounce_pool_destroy(&ctx->bounce);
}

int blk_open(const struct drive_config *cfg, struct blk **out)
{
	struct blk *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->file = strdup(cfg->file);
	int ret = b->file ? blk_ctx_init(&b->ctx, cfg) : -ENOMEM;
	if (ret < 0) {
		free(b->file);
		free(b);
		return ret;
	}
	ret = bnode_open_image(&b->ctx, b->file, cfg->format, cfg->readonly, 0, &b->probed_raw,
			       &b->root);
	if (ret < 0) {
		blk_ctx_destroy(&b->ctx);
		free(b->file);
		free(b);
		return ret;
	}
	if (b->probed_raw)
		log_warn("Image format was not specified for '%s' and probing guessed raw. "
			 "Writes to block 0 that would make it look like an image format are "
			 "refused. Specify format=raw to remove the restriction.",
			 cfg->file);
	b->size = (b->root->size + BLK_SECTOR_SIZE - 1) / BLK_SECTOR_SIZE * BLK_SECTOR_SIZE;
	b->readonly = cfg->readonly || b->root->readonly;
	b->can_discard = cfg->discard == DRIVE_DISCARD_UNMAP && !b->readonly &&
			 b->root->can_discard;
	b->cfg_writethrough = cfg->writethrough && !cfg->no_flush;
	atomic_store(&b->writethrough, b->cfg_writethrough);
	b->detect_zeroes = cfg->detect_zeroes;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->idle, NULL);
	*out = b;
	return 0;
}

void blk_close(struct blk *b)
{
	if (!b)
		return;
	blk_drain(b);
	if (!b->readonly) {
		int ret = bnode_flush(b->root);
		if (ret < 0)
			log_error("%s: flushing on close: %s", b->root->name, strerror(-ret));
	}
	bnode_close(b->root);
	blk_ctx_destroy(&b->ctx);
	pthread_cond_destroy(&b->idle);
	pthread_mutex_destroy(&b->lock);
	free(b->file);
	free(b);
}

uint64_t blk_size(const struct blk *b)
{
	return b->size;
}

bool blk_is_readonly(const struct blk *b)
{
	return b->readonly;
}

bool blk_has_write_cache(const struct blk *b)
{
	return !b->cfg_writethrough;
}

bool blk_write_cache_enabled(const struct blk *b)
{
	return !atomic_load(&b->writethrough);
}

void blk_set_write_cache(struct blk *b, bool on)
{
	/* cache=unsafe ignores flushes whatever the guest says */
	atomic_store(&b->writethrough, !on && !b->ctx.no_flush);
}

bool blk_can_discard(const struct blk *b)
{
	return b->can_discard;
}

/* ---- requests ---- */

/* The checks of blk_request's contract; 0 or the errno to complete with */
static int blk_io_check(struct blk *b, struct blk_io *io)
{
	const struct blk_request *req = io->req;
	switch (req->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (!req->iov && req->iovcnt)
			return -EINVAL;
		io->len = iov_length(req->iov, req->iovcnt);
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		io->len = req->len;
		break;
	case BLK_OP_FLUSH:
		return 0;
	default:
		return -EOPNOTSUPP;
	}
	if (req->op != BLK_OP_READ && b->readonly)
		return -EROFS;
	if (req->offset % BLK_SECTOR_SIZE || io->len % BLK_SECTOR_SIZE)
		return -EINVAL;
	if (req->offset > b->size || io->len > b->size - req->offset)
		return -EINVAL;
	return 0;
}

/* A guessed raw image must not be turned into a qcow2 by its guest, which
 * would then be opened as one (with a backing file of the guest's choice) */
static bool blk_writes_qcow2_magic(const struct blk_io *io)
{
	uint8_t head[4];
	if (io->offset != 0 || io->len < sizeof(head))
		return false;
	iov_to_buf(io->req->iov, io->req->iovcnt, 0, head, sizeof(head));
	return qcow2_probe(head, sizeof(head));
}

/* What the drive's options make of a request */
static int blk_io_prepare(struct blk *b, struct blk_io *io)
{
	const struct blk_request *req = io->req;
	io->op = req->op;
	io->flags = req->flags & (BLK_REQ_FUA | BLK_REQ_UNMAP);
	io->offset = req->offset;
	int ret = blk_io_check(b, io);
	if (ret < 0)
		return ret;
	if (io->op == BLK_OP_WRITE && b->probed_raw && blk_writes_qcow2_magic(io))
		return -EPERM;
	if (io->op == BLK_OP_WRITE && io->len && b->detect_zeroes != DRIVE_DETECT_ZEROES_OFF &&
	    iov_is_zero(req->iov, req->iovcnt)) {
		io->op = BLK_OP_WRITE_ZEROES;
		if (b->detect_zeroes == DRIVE_DETECT_ZEROES_UNMAP)
			io->flags |= BLK_REQ_UNMAP;
	}
	if (io->op == BLK_OP_WRITE_ZEROES && !b->can_discard)
		io->flags &= ~BLK_REQ_UNMAP;
	if (io->op != BLK_OP_WRITE_ZEROES)
		io->flags &= ~BLK_REQ_UNMAP;
	if (atomic_load_explicit(&b->writethrough, memory_order_relaxed) && io->op != BLK_OP_READ &&
	    io->op != BLK_OP_FLUSH)
		io->flags |= BLK_REQ_FUA;
	if (b->ctx.no_flush || io->op == BLK_OP_READ)
		io->flags &= ~BLK_REQ_FUA;
	return 0;
}

/* A request on a worker: the node's synchronous operations */
static int blk_io_execute(struct blk *b, struct blk_io *io)
{
	struct bnode *root = b->root;
	const struct blk_request *req = io->req;
	int ret;

	switch (io->op) {
	case BLK_OP_READ:
		return io->len ? root->ops->read(root, io->offset, req->iov, req->iovcnt) : 0;
	case BLK_OP_WRITE:
		return io->len ? root->ops->write(root, io->offset, req->iov, req->iovcnt, io->flags) :
				 0;
	case BLK_OP_FLUSH:
		return bnode_flush(root);
	case BLK_OP_DISCARD:
		if (!b->can_discard || !io->len)
			return 0;	/* discard=ignore: it succeeds and does nothing */
		ret = root->ops->discard(root, io->offset, io->len);
		break;
	case BLK_OP_WRITE_ZEROES:
		if (!io->len)
			return 0;
		ret = root->ops->write_zeroes(root, io->offset, io->len, io->flags);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (ret == 0 && (io->flags & BLK_REQ_FUA))
		ret = bnode_flush(root);
	return ret;
}

static void blk_io_run(struct blk_job *job)
{
	struct blk_io *io = container_of_blk(job, struct blk_io, job);
	blk_io_done(io, io->error ? io->error : blk_io_execute(io->b, io));
}

void blk_io_done(struct blk_io *io, int ret)
{
	struct blk *b = io->b;
	struct blk_request *req = io->req;
	if (io->release)
		io->release(io);
	free(io);
	req->complete(req, ret);
	pthread_mutex_lock(&b->lock);
	if (--b->in_flight == 0)
		pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&b->lock);
}

/* Hand a list of requests to the engine (what the root node can start by
 * itself, in one batch) and to the pool (the rest) */
static void blk_dispatch(struct blk *b, struct blk_io *list)
{
	struct blk_aio *batch = NULL, *ordered = NULL;
	struct blk_job *first = NULL, *last = NULL;
	struct bnode *root = b->root;
	bool can_start = root->ops->start != NULL;

	while (list) {
		struct blk_io *io = list;
		list = io->next;
		if (!io->error && can_start && !(io->op == BLK_OP_FLUSH && b->ctx.no_flush) &&
		    root->ops->start(root, io, &batch))
			continue;
		io->job.run = blk_io_run;
		io->job.next = NULL;
		if (last)
			last->next = &io->job;
		else
			first = &io->job;
		last = &io->job;
	}
	/* start() pushed in reverse; the engine gets them in submission order */
	while (batch) {
		struct blk_aio *a = batch;
		batch = a->next;
		a->next = ordered;
		ordered = a;
	}
	blk_engine_submit(b->ctx.engine, ordered);
	if (first)
		blk_pool_queue(&b->ctx.pool, first, last);
}

/* This thread's plug, if it holds one; called with the lock held */
static struct blk_plug_slot *blk_my_plug(struct blk *b)
{
	pthread_t self = pthread_self();
	for (unsigned i = 0; i < BLK_MAX_PLUGS; i++)
		if (b->plugs[i].depth && pthread_equal(b->plugs[i].thread, self))
			return &b->plugs[i];
	return NULL;
}

int blk_submit(struct blk *b, struct blk_request *req)
{
	struct blk_io *io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->b = b;
	io->req = req;
	io->error = blk_io_prepare(b, io);

	pthread_mutex_lock(&b->lock);
	b->in_flight++;
	struct blk_plug_slot *plug = blk_my_plug(b);
	if (plug) {
		if (plug->tail)
			plug->tail->next = io;
		else
			plug->head = io;
		plug->tail = io;
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	pthread_mutex_unlock(&b->lock);
	blk_dispatch(b, io);
	return 0;
}

void blk_plug(struct blk *b)
{
	pthread_mutex_lock(&b->lock);
	struct blk_plug_slot *plug = blk_my_plug(b);
	if (plug) {
		plug->depth++;
	} else {
		for (unsigned i = 0; i < BLK_MAX_PLUGS; i++) {
			if (!b->plugs[i].depth) {
				b->plugs[i] = (struct blk_plug_slot){ .thread = pthread_self(),
								      .depth = 1 };
				break;
			}
		}
	}
	pthread_mutex_unlock(&b->lock);
}

void blk_unplug(struct blk *b)
{
	struct blk_io *list = NULL;
	pthread_mutex_lock(&b->lock);
	struct blk_plug_slot *plug = blk_my_plug(b);
	if (plug && --plug->depth == 0) {
		list = plug->head;
		plug->head = plug->tail = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	if (list)
		blk_dispatch(b, list);
}

void blk_drain(struct blk *b)
{
	/* what plugged threads hold counts as submitted: send it on */
	for (unsigned i = 0; i < BLK_MAX_PLUGS; i++) {
		pthread_mutex_lock(&b->lock);
		struct blk_io *list = b->plugs[i].head;
		b->plugs[i].head = b->plugs[i].tail = NULL;
		pthread_mutex_unlock(&b->lock);
		if (list)
			blk_dispatch(b, list);
	}
	pthread_mutex_lock(&b->lock);
	while (b->in_flight)
		pthread_cond_wait(&b->idle, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

int blk_poll_begin(struct blk *b)
{
	return blk_engine_poll_begin(b->ctx.engine);
}

void blk_poll(struct blk *b)
{
	blk_engine_poll(b->ctx.engine);
}

void blk_poll_end(struct blk *b)
{
	blk_engine_poll_end(b->ctx.engine);
}

/* ---- helpers shared by the nodes ---- */

int bnode_pread(struct bnode *n, uint64_t offset, void *buf, uint64_t len)
{
	struct iovec iov = { buf, len };
	return len ? n->ops->read(n, offset, &iov, 1) : 0;
}

int bnode_pwrite(struct bnode *n, uint64_t offset, const void *buf, uint64_t len, unsigned flags)
{
	struct iovec iov = { (void *)buf, len };
	return len ? n->ops->write(n, offset, &iov, 1, flags) : 0;
}
