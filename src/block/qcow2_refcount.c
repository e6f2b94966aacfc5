/* qcow2 refcounts: reading and changing them in the refcount blocks of any
 * width (1 to 64 bits), finding free clusters, giving new refcount blocks
 * (and a bigger refcount table) a place, and freeing clusters only once
 * nothing on disk points at them any more. */
#include "qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* The highest host cluster an L2 entry can name (bits 9-55) */
#define QCOW2_MAX_HOST_OFFSET (1ull << 56)

int qcow2_corrupt(struct qcow2 *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!s->corrupt) {
		s->corrupt = true;
		log_error("%s: the qcow2 image is corrupt (%s); it takes no more writes "
			  "('qemu-img check -r all' may repair it)",
			  s->n.name, msg);
		/* as QEMU does, so that nothing writes to it before a check */
		if (s->version >= 3 && !s->n.readonly) {
			uint8_t v[8];
			put_be64(v, s->incompat | QCOW2_INCOMPAT_CORRUPT);
			if (qcow2_write_header_field(s, QH_INCOMPAT, v, 8) == 0)
				bnode_flush(s->file);
		}
	}
	return -EIO;
}

int qcow2_write_header_field(struct qcow2 *s, unsigned field, const void *value, unsigned len)
{
	return bnode_pwrite(s->file, field, value, len, 0);
}

/* ---- one refcount in a refcount block ---- */

static uint64_t rb_read(const struct qcow2 *s, const uint8_t *rb, uint64_t i)
{
	switch (s->refcount_order) {
	case 0:
	case 1:
	case 2: {
		unsigned bits = 1u << s->refcount_order, per_byte = 8 / bits;
		return (rb[i / per_byte] >> ((i % per_byte) * bits)) & ((1u << bits) - 1);
	}
	case 3:
		return rb[i];
	case 4:
		return be16_at(rb + 2 * i);
	case 5:
		return be32_at(rb + 4 * i);
	default:
		return be64_at(rb + 8 * i);
	}
}

static void rb_write(const struct qcow2 *s, uint8_t *rb, uint64_t i, uint64_t v)
{
	switch (s->refcount_order) {
	case 0:
	case 1:
	case 2: {
		unsigned bits = 1u << s->refcount_order, per_byte = 8 / bits;
		unsigned shift = (unsigned)(i % per_byte) * bits;
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);
		rb[i / per_byte] = (uint8_t)((rb[i / per_byte] & ~mask) | ((v << shift) & mask));
		break;
	}
	case 3:
		rb[i] = (uint8_t)v;
		break;
	case 4:
		rb[2 * i] = (uint8_t)(v >> 8);
		rb[2 * i + 1] = (uint8_t)v;
		break;
	case 5:
		put_be32(rb + 4 * i, (uint32_t)v);
		break;
	default:
		put_be64(rb + 8 * i, v);
		break;
	}
}

static bool block_missing(const struct qcow2 *s, uint64_t block)
{
	return block >= s->reftable_size || !s->reftable[block];
}

static uint64_t refblock_mask(const struct qcow2 *s)
{
	return (1ull << s->refblock_bits) - 1;
}

static int refcount_cover(struct qcow2 *s, uint64_t block);

/* The refcount block of a cluster, pinned; NULL when it has none (and
 * create is false) */
static int refblock_for(struct qcow2 *s, uint64_t cluster, bool create, uint8_t **rb)
{
	uint64_t block = cluster >> s->refblock_bits;
	*rb = NULL;
	if (block_missing(s, block)) {
		if (!create)
			return 0;
		int ret = refcount_cover(s, block);
		if (ret < 0)
			return ret;
	}
	return qcow2_cache_get(s, &s->rb_cache, s->reftable[block], false, rb);
}

int qcow2_refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *refcount)
{
	uint8_t *rb;
	int ret = refblock_for(s, cluster, false, &rb);
	*refcount = 0;
	if (ret < 0 || !rb)
		return ret;
	*refcount = rb_read(s, rb, cluster & refblock_mask(s));
	qcow2_cache_put(&s->rb_cache, rb);
	return 0;
}

int qcow2_refcount_set(struct qcow2 *s, uint64_t cluster, uint64_t value)
{
	uint8_t *rb;
	if (value > s->refcount_max)
		return -ERANGE;
	int ret = refblock_for(s, cluster, value > 0, &rb);
	if (ret < 0 || !rb)
		return ret;	/* no refcount block: zero already */
	rb_write(s, rb, cluster & refblock_mask(s), value);
	qcow2_cache_mark_dirty(&s->rb_cache, rb);
	qcow2_cache_put(&s->rb_cache, rb);
	if (value == 0 && cluster < s->free_hint)
		s->free_hint = cluster;
	return 0;
}

int qcow2_refcount_add(struct qcow2 *s, uint64_t cluster, int64_t delta)
{
	uint64_t v;
	int ret = qcow2_refcount_get(s, cluster, &v);
	if (ret < 0)
		return ret;
	if (delta < 0 && v < (uint64_t)-delta)
		return qcow2_corrupt(s, "refcount of cluster %#llx drops below zero",
				     (unsigned long long)cluster << s->cluster_bits);
	if (delta > 0 && s->refcount_max - v < (uint64_t)delta) {
		log_error("%s: refcount of cluster %#llx would overflow its %u bits", s->n.name,
			  (unsigned long long)cluster << s->cluster_bits, 1u << s->refcount_order);
		return -ERANGE;
	}
	return qcow2_refcount_set(s, cluster, v + (uint64_t)delta);
}

/* ---- what must never be handed out ---- */

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

bool qcow2_overlaps_metadata(struct qcow2 *s, uint64_t offset, uint64_t len)
{
	uint64_t cs = s->cluster_size;
	if (ranges_overlap(offset, len, 0, cs) ||
	    ranges_overlap(offset, len, s->l1_offset, (uint64_t)s->l1_size * 8) ||
	    ranges_overlap(offset, len, s->reftable_offset, (uint64_t)s->reftable_clusters * cs) ||
	    ranges_overlap(offset, len, s->snapshots_offset, s->snapshots_size))
		return true;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (ranges_overlap(offset, len, s->snapshots[i].l1_offset,
				   (uint64_t)s->snapshots[i].l1_size * 8))
			return true;
	for (uint32_t i = 0; i < s->l1_size; i++)
		if (ranges_overlap(offset, len, s->l1[i] & QCOW2_OFFSET_MASK, cs))
			return true;
	for (uint64_t i = 0; i < s->reftable_size; i++)
		if (ranges_overlap(offset, len, s->reftable[i], cs))
			return true;
	return qcow2_cache_holds(&s->l2_cache, offset, len) ||
	       qcow2_cache_holds(&s->rb_cache, offset, len);
}

/* ---- free clusters ---- */

/* Cluster c is free to take: no refcount block, or a zero refcount */
static int cluster_free(struct qcow2 *s, uint64_t c, bool *free)
{
	uint64_t rc;
	if (block_missing(s, c >> s->refblock_bits)) {
		*free = true;
		return 0;
	}
	int ret = qcow2_refcount_get(s, c, &rc);
	*free = rc == 0;
	return ret;
}

/* The first run of n free clusters from the hint */
static int find_free(struct qcow2 *s, uint64_t n, uint64_t *first)
{
	uint64_t limit = QCOW2_MAX_HOST_OFFSET >> s->cluster_bits;
	uint64_t start = s->free_hint ? s->free_hint : 1, run = 0;	/* never cluster 0 */
	for (uint64_t c = start; run < n;) {
		if (c + (n - run) > limit)
			return -ENOSPC;
		uint64_t block = c >> s->refblock_bits;
		if (block_missing(s, block)) {
			uint64_t block_end = (block + 1) << s->refblock_bits;
			run += block_end - c;
			c = block_end;
			continue;
		}
		bool free;
		int ret = cluster_free(s, c, &free);
		if (ret < 0)
			return ret;
		if (free) {
			run++;
		} else {
			run = 0;
			start = c + 1;
		}
		c++;
	}
	*first = start;
	return 0;
}

/* Refcount blocks for every cluster of [first, first + n) */
static int cover_range(struct qcow2 *s, uint64_t first, uint64_t n, bool *changed)
{
	*changed = false;
	for (uint64_t b = first >> s->refblock_bits; b <= (first + n - 1) >> s->refblock_bits; b++) {
		if (!block_missing(s, b))
			continue;
		int ret = refcount_cover(s, b);
		if (ret < 0)
			return ret;
		*changed = true;
	}
	return 0;
}

int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *offset)
{
	uint64_t first;
	if (s->corrupt)
		return -EIO;
	for (;;) {
		int ret = find_free(s, n, &first);
		if (ret < 0)
			return ret;
		/* a new refcount block may land in the run just found */
		bool changed;
		ret = cover_range(s, first, n, &changed);
		if (ret < 0)
			return ret;
		if (!changed)
			break;
	}
	if (qcow2_overlaps_metadata(s, first << s->cluster_bits, n << s->cluster_bits))
		return qcow2_corrupt(s, "cluster %#llx has a zero refcount but holds metadata",
				     (unsigned long long)first << s->cluster_bits);
	for (uint64_t i = 0; i < n; i++) {
		int ret = qcow2_refcount_add(s, first + i, 1);
		if (ret < 0) {
			qcow2_release_clusters(s, first << s->cluster_bits, i);
			return ret;
		}
	}
	if (first == s->free_hint || (s->free_hint == 0 && first == 1))
		s->free_hint = first + n;
	uint64_t end = (first + n) << s->cluster_bits;
	if (end > s->end)
		s->end = end;
	*offset = first << s->cluster_bits;
	return 0;
}

void qcow2_release_clusters(struct qcow2 *s, uint64_t offset, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		qcow2_refcount_add(s, (offset >> s->cluster_bits) + i, -1);
}

/* ---- new refcount blocks and a bigger refcount table ---- */

struct cover_plan {
	uint64_t start;		/* first cluster of the area */
	uint64_t *blocks;	/* blocks that get a new refcount block, ascending */
	uint64_t nblocks;
	uint64_t table_size;	/* entries; > reftable_size when the table grows */
	uint64_t table_clusters;	/* 0 unless the table grows */
};

static uint64_t plan_area(const struct cover_plan *p)
{
	return p->nblocks + p->table_clusters;
}

/* Which blocks need a refcount block when the area is where p says and as
 * long as it says: block, and every block of the area that has none */
static int plan_blocks(struct qcow2 *s, struct cover_plan *p, uint64_t block, uint64_t **blocks,
		       uint64_t *n)
{
	uint64_t area = plan_area(p);
	uint64_t first = p->start >> s->refblock_bits;
	uint64_t last = area ? (p->start + area - 1) >> s->refblock_bits : first;
	uint64_t *b = malloc((last - first + 2) * sizeof(*b));
	uint64_t k = 0;
	if (!b)
		return -ENOMEM;
	for (uint64_t i = first; area && i <= last; i++)
		if (block_missing(s, i) && i != block)
			b[k++] = i;
	/* keep them ascending with block in its place */
	uint64_t pos = 0;
	while (pos < k && b[pos] < block)
		pos++;
	memmove(b + pos + 1, b + pos, (k - pos) * sizeof(*b));
	b[pos] = block;
	*blocks = b;
	*n = k + 1;
	return 0;
}

/* Move the area's start past clusters in use; true if it moved */
static int plan_skip_used(struct qcow2 *s, struct cover_plan *p, bool *moved)
{
	uint64_t area = plan_area(p);
	*moved = false;
	for (uint64_t c = p->start; c < p->start + area; c++) {
		bool free;
		int ret = cluster_free(s, c, &free);
		if (ret < 0)
			return ret;
		if (!free || qcow2_overlaps_metadata(s, c << s->cluster_bits, s->cluster_size)) {
			p->start = c + 1;
			*moved = true;
			return 0;
		}
	}
	return 0;
}

/* Lay out the area at the end of the image: new refcount blocks, then a
 * new table if one is needed; repeated until it covers itself */
static int plan_cover(struct qcow2 *s, uint64_t block, struct cover_plan *p)
{
	uint64_t cs = s->cluster_size, per_cluster = cs / 8;
	*p = (struct cover_plan){ .start = qcow2_cluster_index(s, qcow2_align_up(s, s->end)),
				  .table_size = s->reftable_size };
	if (p->start == 0)
		p->start = 1;
	for (unsigned rounds = 0;; rounds++) {
		if (rounds > 64 || p->start + plan_area(p) > (QCOW2_MAX_HOST_OFFSET >> s->cluster_bits))
			return -ENOSPC;
		bool moved;
		int ret = plan_skip_used(s, p, &moved);
		if (ret < 0)
			return ret;
		uint64_t *blocks, n;
		ret = plan_blocks(s, p, block, &blocks, &n);
		if (ret < 0)
			return ret;
		uint64_t need = blocks[n - 1] + 1, size = s->reftable_size, clusters = 0;
		if (need > size) {
			size = size + size / 2 > need ? size + size / 2 : need;
			size = (size + per_cluster - 1) / per_cluster * per_cluster;
			clusters = size / per_cluster;
			if (size * 8 > QCOW2_MAX_REFTABLE_BYTES) {
				free(blocks);
				return -ENOSPC;
			}
		}
		bool same = !moved && n == p->nblocks && clusters == p->table_clusters;
		free(p->blocks);
		p->blocks = blocks;
		p->nblocks = n;
		p->table_size = clusters ? size : s->reftable_size;
		p->table_clusters = clusters;
		if (same)
			return 0;
	}
}

static int refcount_cover(struct qcow2 *s, uint64_t block)
{
	uint64_t cs = s->cluster_size;
	struct cover_plan p;
	uint8_t *bufs = NULL, *table = NULL;
	int ret = plan_cover(s, block, &p);
	if (ret < 0) {
		free(p.blocks);
		if (ret == -ENOSPC)
			log_error("%s: the refcount table cannot grow any further", s->n.name);
		return ret;
	}
	uint64_t area = plan_area(&p);
	if (posix_memalign((void **)&bufs, 4096, p.nblocks * cs)) {
		free(p.blocks);
		return -ENOMEM;
	}
	memset(bufs, 0, p.nblocks * cs);

	/* the area's own refcounts: in the new blocks, or in blocks it has */
	for (uint64_t c = p.start; c < p.start + area && ret == 0; c++) {
		uint64_t b = c >> s->refblock_bits, k;
		for (k = 0; k < p.nblocks && p.blocks[k] != b; k++)
			;
		if (k < p.nblocks)
			rb_write(s, bufs + k * cs, c & refblock_mask(s), 1);
		else
			ret = qcow2_refcount_add(s, c, 1);
	}
	if (ret == 0)
		ret = bnode_pwrite(s->file, p.start * cs, bufs, p.nblocks * cs, 0);
	if (ret == 0)
		ret = qcow2_cache_write_dirty(s, &s->rb_cache);
	if (ret == 0)
		ret = bnode_flush(s->file);
	if (ret < 0)
		goto out;

	uint64_t end = (p.start + area) * cs;
	if (end > s->end)
		s->end = end;
	if (p.table_clusters) {
		/* a new table with everything in it; then the header points to it */
		uint64_t *ram = calloc(p.table_size, sizeof(*ram));
		table = calloc(p.table_size, 8);
		if (!ram || !table) {
			free(ram);
			ret = -ENOMEM;
			goto out;
		}
		memcpy(ram, s->reftable, s->reftable_size * sizeof(*ram));
		for (uint64_t k = 0; k < p.nblocks; k++)
			ram[p.blocks[k]] = (p.start + k) * cs;
		for (uint64_t i = 0; i < p.table_size; i++)
			put_be64(table + 8 * i, ram[i]);
		uint64_t table_offset = (p.start + p.nblocks) * cs;
		uint8_t field[12];
		put_be64(field, table_offset);
		put_be32(field + 8, (uint32_t)p.table_clusters);
		ret = bnode_pwrite(s->file, table_offset, table, p.table_size * 8, 0);
		if (ret == 0)
			ret = bnode_flush(s->file);
		if (ret == 0)
			ret = qcow2_write_header_field(s, QH_REFTABLE_OFFSET, field, sizeof(field));
		if (ret == 0)
			ret = bnode_flush(s->file);
		if (ret < 0) {
			free(ram);
			goto out;
		}
		uint64_t old_offset = s->reftable_offset, old_clusters = s->reftable_clusters;
		free(s->reftable);
		s->reftable = ram;
		s->reftable_size = p.table_size;
		s->reftable_offset = table_offset;
		s->reftable_clusters = (uint32_t)p.table_clusters;
		/* nothing points at the old table any more */
		for (uint64_t i = 0; i < old_clusters && ret == 0; i++)
			ret = qcow2_refcount_add(s, (old_offset >> s->cluster_bits) + i, -1);
	} else {
		for (uint64_t k = 0; k < p.nblocks && ret == 0; k++) {
			uint8_t entry[8];
			put_be64(entry, (p.start + k) * cs);
			ret = bnode_pwrite(s->file, s->reftable_offset + p.blocks[k] * 8, entry, 8, 0);
			if (ret == 0)
				s->reftable[p.blocks[k]] = (p.start + k) * cs;
		}
		if (ret == 0)
			ret = bnode_flush(s->file);
	}
out:
	free(table);
	free(bufs);
	free(p.blocks);
	return ret;
}

/* ---- frees that wait for the tables ---- */

int qcow2_free_later(struct qcow2 *s, uint64_t offset, uint64_t len, bool discard)
{
	struct qcow2_free *f = malloc(sizeof(*f));
	if (!f)
		return 0;	/* a leak, never a corruption */
	*f = (struct qcow2_free){ .offset = offset, .len = len, .discard = discard, .next = s->frees };
	s->frees = f;
	return 0;
}

void qcow2_frees_covered(struct qcow2 *s)
{
	struct qcow2_free *f = s->frees;
	if (!f)
		return;
	while (f->next)
		f = f->next;
	f->next = s->frees_ready;
	s->frees_ready = s->frees;
	s->frees = NULL;
}

int qcow2_apply_frees(struct qcow2 *s)
{
	int ret = 0;
	pthread_rwlock_wrlock(&s->free_lock);
	pthread_mutex_lock(&s->lock);
	s->freeing = true;
	while (s->async_reads)
		pthread_cond_wait(&s->async_idle, &s->lock);
	struct qcow2_free *list = s->frees_ready;
	s->frees_ready = NULL;
	while (list) {
		struct qcow2_free *f = list;
		list = f->next;
		uint64_t first = f->offset >> s->cluster_bits;
		uint64_t last = (f->offset + f->len - 1) >> s->cluster_bits;
		for (uint64_t c = first; c <= last && f->len; c++) {
			int r = qcow2_refcount_add(s, c, -1);
			uint64_t rc = 1;
			if (r == 0)
				r = qcow2_refcount_get(s, c, &rc);
			if (r < 0) {
				ret = r;
				continue;
			}
			if (rc)
				continue;
			qcow2_cache_forget(&s->l2_cache, c << s->cluster_bits);
			qcow2_cache_forget(&s->rb_cache, c << s->cluster_bits);
			/* under the lock: nobody can have taken it again yet */
			if (f->discard && s->file->can_discard)
				s->file->ops->discard(s->file, c << s->cluster_bits, s->cluster_size);
		}
		free(f);
	}
	pthread_mutex_lock(&s->dc_lock);
	s->dc_valid = false;
	pthread_mutex_unlock(&s->dc_lock);
	s->freeing = false;
	pthread_mutex_unlock(&s->lock);
	pthread_rwlock_unlock(&s->free_lock);
	return ret;
}
