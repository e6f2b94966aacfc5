#include "core/timer.h"

#include "core/vm.h"

void timer_init(struct vm_timer *t, void (*cb)(void *opaque, uint64_t now_ns), void *opaque)
{
	*t = (struct vm_timer){ .cb = cb, .opaque = opaque, .deadline_ns = TIMER_NEVER };
}

bool timer_pending(const struct vm_timer *t)
{
	return t->pending;
}

static void timer_unlink(struct vm_timers *ts, struct vm_timer *t)
{
	for (struct vm_timer **p = &ts->head; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	t->next = NULL;
	t->pending = false;
}

void timer_mod(struct vm *vm, struct vm_timer *t, uint64_t deadline_ns)
{
	struct vm_timers *ts = &vm->timers;
	bool earlier;

	pthread_mutex_lock(&vm->dev_lock);
	if (t->pending)
		timer_unlink(ts, t);
	earlier = !ts->head || deadline_ns < ts->head->deadline_ns;
	struct vm_timer **p = &ts->head;
	/* after timers with the same deadline: first armed, first run */
	while (*p && (*p)->deadline_ns <= deadline_ns)
		p = &(*p)->next;
	t->deadline_ns = deadline_ns;
	t->armed_seq = ts->seq++;
	t->next = *p;
	t->pending = true;
	*p = t;
	if (earlier && ts->deadline_changed && !ts->running)
		ts->deadline_changed(vm);
	pthread_mutex_unlock(&vm->dev_lock);
}

void timer_del(struct vm *vm, struct vm_timer *t)
{
	pthread_mutex_lock(&vm->dev_lock);
	if (t->pending)
		timer_unlink(&vm->timers, t);
	pthread_mutex_unlock(&vm->dev_lock);
}

unsigned timers_run_expired(struct vm *vm, uint64_t now_ns)
{
	struct vm_timers *ts = &vm->timers;
	unsigned ran = 0;

	pthread_mutex_lock(&vm->dev_lock);
	uint64_t seq_start = ts->seq;
	ts->running = true;
	for (;;) {
		/* callbacks may arm and delete any timer: search afresh each time */
		struct vm_timer *t = ts->head;
		while (t && t->deadline_ns <= now_ns && t->armed_seq >= seq_start)
			t = t->next;
		if (!t || t->deadline_ns > now_ns)
			break;
		timer_unlink(ts, t);
		ran++;
		t->cb(t->opaque, now_ns);
	}
	ts->running = false;
	pthread_mutex_unlock(&vm->dev_lock);
	return ran;
}

uint64_t timers_next_deadline(struct vm *vm)
{
	pthread_mutex_lock(&vm->dev_lock);
	uint64_t d = vm->timers.head ? vm->timers.head->deadline_ns : TIMER_NEVER;
	pthread_mutex_unlock(&vm->dev_lock);
	return d;
}
