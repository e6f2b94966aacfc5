/* minivmm: a virtual x86-64 PC on KVM or on a software CPU. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "accel/select.h"
#include "cli/cli.h"
#include "core/console.h"
#include "core/log.h"
#include "core/run.h"
#include "core/vm.h"
#include "hw/pc.h"

int main(int argc, char **argv)
{
	static struct vm vm;	/* large; lives for the whole run */
	struct vm_config cfg;
	int status = 1;

	switch (cli_parse(argc, argv, &cfg, stdout, stderr)) {
	case CLI_DONE:
		return 0;
	case CLI_ERROR:
		return 2;
	case CLI_RUN:
		break;
	}

	/* as in QEMU: a sink whose reader went away is an EPIPE to handle
	 * (core/chardev.c), not the end of the process */
	signal(SIGPIPE, SIG_IGN);
	const struct accel_ops *accel = accel_select(cfg.accel);
	if (!accel)
		return 1;
	if (vm_init(&vm, &cfg, accel) < 0)
		goto out;
	if (pc_board_init(&vm) < 0)
		goto out;
	if (console_open(&vm, &vm.console) < 0)
		goto out;
	/* -D: once the machine is built, messages of the run go to the log file */
	if (cfg.debug_logfile) {
		int fd = open(cfg.debug_logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			log_error("-D %s: %s", cfg.debug_logfile, strerror(errno));
			goto out;
		}
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	status = vm_run(&vm);
out:
	if (vm.console)
		console_close(vm.console);
	vm_destroy(&vm);
	return status;
}
