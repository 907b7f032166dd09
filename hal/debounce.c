/* SPDX-License-Identifier: MIT */
/* See debounce.h. The whole state is three values: the level last reported, the
 * latest raw level and when that level began. A change is pending exactly while
 * the two levels differ, which is why a bounce back needs no special case. */
#include "debounce.h"

void debounce_init(struct debounce *d, uint64_t window_usec, bool initial) {
        *d = (struct debounce) {
                .window_usec = window_usec,
                .stable = initial,
                .level = initial,
        };
}

static bool debounce_pending(const struct debounce *d) {
        return d->level != d->stable;
}

/* When the pending level will have held for the window; saturating, so that an
 * absurd window means "never" rather than a wrapped time in the past. */
static uint64_t debounce_due(const struct debounce *d) {
        if (d->since_usec > DEBOUNCE_NEVER - d->window_usec)
                return DEBOUNCE_NEVER;
        return d->since_usec + d->window_usec;
}

static uint64_t debounce_deadline(const struct debounce *d) {
        return debounce_pending(d) ? debounce_due(d) : DEBOUNCE_NEVER;
}

/* Reports the pending level if it has held for the full window by `now`; an edge
 * exactly at the end of the window counts as having held. */
static int debounce_settle(struct debounce *d, uint64_t now, struct debounce_change *ret) {
        uint64_t due;

        if (!debounce_pending(d))
                return 0;
        due = debounce_due(d);
        if (due == DEBOUNCE_NEVER || now < due)
                return 0;

        d->stable = d->level;
        *ret = (struct debounce_change) {
                .value = d->stable,
                .timestamp_usec = d->since_usec,
        };
        return 1;
}

int debounce_feed(struct debounce *d, bool raw, uint64_t t,
                  struct debounce_change *ret, uint64_t *ret_deadline) {
        int r = 0;

        if (d->window_usec == 0) {
                *ret_deadline = DEBOUNCE_NEVER;
                if (raw == d->stable)
                        return 0;
                d->stable = d->level = raw;
                d->since_usec = t;
                *ret = (struct debounce_change) { .value = raw, .timestamp_usec = t };
                return 1;
        }

        /* Events can be read late, in a batch: judge the level before this edge by
         * the edge's own timestamp, not by when we got to see it. */
        r = debounce_settle(d, t, ret);

        /* The same level again is no edge (a missed opposite edge, or a repeated
         * report); it must not restart the window. */
        if (raw != d->level) {
                d->level = raw;
                d->since_usec = t;
        }

        *ret_deadline = debounce_deadline(d);
        return r;
}

int debounce_expire(struct debounce *d, uint64_t now,
                    struct debounce_change *ret, uint64_t *ret_deadline) {
        int r;

        r = debounce_settle(d, now, ret);
        *ret_deadline = debounce_deadline(d);
        return r;
}
