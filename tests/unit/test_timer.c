#include "test.h"

#include "platform_vm.h"

static struct {
	struct vm *vm;
	int order[16];
	int n;
} log_of;

struct tagged {
	struct vm_timer t;
	int id;
	uint64_t rearm_ns;
	struct vm_timer *victim;
	int runs;
};

static void tagged_cb(void *opaque, uint64_t now)
{
	struct tagged *tt = opaque;
	tt->runs++;
	if (log_of.n < 16)
		log_of.order[log_of.n++] = tt->id;
	if (tt->victim)
		timer_del(log_of.vm, tt->victim);
	if (tt->rearm_ns != (uint64_t)-1)
		timer_mod(log_of.vm, &tt->t, now + tt->rearm_ns);
}

static void tagged_init(struct tagged *tt, int id)
{
	memset(tt, 0, sizeof(*tt));
	tt->id = id;
	tt->rearm_ns = (uint64_t)-1;
	timer_init(&tt->t, tagged_cb, tt);
}

TEST(timers_run_in_deadline_order)
{
	struct vm *vm = test_vm_new();
	struct tagged a, b, c, d;
	memset(&log_of, 0, sizeof(log_of));
	log_of.vm = vm;
	tagged_init(&a, 1);
	tagged_init(&b, 2);
	tagged_init(&c, 3);
	tagged_init(&d, 4);
	uint64_t now = vm_clock_ns(vm);
	CHECK_EQ(timers_next_deadline(vm), TIMER_NEVER);
	timer_mod(vm, &a.t, now + 300);
	timer_mod(vm, &b.t, now + 100);
	timer_mod(vm, &c.t, now + 200);
	timer_mod(vm, &d.t, now + 100);	/* same deadline as b: after it */
	CHECK_EQ(timers_next_deadline(vm), now + 100);
	CHECK(timer_pending(&a.t));
	CHECK_EQ(timers_run_expired(vm, now + 99), 0);
	CHECK_EQ(timers_run_expired(vm, now + 200), 3);
	CHECK_EQ(log_of.n, 3);
	CHECK_EQ(log_of.order[0], 2);
	CHECK_EQ(log_of.order[1], 4);
	CHECK_EQ(log_of.order[2], 3);
	CHECK(!timer_pending(&b.t));
	CHECK_EQ(timers_next_deadline(vm), now + 300);
	/* moving a timer earlier re-sorts it */
	timer_mod(vm, &b.t, now + 250);
	timer_mod(vm, &a.t, now + 240);
	CHECK_EQ(timers_next_deadline(vm), now + 240);
	CHECK_EQ(timers_run_expired(vm, now + 1000), 2);
	CHECK_EQ(log_of.order[3], 1);
	CHECK_EQ(log_of.order[4], 2);
	CHECK_EQ(timers_next_deadline(vm), TIMER_NEVER);
	test_vm_free(vm);
}

TEST(timer_del_removes_and_is_idempotent)
{
	struct vm *vm = test_vm_new();
	struct tagged a, b;
	memset(&log_of, 0, sizeof(log_of));
	log_of.vm = vm;
	tagged_init(&a, 1);
	tagged_init(&b, 2);
	timer_mod(vm, &a.t, 10);
	timer_mod(vm, &b.t, 20);
	timer_del(vm, &a.t);
	timer_del(vm, &a.t);
	CHECK(!timer_pending(&a.t));
	CHECK_EQ(timers_next_deadline(vm), 20);
	CHECK_EQ(timers_run_expired(vm, 100), 1);
	CHECK_EQ(a.runs, 0);
	CHECK_EQ(b.runs, 1);
	timer_del(vm, &b.t);	/* not pending any more: harmless */
	test_vm_free(vm);
}

TEST(callback_rearming_in_the_past_does_not_spin)
{
	struct vm *vm = test_vm_new();
	struct tagged a, b;
	memset(&log_of, 0, sizeof(log_of));
	log_of.vm = vm;
	tagged_init(&a, 1);
	tagged_init(&b, 2);
	a.rearm_ns = 0;	/* due again at once */
	timer_mod(vm, &a.t, 10);
	timer_mod(vm, &b.t, 50);
	CHECK_EQ(timers_run_expired(vm, 100), 2);
	CHECK_EQ(a.runs, 1);
	CHECK_EQ(b.runs, 1);
	CHECK(timer_pending(&a.t));
	CHECK_EQ(timers_run_expired(vm, 100), 1);
	CHECK_EQ(a.runs, 2);
	timer_del(vm, &a.t);
	test_vm_free(vm);
}

TEST(callback_may_delete_another_due_timer)
{
	struct vm *vm = test_vm_new();
	struct tagged a, b, c;
	memset(&log_of, 0, sizeof(log_of));
	log_of.vm = vm;
	tagged_init(&a, 1);
	tagged_init(&b, 2);
	tagged_init(&c, 3);
	a.victim = &b.t;
	timer_mod(vm, &a.t, 10);
	timer_mod(vm, &b.t, 20);
	timer_mod(vm, &c.t, 30);
	CHECK_EQ(timers_run_expired(vm, 100), 2);
	CHECK_EQ(b.runs, 0);
	CHECK_EQ(c.runs, 1);
	test_vm_free(vm);
}

static int woken;
static void note_wake(struct vm *vm)
{
	(void)vm;
	woken++;
}

TEST(earlier_deadline_wakes_the_engine)
{
	struct vm *vm = test_vm_new();
	struct tagged a, b;
	tagged_init(&a, 1);
	tagged_init(&b, 2);
	woken = 0;
	vm->timers.deadline_changed = note_wake;
	timer_mod(vm, &a.t, 100);
	CHECK_EQ(woken, 1);
	timer_mod(vm, &b.t, 200);	/* later: no need to wake */
	CHECK_EQ(woken, 1);
	timer_mod(vm, &b.t, 50);
	CHECK_EQ(woken, 2);
	timer_del(vm, &a.t);
	timer_del(vm, &b.t);
	test_vm_free(vm);
}

TEST(virtual_clock)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(vm_clock_ns(vm), TEST_START_NS);
	CHECK_EQ(vm_clock_realtime_ns(vm), TEST_WALL_NS);
	vm_clock_advance(vm, 1234);
	CHECK_EQ(vm_clock_ns(vm), TEST_START_NS + 1234);
	CHECK_EQ(vm_clock_realtime_ns(vm), TEST_WALL_NS + 1234);
	/* the host clock moves forward */
	vm->clock.is_virtual = false;
	uint64_t t1 = vm_clock_ns(vm), t2 = vm_clock_ns(vm);
	CHECK(t2 >= t1);
	CHECK(vm_clock_realtime_ns(vm) > (int64_t)TEST_WALL_NS);
	CHECK_EQ(muldiv64(1ull << 62, 1000, 1ull << 40), 1000ull << 22);
	test_vm_free(vm);
}

RUN_TESTS(T(timers_run_in_deadline_order), T(timer_del_removes_and_is_idempotent),
	  T(callback_rearming_in_the_past_does_not_spin), T(callback_may_delete_another_due_timer),
	  T(earlier_deadline_wakes_the_engine), T(virtual_clock))
