/* SPDX-License-Identifier: MIT */
/* Reconnect back-off: exponential growth with jitter between a minimum and a maximum
 * delay. Pure logic with its own small pseudo-random generator, so that the link and
 * the unit tests choose the seed and no delay depends on the wall clock.
 *
 * The delays start over only once a connection has stayed up for BACKOFF_STABLE_USEC:
 * a broker that accepts us and then drops us at once (another client with the same
 * client id, an ACL that kicks us) must not turn the back-off into a fixed
 * once-a-second reconnect loop. Connections lost soon after they were accepted are
 * counted, so that the caller can say what probably happens. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* How long a connection must last before the next loss starts the delays over. */
#define BACKOFF_STABLE_USEC (30 * USEC_PER_SEC)
/* A connection lost within this time of being accepted is short-lived. */
#define BACKOFF_SHORT_LIVED_USEC (5 * USEC_PER_SEC)

struct backoff {
        uint64_t min_usec;
        uint64_t max_usec;
        uint64_t base_usec;     /* the un-jittered delay of the next attempt */
        uint64_t rng;           /* xorshift64* state, never 0 */

        bool up;                /* a connection is established */
        uint64_t up_since_usec; /* when it was accepted */
        unsigned short_lived;   /* connections in a row that were short-lived */
};

/** Sets the bounds (min_usec > 0, max_usec >= min_usec) and seeds the jitter. */
void backoff_init(struct backoff *b, uint64_t min_usec, uint64_t max_usec, uint64_t seed);
/** Returns the delay before the next attempt, in [min_usec, max_usec], and doubles
 * the base for the attempt after it (up to max_usec). */
uint64_t backoff_next(struct backoff *b);
/** Starts over at the minimum. */
void backoff_reset(struct backoff *b);
/** A connection was accepted (CONNACK) at `now_usec`. The delays do not start over yet. */
void backoff_connected(struct backoff *b, uint64_t now_usec);
/** The connection accepted by backoff_connected() was lost at `now_usec`. If it lasted
 * BACKOFF_STABLE_USEC or longer, the delays start over. Returns how many connections in
 * a row, this one included, were lost within BACKOFF_SHORT_LIVED_USEC of being
 * accepted (0 if this one lasted longer). Without a connection up, changes nothing
 * and returns 0. */
unsigned backoff_disconnected(struct backoff *b, uint64_t now_usec);
