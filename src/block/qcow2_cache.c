/* The caches of L2 tables and refcount blocks: a few cluster-sized
 * tables each, least recently used first out.  A dirty refcount block
 * may be written at any time (a refcount on disk is never lower than
 * the tables on disk need); a dirty L2 table only after the refcounts
 * and data it points to, so evicting one runs the ordered flush. */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cluster_size, bool is_l2)
{
	*c = (struct qcow2_cache){ .n = n, .cluster_size = cluster_size, .is_l2 = is_l2 };
	c->t = calloc(n, sizeof(*c->t));
	if (!c->t || posix_memalign((void **)&c->mem, 4096, n * cluster_size)) {
		free(c->t);
		c->t = NULL;
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		c->t[i].data = c->mem + i * cluster_size;
	return 0;
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
	if (!c->t)
		return;
	free(c->mem);
	free(c->t);
	c->t = NULL;
}

static struct qcow2_table *cache_find(struct qcow2_cache *c, const uint8_t *data)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->t[i].data == data)
			return &c->t[i];
	return NULL;
}

static int cache_write_one(struct qcow2 *s, struct qcow2_table *t)
{
	int ret = bnode_pwrite(s->file, t->offset, t->data, s->cluster_size, 0);
	if (ret == 0)
		t->dirty = false;
	return ret;
}

int qcow2_cache_write_dirty(struct qcow2 *s, struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (c->t[i].offset && c->t[i].dirty) {
			int ret = cache_write_one(s, &c->t[i]);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* An unpinned slot to reuse, written out first if dirty */
static int cache_evict(struct qcow2 *s, struct qcow2_cache *c, struct qcow2_table **out)
{
	struct qcow2_table *victim = NULL;
	for (unsigned i = 0; i < c->n; i++) {
		struct qcow2_table *t = &c->t[i];
		if (t->pins)
			continue;
		if (!t->offset) {
			victim = t;
			break;
		}
		if (!victim || t->lru < victim->lru)
			victim = t;
	}
	if (!victim)
		return -EBUSY;	/* cannot be: an operation pins two tables at most */
	if (victim->offset && victim->dirty) {
		int ret = c->is_l2 ? qcow2_flush_metadata(s) : cache_write_one(s, victim);
		if (ret < 0)
			return ret;
	}
	victim->offset = 0;
	*out = victim;
	return 0;
}

int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, bool fresh,
		    uint8_t **data)
{
	struct qcow2_table *t = NULL;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->t[i].offset == offset) {
			t = &c->t[i];
			break;
		}
	}
	if (!t) {
		int ret = cache_evict(s, c, &t);
		if (ret < 0)
			return ret;
		if (fresh) {
			memset(t->data, 0, s->cluster_size);
		} else {
			ret = bnode_pread(s->file, offset, t->data, s->cluster_size);
			if (ret < 0)
				return ret;
		}
		t->offset = offset;
		t->dirty = false;
	} else if (fresh) {
		memset(t->data, 0, s->cluster_size);
	}
	t->pins++;
	t->lru = ++c->tick;
	*data = t->data;
	return 0;
}

void qcow2_cache_put(struct qcow2_cache *c, uint8_t *data)
{
	struct qcow2_table *t = cache_find(c, data);
	if (t && t->pins)
		t->pins--;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint8_t *data)
{
	struct qcow2_table *t = cache_find(c, data);
	if (t)
		t->dirty = true;
}

void qcow2_cache_forget(struct qcow2_cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->t[i].offset == offset && !c->t[i].pins)
			c->t[i].offset = 0;
}

bool qcow2_cache_holds(const struct qcow2_cache *c, uint64_t offset, uint64_t len)
{
	for (unsigned i = 0; i < c->n; i++) {
		uint64_t o = c->t[i].offset;
		if (o && o < offset + len && offset < o + c->cluster_size)
			return true;
	}
	return false;
}
