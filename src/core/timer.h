/* "Call me back at time T" for devices (PIT, RTC, later the local APIC
 * timer).  Deadlines are on vm_clock_ns.  Nothing here runs by itself: the
 * main loop (core/run.c) calls timers_run_expired and sleeps until
 * timers_next_deadline.  Everything runs under vm->dev_lock, as device
 * handlers do, so a callback may touch its device and raise interrupts. */
#ifndef MINIVMM_TIMER_H
#define MINIVMM_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

#define TIMER_NEVER UINT64_MAX

struct vm_timer {
	/* now_ns is the time the run started; it may be past the deadline */
	void (*cb)(void *opaque, uint64_t now_ns);
	void *opaque;
	uint64_t deadline_ns;
	/* private to timer.c */
	struct vm_timer *next;
	uint64_t armed_seq;
	bool pending;
};

/* Part of struct vm; all zero is an empty list */
struct vm_timers {
	struct vm_timer *head;	/* pending timers, earliest deadline first */
	uint64_t seq;
	/* Optional, set by the engine: called when the earliest deadline moves
	 * earlier, so that a vCPU asleep until the old one wakes up. */
	void (*deadline_changed)(struct vm *vm);
	/* in timers_run_expired, whose caller asks for the deadline next:
	 * callbacks that re-arm need not wake anybody */
	bool running;
};

void timer_init(struct vm_timer *t, void (*cb)(void *opaque, uint64_t now_ns), void *opaque);
/* (Re)arm t to run once at deadline_ns; a deadline in the past runs at the
 * next timers_run_expired. */
void timer_mod(struct vm *vm, struct vm_timer *t, uint64_t deadline_ns);
void timer_del(struct vm *vm, struct vm_timer *t);
bool timer_pending(const struct vm_timer *t);

/* Run every timer due at now_ns, earliest first; a timer re-armed for a
 * time not after now_ns by its own callback waits for the next call, so a
 * callback cannot keep this loop busy.  Returns how many ran. */
unsigned timers_run_expired(struct vm *vm, uint64_t now_ns);
/* The earliest deadline, or TIMER_NEVER */
uint64_t timers_next_deadline(struct vm *vm);

#endif
