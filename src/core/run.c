/* The main loop: one thread per vCPU (or one thread for all of them when
 * the engine runs them in turn) while the main thread serves the console
 * and signals, until the guest or the user ends the run. */
#include "core/run.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "core/chardev.h"
#include "core/clock.h"
#include "core/console.h"
#include "core/log.h"
#include "core/timer.h"
#include "core/vm.h"

static void vcpu_handle_event(struct vcpu *vcpu, enum vcpu_event ev)
{
	struct vm *vm = vcpu->vm;
	switch (ev) {
	case VCPU_EVENT_YIELD:
		break;
	case VCPU_EVENT_HALT:
		/* nothing in the engine can wake it: wait for the run to end */
		pthread_mutex_lock(&vm->state_lock);
		while (vm_running(vm))
			pthread_cond_wait(&vm->state_cond, &vm->state_lock);
		pthread_mutex_unlock(&vm->state_lock);
		break;
	case VCPU_EVENT_RESET:
		vm_request_reset(vm);
		break;
	case VCPU_EVENT_POWEROFF:
		vm_request_poweroff(vm);
		break;
	case VCPU_EVENT_ERROR:
		vm_request_exit(vm, 1);
		break;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	while (vm_running(vm))
		vcpu_handle_event(vcpu, vm->accel->vcpu_run(vcpu));
	return NULL;
}

/* For engines that run every vCPU on one host thread */
static void *vcpu_round_robin_thread(void *arg)
{
	struct vm *vm = arg;
	while (vm_running(vm))
		for (unsigned i = 0; i < vm->nr_vcpus && vm_running(vm); i++)
			vcpu_handle_event(&vm->vcpus[i], vm->accel->vcpu_run(&vm->vcpus[i]));
	return NULL;
}

static int vm_start_vcpus(struct vm *vm)
{
	sigset_t all, old;
	int ret = 0;

	/* vCPU threads leave SIGINT/SIGTERM to the main loop's signalfd */
	sigfillset(&all);
	sigdelset(&all, SIGUSR1);	/* the KVM engine's kick */
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (vm->accel->single_threaded) {
		ret = -pthread_create(&vm->vcpus[0].thread, NULL, vcpu_round_robin_thread, vm);
		vm->vcpus[0].thread_started = ret == 0;
	} else {
		for (unsigned i = 0; i < vm->nr_vcpus && ret == 0; i++) {
			ret = -pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
			vm->vcpus[i].thread_started = ret == 0;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0)
		log_error("cannot start vCPU thread: %s", strerror(-ret));
	return ret;
}

static void vm_join_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
	}
}

/* Power on, or reset: devices and vCPUs to their power-on state, the
 * kernel loaded afresh (from the images kept at start-up) and the boot
 * CPU at its entry */
static int vm_boot(struct vm *vm)
{
	struct boot_entry entry;
	int ret;

	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].reset)
			vm->devices[i].reset(vm->devices[i].opaque);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vm->accel->vcpu_reset(&vm->vcpus[i]);
		if (ret < 0)
			return ret;
	}
	/* with -bios the firmware's option ROM loads the -kernel */
	if (!vm->cfg.kernel || vm->cfg.bios)
		return 0;
	ret = boot_load(vm, &entry);
	if (ret == 0)
		ret = boot_setup_mtrrs(vm);
	if (ret < 0)
		return ret;
	return boot_setup_cpu(vm, &vm->vcpus[0], &entry);
}

static void drain_wake_pipe(struct vm *vm)
{
	char buf[64];
	while (read(vm->wake_fd[0], buf, sizeof(buf)) > 0)
		;
}

/* Run the device timers that are due and tell how long poll may sleep:
 * the main loop is where timers fire, for both engines, as in QEMU's main
 * loop; an interrupt they raise wakes a halted vCPU through the engine. */
static int vm_run_timers(struct vm *vm, struct timespec *ts)
{
	pthread_mutex_lock(&vm->dev_lock);
	timers_run_expired(vm, vm_clock_ns(vm));
	uint64_t next = timers_next_deadline(vm);
	pthread_mutex_unlock(&vm->dev_lock);
	if (next == TIMER_NEVER)
		return 0;
	uint64_t now = vm_clock_ns(vm);
	uint64_t wait = next > now ? next - now : 0;
	ts->tv_sec = (time_t)(wait / NS_PER_SEC);
	ts->tv_nsec = (long)(wait % NS_PER_SEC);
	return 1;
}

/* Still serving the console: running, or powered off with -no-shutdown */
static bool vm_serving(const struct vm *vm)
{
	int state = atomic_load(&((struct vm *)vm)->run_state);
	return state == VM_RUNNING || state == VM_POWERED_OFF;
}

static void vm_serve_io(struct vm *vm, int sig_fd)
{
	int con_fd = vm->console ? console_input_fd(vm->console) : -1;
	bool told_powered_off = false;
	while (vm_serving(vm)) {
		if (!told_powered_off && atomic_load(&vm->run_state) == VM_POWERED_OFF) {
			log_info("the guest powered off; -no-shutdown keeps minivmm running (Ctrl-A x quits)");
			told_powered_off = true;
		}
		struct pollfd pfd[3 + VM_MAX_CHARDEVS] = {
			{ .fd = vm->wake_fd[0], .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = con_fd, .events = POLLIN },
		};
		/* guest output the sinks did not take yet: wait for room too */
		unsigned nr_out = chardevs_poll_prepare(vm, pfd + 3, VM_MAX_CHARDEVS);
		struct timespec ts;
		bool timed = vm_run_timers(vm, &ts);
		/* a pty nobody has opened yet is looked at now and then */
		int cd_ms = chardevs_poll_timeout(vm);
		if (cd_ms >= 0 && (!timed || ts.tv_sec >= cd_ms / 1000)) {
			ts = (struct timespec){ cd_ms / 1000, (cd_ms % 1000) * 1000000L };
			timed = true;
		}
		/* a short timeout lets held-back console input reach a drained FIFO */
		if (con_fd >= 0 && (!timed || ts.tv_sec > 0 || ts.tv_nsec > 10000000)) {
			ts = (struct timespec){ 0, 10000000 };
			timed = true;
		}
		int n = ppoll(pfd, 3 + nr_out, timed ? &ts : NULL, NULL);
		if (n < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			vm_request_exit(vm, 1);
			break;
		}
		if (pfd[0].revents)
			drain_wake_pipe(vm);
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				log_info("terminating on signal %u", si.ssi_signo);
				vm_request_exit(vm, 128 + (int)si.ssi_signo);
			}
		}
		if (vm->console) {
			if (pfd[2].revents & (POLLIN | POLLHUP)) {
				if (console_handle_input(vm->console) == -EPIPE)
					con_fd = -1;	/* end of input: keep running */
			}
			console_flush_pending(vm->console);
		}
		chardevs_poll_done(vm, pfd + 3, nr_out);
	}
}

int vm_run(struct vm *vm)
{
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	int sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}

	/* a reset boots the images read now, as QEMU does, not the files */
	if (boot_keep_files(vm) < 0 || vm_boot(vm) < 0) {
		boot_files_free(vm);
		close(sig_fd);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	for (;;) {
		if (vm_start_vcpus(vm) < 0) {
			vm_request_exit(vm, 1);
			vm_join_vcpus(vm);
			break;
		}
		vm_serve_io(vm, sig_fd);
		vm_join_vcpus(vm);
		if (atomic_load(&vm->run_state) != VM_STOP_RESET)
			break;
		atomic_store(&vm->run_state, VM_RUNNING);
		if (vm_boot(vm) < 0) {
			vm->exit_status = 1;
			break;
		}
	}
	boot_files_free(vm);
	close(sig_fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return vm->exit_status;
}
