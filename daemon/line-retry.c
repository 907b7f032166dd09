/* SPDX-License-Identifier: MIT */
/* The retry schedule of GPIO line requests that failed at start-up. */
#include <errno.h>

#include "line-retry.h"
#include "log.h"

uint64_t line_retry_next_delay(uint64_t previous) {
        if (previous < LINE_RETRY_MIN_USEC)
                return LINE_RETRY_MIN_USEC;
        return MIN(previous * 2, (uint64_t) LINE_RETRY_MAX_USEC);
}

static int line_retry_arm(struct line_retry *lr, int error);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct line_retry *lr = userdata;
        int r;

        r = lr->request(lr->userdata);
        if (r >= 0) {
                line_retry_clear(lr);
                return 0;
        }
        r = line_retry_arm(lr, r);
        if (r < 0)
                log_error_errno(r, "Cannot schedule another request of a waiting %s line, giving up: %m",
                                lr->kind);
        return 0;
}

static int line_retry_arm(struct line_retry *lr, int error) {
        uint64_t now;
        int r;

        lr->failures++;
        lr->error = error;
        lr->delay_usec = line_retry_next_delay(lr->delay_usec);
        r = sd_event_now(sd_event_source_get_event(lr->timer), CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_source_set_time(lr->timer, now + lr->delay_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(lr->timer, SD_EVENT_ONESHOT);
        return r;
}

int line_retry_start(struct line_retry *lr, sd_event *event, int error, const char *kind,
                     line_retry_request_t request, void *userdata) {
        int r;

        lr->request = request;
        lr->userdata = userdata;
        lr->kind = kind;
        if (!lr->timer) {
                /* No hurry: a tenth of slack lets these share wake-ups with other timers. */
                r = sd_event_add_time(event, &lr->timer, CLOCK_MONOTONIC, 0,
                                      LINE_RETRY_MIN_USEC / 10, on_retry, lr);
                if (r < 0)
                        return r;
        }
        return line_retry_arm(lr, error);
}

void line_retry_clear(struct line_retry *lr) {
        lr->timer = sd_event_source_disable_unref(lr->timer);
        lr->delay_usec = 0;
        lr->failures = 0;
        lr->error = 0;
}
