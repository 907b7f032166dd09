/* SPDX-License-Identifier: MIT */
/* Exponential back-off with jitter for broker reconnects. */
#include "backoff.h"

#include <limits.h>

#include "macro.h"

static uint64_t backoff_random(struct backoff *b) {
        /* xorshift64*: plenty for spreading reconnects of many gateways apart;
         * nothing here needs to be unpredictable. */
        b->rng ^= b->rng >> 12;
        b->rng ^= b->rng << 25;
        b->rng ^= b->rng >> 27;
        return b->rng * UINT64_C(2685821657736338717);
}

void backoff_init(struct backoff *b, uint64_t min_usec, uint64_t max_usec, uint64_t seed) {
        b->min_usec = MAX(min_usec, (uint64_t) 1);
        b->max_usec = MAX(max_usec, b->min_usec);
        b->base_usec = b->min_usec;
        /* A zero state would stay zero forever. */
        b->rng = seed ? seed : UINT64_C(0x9e3779b97f4a7c15);
        b->up = false;
        b->up_since_usec = 0;
        b->short_lived = 0;
}

uint64_t backoff_next(struct backoff *b) {
        uint64_t base = b->base_usec, half, delay;

        /* "Equal jitter": half of the delay is fixed, the other half random, so that
         * delays still grow but gateways that lost the same broker spread out. */
        half = base / 2;
        delay = base - half + backoff_random(b) % (half + 1);
        delay = MAX(delay, b->min_usec);
        delay = MIN(delay, b->max_usec);

        if (base >= b->max_usec / 2)
                b->base_usec = b->max_usec;
        else
                b->base_usec = base * 2;

        return delay;
}

void backoff_reset(struct backoff *b) {
        b->base_usec = b->min_usec;
}

void backoff_connected(struct backoff *b, uint64_t now_usec) {
        b->up = true;
        b->up_since_usec = now_usec;
}

unsigned backoff_disconnected(struct backoff *b, uint64_t now_usec) {
        uint64_t lasted;

        if (!b->up)
                return 0;
        b->up = false;
        /* A clock that went backwards counts as no time at all. */
        lasted = now_usec > b->up_since_usec ? now_usec - b->up_since_usec : 0;

        if (lasted >= BACKOFF_STABLE_USEC)
                backoff_reset(b);
        if (lasted < BACKOFF_SHORT_LIVED_USEC) {
                if (b->short_lived < UINT_MAX)
                        b->short_lived++;
        } else
                b->short_lived = 0;
        return b->short_lived;
}
