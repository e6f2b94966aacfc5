/* The console: stdin (a pipe or a terminal) to COM1, the Ctrl-A escapes,
 * raw mode and its restoration on every way out. */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "test.h"

#include "core/console.h"
#include "hw/pc.h"
#include "hw/uart16550.h"
#include "platform_vm.h"

#define COM1 0x3f8
#define RBR COM1
#define FCR (COM1 + 2)
#define LSR (COM1 + 5)

/* A machine with COM1 as -serial stdio would make it (its output to
 * nowhere: only input matters here) */
static struct vm *console_vm(bool fifo)
{
	struct vm *vm = test_vm_new();
	struct chardev_config none = { .kind = CHARDEV_NONE };
	vm->cfg.serial.kind = CHARDEV_STDIO;
	CHECK_EQ(uart16550_create(vm, COM1, 4, &none, &vm->com1), 0);
	if (fifo)
		outb(vm, FCR, 0x07);
	return vm;
}

/* stdin becomes the read end of a new pipe; returns the write end */
static int stdin_pipe(int *saved_stdin)
{
	int p[2];
	*saved_stdin = dup(STDIN_FILENO);
	if (pipe(p) < 0) {
		printf("  cannot make a pipe: %s\n", strerror(errno));
		exit(1);
	}
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	return p[1];
}

static void stdin_restore(int saved_stdin)
{
	if (saved_stdin < 0)
		return;
	dup2(saved_stdin, STDIN_FILENO);
	close(saved_stdin);
}

/* Everything the guest can read right now, as a driver polling LSR.DR */
/* Read what the UART holds now, as a guest's drain loop does */
static size_t guest_read_now(struct vm *vm, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap && (inb(vm, LSR) & 0x01))
		buf[n++] = (char)inb(vm, RBR);
	buf[n] = 0;
	return n;
}

/* Read like a guest driver, letting the main loop refill the UART (as
 * run.c does after the UART's wake-up) whenever it reads empty */
static size_t guest_read_all(struct vm *vm, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		if (!(inb(vm, LSR) & 0x01)) {
			console_flush_pending(vm->console);
			if (!(inb(vm, LSR) & 0x01))
				break;
		}
		buf[n++] = (char)inb(vm, RBR);
	}
	buf[n] = 0;
	return n;
}

/* Capture stderr in a file while a test looks at what we print */
static int stderr_to_file(char *path)
{
	strcpy(path, "/tmp/minivmm-console-XXXXXX");
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return saved;
}

static void stderr_restore(int saved, const char *path, char *text, size_t cap)
{
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, text, cap - 1) : 0;
	text[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	unlink(path);
}

TEST(pipe_input_reaches_guest)
{
	int saved;
	int w = stdin_pipe(&saved);
	struct vm *vm = console_vm(false);
	CHECK_EQ(console_open(vm, &vm->console), 0);
	CHECK(vm->console != NULL);
	CHECK_EQ(console_input_fd(vm->console), STDIN_FILENO);
	CHECK_EQ(write(w, "abc", 3), 3);
	CHECK_EQ(console_handle_input(vm->console), 0);
	/* no FIFO: one byte in RBR, the rest follows as the guest reads */
	char buf[16];
	CHECK_EQ(guest_read_all(vm, buf, sizeof(buf)), 3);
	CHECK_STR(buf, "abc");
	close(w);
	console_close(vm->console);
	test_vm_free(vm);
	stdin_restore(saved);
}

TEST(full_fifo_holds_input)
{
	int saved;
	int w = stdin_pipe(&saved);
	struct vm *vm = console_vm(true);
	CHECK_EQ(console_open(vm, &vm->console), 0);
	char in[41];
	for (int i = 0; i < 40; i++)
		in[i] = (char)('A' + i % 26);
	in[40] = 0;
	CHECK_EQ(write(w, in, 40), 40);
	CHECK_EQ(console_handle_input(vm->console), 0);
	char buf[64];
	CHECK_EQ(guest_read_all(vm, buf, sizeof(buf)), 40);
	CHECK_STR(buf, in);
	close(w);
	test_vm_free(vm);
	stdin_restore(saved);
}

TEST(flush_pending_pushes_later)
{
	int saved;
	int w = stdin_pipe(&saved);
	struct vm *vm = console_vm(false);
	CHECK_EQ(console_open(vm, &vm->console), 0);
	/* without the UART's call-back only the main loop's flush moves
	 * held bytes along */
	uart16550_set_rx_ready(vm->com1, NULL, NULL);
	CHECK_EQ(write(w, "xyz", 3), 3);
	CHECK_EQ(console_handle_input(vm->console), 0);
	char buf[8];
	CHECK_EQ(guest_read_now(vm, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "x");
	console_flush_pending(vm->console);
	CHECK_EQ(guest_read_now(vm, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "y");
	console_flush_pending(vm->console);
	console_flush_pending(vm->console);
	CHECK_EQ(guest_read_now(vm, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "z");
	console_flush_pending(vm->console);
	CHECK_EQ(guest_read_now(vm, buf, sizeof(buf)), 0);
	close(w);
	test_vm_free(vm);
	stdin_restore(saved);
}

TEST(ctrl_a_escapes)
{
	int saved;
	int w = stdin_pipe(&saved);
	struct vm *vm = console_vm(true);
	char path[64], err[512], buf[32];
	CHECK_EQ(console_open(vm, &vm->console), 0);

	int saved_err = stderr_to_file(path);
	/* C-a C-a sends one C-a, C-a h prints help, unknown escapes vanish */
	CHECK_EQ(write(w, "a\x01\x01" "b\x01hc\x01qd", 10), 10);
	CHECK_EQ(console_handle_input(vm->console), 0);
	CHECK_EQ(guest_read_all(vm, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "a\x01" "bcd");
	CHECK(vm_running(vm));
	/* an escape split across two reads; what follows C-a x is dropped */
	CHECK_EQ(write(w, "e\x01", 2), 2);
	CHECK_EQ(console_handle_input(vm->console), 0);
	CHECK_EQ(write(w, "xzz", 3), 3);
	CHECK_EQ(console_handle_input(vm->console), 0);
	stderr_restore(saved_err, path, err, sizeof(err));

	CHECK(strstr(err, "C-a x") != NULL);
	CHECK(strstr(err, "minivmm: terminated (Ctrl-A x)") != NULL);
	CHECK(!vm_running(vm));
	CHECK_EQ(atomic_load(&vm->run_state), VM_STOP_EXIT);
	CHECK_EQ(vm->exit_status, 0);
	CHECK_EQ(guest_read_all(vm, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "e");
	close(w);
	test_vm_free(vm);
	stdin_restore(saved);
}

TEST(end_of_input)
{
	int saved;
	int w = stdin_pipe(&saved);
	struct vm *vm = console_vm(true);
	CHECK_EQ(console_open(vm, &vm->console), 0);
	CHECK_EQ(write(w, "last", 4), 4);
	close(w);
	CHECK_EQ(console_handle_input(vm->console), 0);
	CHECK_EQ(console_handle_input(vm->console), -EPIPE);
	CHECK_EQ(console_input_fd(vm->console), -1);
	CHECK_EQ(console_handle_input(vm->console), -EPIPE);
	/* the machine goes on, and what came before the end is there */
	CHECK(vm_running(vm));
	char buf[8];
	guest_read_all(vm, buf, sizeof(buf));
	CHECK_STR(buf, "last");
	test_vm_free(vm);
	stdin_restore(saved);
}

TEST(no_console_without_stdio_serial)
{
	struct vm *vm = test_vm_new();
	struct console *con = (struct console *)1;
	/* no serial port at all */
	vm->cfg.serial.kind = CHARDEV_NONE;
	CHECK_EQ(console_open(vm, &con), 0);
	CHECK(con == NULL);
	/* serial to a file: stdin stays ours */
	struct chardev_config none = { .kind = CHARDEV_NONE };
	CHECK_EQ(uart16550_create(vm, COM1, 4, &none, &vm->com1), 0);
	vm->cfg.serial.kind = CHARDEV_FILE;
	con = (struct console *)1;
	CHECK_EQ(console_open(vm, &con), 0);
	CHECK(con == NULL);
	/* what the main loop and main() do with "no console" */
	CHECK_EQ(console_input_fd(NULL), -1);
	CHECK_EQ(console_handle_input(NULL), -EPIPE);
	console_flush_pending(NULL);
	console_close(NULL);
	test_vm_free(vm);
}

static bool termios_same(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
	       a->c_lflag == b->c_lflag && a->c_cflag == b->c_cflag &&
	       a->c_cc[VMIN] == b->c_cc[VMIN] && a->c_cc[VTIME] == b->c_cc[VTIME];
}

/* stdin becomes the slave side of a new pseudo-terminal */
static bool stdin_pty(int *master, int *slave, int *saved_stdin)
{
	if (openpty(master, slave, NULL, NULL, NULL) < 0)
		return false;
	*saved_stdin = dup(STDIN_FILENO);
	dup2(*slave, STDIN_FILENO);
	return true;
}

static void raw_mode_check(bool nographic)
{
	int master, slave, saved;
	struct termios before, during, after;
	if (!stdin_pty(&master, &slave, &saved)) {
		test_state.skip_reason = "no pseudo-terminals here";
		return;
	}
	tcgetattr(slave, &before);
	struct vm *vm = console_vm(true);
	vm->cfg.nographic = nographic;
	CHECK_EQ(console_open(vm, &vm->console), 0);
	tcgetattr(slave, &during);
	CHECK_EQ(during.c_lflag & (ICANON | ECHO | IEXTEN), 0);
	CHECK_EQ(during.c_iflag & (ICRNL | IXON | ISTRIP), 0);
	CHECK(during.c_oflag & OPOST);
	CHECK_EQ(!!(during.c_lflag & ISIG), !nographic);
	CHECK_EQ(during.c_cflag & CSIZE, CS8);

	/* typed keys reach the guest as they are: CR stays CR, C-c is a byte
	 * under -nographic */
	const char *typed = nographic ? "hi\r\x03" : "hi\r";
	CHECK_EQ(write(master, typed, strlen(typed)), (ssize_t)strlen(typed));
	char buf[8];
	size_t got = 0;
	for (int tries = 0; tries < 100 && got < strlen(typed); tries++) {
		console_handle_input(vm->console);
		got += guest_read_all(vm, buf + got, sizeof(buf) - got);
	}
	buf[got] = 0;
	CHECK_STR(buf, typed);

	console_close(vm->console);
	tcgetattr(slave, &after);
	CHECK(termios_same(&before, &after));
	/* closing twice is harmless */
	console_close(vm->console);
	test_vm_free(vm);
	stdin_restore(saved);
	close(master);
	close(slave);
}

TEST(terminal_raw_mode)
{
	raw_mode_check(false);
}

TEST(terminal_raw_mode_nographic)
{
	raw_mode_check(true);
}

/* A child takes over the terminal and leaves without console_close: by
 * exit() (atexit) or by a fatal signal.  The terminal must come back. */
static void restore_on_exit_path(int how)
{
	int master, slave, saved;
	struct termios before, after;
	if (!stdin_pty(&master, &slave, &saved)) {
		test_state.skip_reason = "no pseudo-terminals here";
		return;
	}
	tcgetattr(slave, &before);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct vm *vm = console_vm(true);
		struct termios raw;
		if (console_open(vm, &vm->console) < 0)
			_exit(10);
		tcgetattr(STDIN_FILENO, &raw);
		if (raw.c_lflag & ICANON)
			_exit(11);	/* never went raw: the test would prove nothing */
		if (how == 0)
			exit(7);
		raise(how);
		_exit(12);
	}
	int status = 0;
	CHECK(pid > 0);
	waitpid(pid, &status, 0);
	if (how == 0) {
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), 7);
	} else {
		CHECK(WIFSIGNALED(status));
		CHECK_EQ(WTERMSIG(status), how);
	}
	tcgetattr(slave, &after);
	CHECK(termios_same(&before, &after));
	stdin_restore(saved);
	close(master);
	close(slave);
}

TEST(restore_at_exit)
{
	restore_on_exit_path(0);
}

TEST(restore_on_abort)
{
	restore_on_exit_path(SIGABRT);
}

TEST(restore_on_sigterm)
{
	restore_on_exit_path(SIGTERM);
}

TEST(ctrl_a_break)
{
	int saved;
	int w = stdin_pipe(&saved);
	struct vm *vm = console_vm(false);
	CHECK_EQ(console_open(vm, &vm->console), 0);
	/* the break lands between the bytes around it, in order, although
	 * without FIFOs the UART takes one byte at a time */
	CHECK_EQ(write(w, "ab\x01" "bc", 5), 5);
	CHECK_EQ(console_handle_input(vm->console), 0);
	CHECK_EQ(inb(vm, LSR), 0x61);
	CHECK_EQ(inb(vm, RBR), 'a');
	/* read empty, the guest sees it empty until the main loop refills */
	CHECK_EQ(inb(vm, LSR), 0x60);
	console_flush_pending(vm->console);
	CHECK_EQ(inb(vm, LSR), 0x61);
	CHECK_EQ(inb(vm, RBR), 'b');
	console_flush_pending(vm->console);
	CHECK_EQ(inb(vm, LSR), 0x71);	/* BI */
	CHECK_EQ(inb(vm, RBR), 0x00);
	console_flush_pending(vm->console);
	CHECK_EQ(inb(vm, LSR), 0x61);
	CHECK_EQ(inb(vm, RBR), 'c');
	console_flush_pending(vm->console);
	CHECK_EQ(inb(vm, LSR), 0x60);
	/* a break alone */
	CHECK_EQ(write(w, "\x01" "b", 2), 2);
	CHECK_EQ(console_handle_input(vm->console), 0);
	CHECK_EQ(inb(vm, LSR), 0x71);
	close(w);
	test_vm_free(vm);
	stdin_restore(saved);
}

RUN_TESTS(T(pipe_input_reaches_guest), T(full_fifo_holds_input), T(flush_pending_pushes_later),
	  T(ctrl_a_escapes), T(ctrl_a_break), T(end_of_input), T(no_console_without_stdio_serial),
	  T(terminal_raw_mode), T(terminal_raw_mode_nographic), T(restore_at_exit),
	  T(restore_on_abort), T(restore_on_sigterm))
