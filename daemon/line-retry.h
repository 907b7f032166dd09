/* SPDX-License-Identifier: MIT */
/* Retrying a GPIO line request that failed at start-up (a line another program holds,
 * a chip that appears later): a one-shot timer with a doubling delay, so an entity
 * without its line costs one wake-up per attempt and nothing in between. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define LINE_RETRY_MIN_USEC (1 * USEC_PER_SEC)
#define LINE_RETRY_MAX_USEC (60 * USEC_PER_SEC)

/* One attempt: 0 once the line is requested (the entity says so), or -errno. */
typedef int (*line_retry_request_t)(void *userdata);

struct line_retry {
        sd_event_source *timer;
        uint64_t delay_usec;      /* of the next attempt; 0 before the first failure */
        unsigned failures;        /* attempts that failed so far */
        int error;                /* -errno of the last one */
        line_retry_request_t request;
        void *userdata;
        const char *kind;         /* "input" or "output", for the log */
};

/** The delay after `previous` (0 for the first): doubling from the minimum, capped. */
uint64_t line_retry_next_delay(uint64_t previous);
/** Records the failed first attempt and tries again later, until request() succeeds. */
int line_retry_start(struct line_retry *lr, sd_event *event, int error, const char *kind,
                     line_retry_request_t request, void *userdata);
/** Disarms and forgets the failures. */
void line_retry_clear(struct line_retry *lr);
