#!/usr/bin/env bash
# Boot Debian's kernel with -smp 2: the APs start through INIT/SIPI and the
# guest must see both CPUs.
LINUX_SMP=2 exec bash "$(dirname "$0")/linux_boot.sh"
