/* SPDX-License-Identifier: MIT */
/* A sensor entity: reads on an aligned schedule, publishes one retained JSON object
 * per reading, counts and reports failures, never stops trying. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "manager.h"
#include "payload.h"
#include "topic.h"

/* Deadlines sit on a grid of the interval, so sensors with the same (or a multiple)
 * interval fall due together and an idle gateway wakes once per interval. */
static uint64_t next_deadline(uint64_t now, uint64_t interval) {
        return (now / interval + 1) * interval;
}

static struct hal_sensor_config sensor_hal_config(const struct config_sensor *c) {
        return (struct hal_sensor_config) {
                .name = c->name, .driver = c->driver, .path = c->path,
                .scale = c->scale, .offset = c->offset, .unit = c->unit,
                .quantity = c->quantity, .decimals = c->decimals,
                .device = c->device, .bus = c->bus, .address = c->address,
                .gain = c->gain, .data_rate = c->data_rate,
        };
}

static int sensor_arm(struct sensor *s, uint64_t when, uint64_t accuracy) {
        int r;

        r = sd_event_source_set_time(s->timer, when);
        if (r >= 0)
                r = sd_event_source_set_time_accuracy(s->timer, accuracy);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                return log_error_errno(r, "sensor %s: cannot arm timer: %m", s->config->name);
        return 0;
}

static int sensor_schedule_next(struct sensor *s) {
        uint64_t interval = s->config->interval_usec;

        /* Up to 1/20 of the interval late is fine and lets the loop merge wake-ups. */
        return sensor_arm(s, next_deadline(manager_now(s->manager, CLOCK_MONOTONIC), interval),
                          MAX(interval / 20, 1));
}

static bool reading_changed(const struct sensor *s, const struct reading *r,
                            const struct quantity_info *q, size_t n) {
        for (size_t i = 0; i < MIN(n, r->n); i++) {
                double d = fabs(r->value[i] - s->last.value[i]);

                if (isnan(r->value[i]) != isnan(s->last.value[i]))
                        return true;
                if (s->config->deadband > 0) {
                        if (d > s->config->deadband)
                                return true;
                } else if (d >= 0.5 * pow(10, -q[i].decimals))
                        return true;
        }
        return false;
}

static void sensor_failed(struct sensor *s, int error, const char *what);

/* Said once when a reading gets through after failures. */
static void sensor_recovered(struct sensor *s) {
        if (s->failures == 0)
                return;
        log_entity_full(LOG_NOTICE, 0, s->config->name, s->state_topic,
                        "sensor %s: reading again after %" PRIu64 " failures", s->config->name, s->failures);
        s->failures = 0;
}

static int sensor_publish(struct sensor *s, const struct reading *r) {
        const struct quantity_info *q;
        size_t n;
        int len;

        q = s->quantities;
        n = s->n_quantities;
        len = format_reading_json(r, q, MIN(n, r->n), manager_now(s->manager, CLOCK_REALTIME),
                                  s->payload, sizeof(s->payload));
        if (len < 0) {
                /* A value the payload cannot carry is a failed reading, not a silent one;
                 * the buffer holds a partial payload now, so nothing is republished. */
                s->payload_len = 0;
                s->have_last = false;
                sensor_failed(s, len, "formatting the reading");
                return len;
        }
        s->payload_len = len;
        sensor_recovered(s);
        log_entity_full(LOG_DEBUG, 0, s->config->name, s->state_topic, "sensor %s: %s",
                        s->config->name, s->payload);
        s->last = *r;
        s->have_last = true;
        s->last_publish_usec = manager_now(s->manager, CLOCK_MONOTONIC);
        return sensor_publish_last(s, MQTT_MSG_READING);
}

int sensor_publish_last(struct sensor *s, enum mqtt_msg_class cls) {
        if (s->payload_len <= 0)
                return 0;
        return mqtt_link_publish(s->manager->link, s->state_topic, s->payload, (size_t) s->payload_len,
                                 s->manager->config->qos, /* retain= */ true, cls);
}

static void sensor_failed(struct sensor *s, int error, const char *what) {
        unsigned suppressed = 0;

        s->manager->read_errors++;
        s->failures++;
        if (log_ratelimit_test(&s->fail_ratelimit, manager_now(s->manager, CLOCK_MONOTONIC), &suppressed))
                log_entity_full(LOG_WARNING, error, s->config->name, s->state_topic,
                                "sensor %s (%s): %s failed: %m (%" PRIu64 " in a row%s)",
                                s->config->name, s->config->driver, what, s->failures,
                                suppressed ? ", some messages suppressed" : "");
}

static void sensor_completed(struct sensor *s, const struct reading *r) {
        const struct quantity_info *q;
        size_t n;
        bool due;

        q = s->quantities;
        n = s->n_quantities;
        due = s->config->publish == PUBLISH_ALWAYS || !s->have_last ||
              reading_changed(s, r, q, n) ||
              manager_now(s->manager, CLOCK_MONOTONIC) - s->last_publish_usec >= s->config->max_silence_usec;
        if (due)
                (void) sensor_publish(s, r);
        else
                sensor_recovered(s);
}

/* One step of a reading; a device that needs conversion time asks to be called again. */
static int sensor_step(struct sensor *s) {
        struct reading reading = {};
        uint64_t retry = 0;
        int r;

        s->last_attempt_usec = manager_now(s->manager, CLOCK_MONOTONIC);
        if (!s->hal) {
                struct hal_sensor_config hc = sensor_hal_config(s->config);

                r = hal_sensor_open(s->manager->hal, &hc, &s->hal);
                if (r < 0) {
                        sensor_failed(s, r, "opening the device");
                        return sensor_schedule_next(s);
                }
        }

        r = hal_sensor_read(s->hal, &reading, &retry);
        if (r == 0) {
                s->reading_in_progress = true;
                return sensor_arm(s, manager_now(s->manager, CLOCK_MONOTONIC) + MAX(retry, 1), 0);
        }
        s->reading_in_progress = false;
        if (r < 0)
                sensor_failed(s, r, "read");
        else
                sensor_completed(s, &reading);
        return sensor_schedule_next(s);
}

static int on_sensor_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        (void) sensor_step(userdata);
        return 0;
}

/* For /get: publish what we have, or read now if nothing was read yet. */
int sensor_request_read(struct sensor *s) {
        uint64_t now = manager_now(s->manager, CLOCK_MONOTONIC);

        if (s->payload_len > 0)
                return sensor_publish_last(s, MQTT_MSG_REFRESH);
        /* Nothing read yet (the device may be absent): a read now, but not more often
         * than once a second however many requests come in. */
        if (s->reading_in_progress || now - s->last_attempt_usec < USEC_PER_SEC)
                return 0;
        return sensor_arm(s, now, 0);
}

static int sensor_start(struct sensor *s) {
        int r;

        struct hal_sensor_config hc = sensor_hal_config(s->config);

        s->fail_ratelimit = (struct log_ratelimit) LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 5);
        r = hal_sensor_describe(&hc, s->quantities, &s->n_quantities);
        if (r < 0)
                return log_error_errno(r, "sensor %s: unknown driver %s", s->config->name, s->config->driver);

        /* The first reading is taken right away, the next ones on the grid. */
        r = sd_event_add_time(s->manager->event, &s->timer, CLOCK_MONOTONIC,
                              manager_now(s->manager, CLOCK_MONOTONIC), 0, on_sensor_timer, s);
        if (r < 0)
                return log_error_errno(r, "sensor %s: cannot add timer: %m", s->config->name);
        (void) sd_event_source_set_description(s->timer, s->config->name);
        return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

void sensor_stop(struct sensor *s) {
        s->timer = sd_event_source_disable_unref(s->timer);
        s->hal = hal_sensor_free(s->hal);
}

/* The first reading is due right away; the device is opened then. */
int sensor_new(struct manager *m, const struct config_sensor *c, size_t index, const char *base,
               struct sensor **ret) {
        _cleanup_(sensor_freep) struct sensor *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return log_oom();
        s->manager = m;
        s->config = c;
        s->index = index;
        r = topic_build(&s->state_topic, base, c->name, "state", NULL);
        if (r < 0)
                return log_oom();
        r = sensor_start(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

struct sensor *sensor_free(struct sensor *s) {
        if (!s)
                return NULL;
        sensor_stop(s);
        free(s->state_topic);
        free(s);
        return NULL;
}

/* Everything that decides what is read and how it is published: a reload that keeps
 * all of it keeps the sensor as it runs (schedule, last reading, failure count). */
bool sensor_config_same(const struct config_sensor *a, const struct config_sensor *b) {
        return streq(a->name, b->name) && streq(a->driver, b->driver) &&
               a->interval_usec == b->interval_usec && a->publish == b->publish &&
               a->deadband == b->deadband && a->max_silence_usec == b->max_silence_usec &&
               streq_ptr(a->path, b->path) && a->scale == b->scale && a->offset == b->offset &&
               streq_ptr(a->unit, b->unit) && streq_ptr(a->quantity, b->quantity) &&
               a->decimals == b->decimals && streq_ptr(a->device, b->device) &&
               streq_ptr(a->bus, b->bus) && a->address == b->address && a->gain == b->gain &&
               a->data_rate == b->data_rate;
}
