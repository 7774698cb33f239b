/* Time for deadlines and intervals: the monotonic clock, which wall-clock
 * changes (NTP steps, an admin's `date`) do not move. */
#ifndef MOAT_COMMON_CLOCK_H
#define MOAT_COMMON_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t moat_mono_ms (void);

#endif
