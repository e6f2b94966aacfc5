#ifndef MINIVMM_ACCEL_SELECT_H
#define MINIVMM_ACCEL_SELECT_H

#include "accel/accel.h"
#include "core/config.h"

/* The engine for -accel; NULL (with a message) when it cannot run here */
const struct accel_ops *accel_select(enum accel_choice choice);

#endif
