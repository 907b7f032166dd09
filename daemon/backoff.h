/* Reconnect back-off: exponential growth with jitter between a minimum and a maximum
 * delay. Pure logic with its own small pseudo-random generator, so that the link and
 * the unit tests choose the seed and no delay depends on the wall clock. */
#pragma once

#include <stdint.h>

struct backoff {
        uint64_t min_usec;
        uint64_t max_usec;
        uint64_t base_usec;     /* the un-jittered delay of the next attempt */
        uint64_t rng;           /* xorshift64* state, never 0 */
};

/** Sets the bounds (min_usec > 0, max_usec >= min_usec) and seeds the jitter. */
void backoff_init(struct backoff *b, uint64_t min_usec, uint64_t max_usec, uint64_t seed);
/** Returns the delay before the next attempt, in [min_usec, max_usec], and doubles
 * the base for the attempt after it (up to max_usec). */
uint64_t backoff_next(struct backoff *b);
/** Starts over at the minimum, e.g. after a successful connect. */
void backoff_reset(struct backoff *b);
