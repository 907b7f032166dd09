/* SPDX-License-Identifier: MIT */
/* A pure debouncer for one GPIO input: raw edges in, stable changes out.
 *
 * It knows nothing of the event loop: every call takes the time as a parameter
 * (CLOCK_MONOTONIC, in microseconds) and says when it wants to be called back, so
 * hal.c owns the timer and the unit tests replay edge sequences without sleeping.
 *
 * A change is reported once the new level has held for the whole window; a level
 * that returns to the reported one within the window reports nothing; a report
 * carries the time of the edge that started the stable level. With a window of 0
 * every change of value is reported at once. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* No timer needed: nothing is waiting to become stable. */
#define DEBOUNCE_NEVER UINT64_MAX

struct debounce {
        uint64_t window_usec;
        bool stable;            /* the value last reported (or the initial one) */
        bool level;             /* the latest raw level */
        uint64_t since_usec;    /* when `level` began; valid while level != stable */
};

/* One debounced change of value. */
struct debounce_change {
        bool value;
        uint64_t timestamp_usec;        /* the edge that started the stable level */
};

/** Starts with `initial` as the stable value and nothing pending. */
void debounce_init(struct debounce *d, uint64_t window_usec, bool initial);

/** Feeds the raw level seen after an edge at time `t`. Events must come in time
 * order. Returns 1 with *ret filled when a change is due now: with a window of 0
 * this edge itself, otherwise an earlier pending level that had already held for
 * the window before `t`. Returns 0 otherwise. *ret_deadline is set to the time at
 * which debounce_expire() must be called, or DEBOUNCE_NEVER. */
int debounce_feed(struct debounce *d, bool raw, uint64_t t,
                  struct debounce_change *ret, uint64_t *ret_deadline);

/** Called at `now` (normally when the deadline has passed). Returns 1 with *ret
 * filled if the pending level has held for the window, 0 otherwise; *ret_deadline
 * as for debounce_feed(). */
int debounce_expire(struct debounce *d, uint64_t now,
                    struct debounce_change *ret, uint64_t *ret_deadline);

/** The stable (reported) value. */
static inline bool debounce_value(const struct debounce *d) {
        return d->stable;
}
