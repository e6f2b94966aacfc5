/* argv -> struct vm_config, in the manner of qemu-system-x86_64. */
#ifndef MINIVMM_CLI_H
#define MINIVMM_CLI_H

#include <stdio.h>

#include "core/config.h"

enum cli_result {
	CLI_RUN = 0,		/* cfg is complete: run the VM */
	CLI_DONE = 1,		/* --help or --version printed: exit 0 */
	CLI_ERROR = -1,		/* one line on err names the problem: exit 2 */
};

/* out receives --help and --version text, err the one-line error. */
enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *out, FILE *err);

#endif
