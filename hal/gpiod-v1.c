/* SPDX-License-Identifier: MIT */
/* The real GPIO backend on libgpiod 1.6 (Debian 12), which speaks the character
 * device's uAPI v1: edge events on both edges with monotonic kernel timestamps
 * (kernel 5.7 and later), bias and active-low as request flags, and no debounce in
 * the kernel, so hal.c debounces. Sensors go to i2c-dev and to sysfs/w1 files.
 * gpiod-v2.c is the model; this file mirrors it where the API allows. */
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpiod-common.h"
#include "hal-backend.h"
#include "log.h"
#include "macro.h"

/* The v1 kernel queue holds 16 events; libgpiod reads at most that many at once. */
#define GPIOD_EVENT_BATCH 16

struct hal_line {
        struct gpiod_state *st;
        struct gpiod_chip *chip;        /* owns `line` */
        struct gpiod_line *line;
        char *entity;
        int flags;                      /* the request flags in force */
        int fd;                         /* inputs: the event fd, else -EBADF */
        int last_value;                 /* inputs: logical value last reported, -1: unknown */
        struct gpiod_line_event events[GPIOD_EVENT_BATCH];
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_chip *, gpiod_chip_close);

/* gpiod_chip_open() checks that this is a GPIO character device. */
static struct gpiod_chip *gpiod_open_labelled(const char *path, const char *label) {
        struct gpiod_chip *chip = gpiod_chip_open(path);

        if (chip && label && !streq_ptr(gpiod_chip_label(chip), label)) {
                gpiod_chip_close(chip);
                errno = 0;              /* not an error: another chip */
                return NULL;
        }
        return chip;
}

static int gpiod_open_chip(const char *spec, struct gpiod_chip **ret) {
        return hal_gpiod_open_chip(spec, gpiod_open_labelled, ret);
}

static int gpiod_find_line(struct gpiod_chip *chip, const char *entity, const char *chip_spec,
                           const char *line, struct gpiod_line **ret) {
        unsigned offset;
        int r;

        if (!hal_gpiod_parse_offset(line, &offset)) {
                *ret = gpiod_chip_find_line(chip, line);
                if (!*ret) {
                        r = hal_gpiod_errno();
                        return log_entity_full(LOG_ERR, r, entity, NULL,
                                               "%s: no GPIO line named %s on chip %s: %m", entity,
                                               line, chip_spec);
                }
                return 0;
        }

        if (offset >= gpiod_chip_num_lines(chip))
                return log_entity_full(LOG_ERR, ENOENT, entity, NULL,
                                       "%s: chip %s has no line %u (it has %u)", entity, chip_spec,
                                       offset, gpiod_chip_num_lines(chip));
        *ret = gpiod_chip_get_line(chip, offset);
        return *ret ? 0 : hal_gpiod_errno();
}

/* The one message worth the trouble: who holds the line we want. */
static int gpiod_log_busy(struct gpiod_line *line, const char *entity, const char *chip_spec,
                          const char *line_spec) {
        const char *consumer = NULL;

        if (gpiod_line_update(line) == 0 && gpiod_line_is_used(line))
                consumer = gpiod_line_consumer(line);
        return log_entity_full(LOG_ERR, EBUSY, entity, NULL,
                               "%s: GPIO line %s (offset %u) of chip %s is in use by \"%s\"",
                               entity, line_spec, gpiod_line_offset(line), chip_spec,
                               consumer ?: "unknown");
}

static int gpiod_bias_flags(enum hal_bias bias) {
        switch (bias) {
        case HAL_BIAS_DISABLE:
                return GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
        case HAL_BIAS_PULL_UP:
                return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
        case HAL_BIAS_PULL_DOWN:
                return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
        case HAL_BIAS_AS_IS:
        default:
                return 0;
        }
}

static void gpiod_line_free(struct hal_line *l) {
        if (!l)
                return;
        if (l->line && gpiod_line_is_requested(l->line))
                gpiod_line_release(l->line);
        if (l->chip)
                gpiod_chip_close(l->chip);
        free(l->entity);
        free(l);
}

static void gpiod_line_freep(struct hal_line **l) {
        gpiod_line_free(*l);
}

static int gpiod_request(struct gpiod_state *st, const char *entity, const char *chip_spec,
                         const char *line_spec, int request_type, int flags, bool initial,
                         struct hal_line **ret) {
        _cleanup_(gpiod_line_freep) struct hal_line *l = NULL;
        struct gpiod_line_request_config rc = {
                .consumer = st->consumer,
                .request_type = request_type,
                .flags = flags,
        };
        int r;

        if (!entity)
                entity = line_spec;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->fd = -EBADF;
        l->last_value = -1;
        l->st = st;
        l->flags = flags;
        l->entity = strdup(entity);
        if (!l->entity)
                return -ENOMEM;

        r = gpiod_open_chip(chip_spec, &l->chip);
        if (r < 0)
                return log_entity_full(LOG_ERR, r, entity, NULL,
                                       "%s: cannot open GPIO chip %s: %m", entity, chip_spec);

        r = gpiod_find_line(l->chip, entity, chip_spec, line_spec, &l->line);
        if (r < 0)
                return r;

        /* For outputs the initial value goes with the request: no glitch. */
        if (gpiod_line_request(l->line, &rc, initial) < 0) {
                r = hal_gpiod_errno();
                if (r == -EBUSY)
                        return gpiod_log_busy(l->line, entity, chip_spec, line_spec);
                return r;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

static int gpiod_input_flags(const struct hal_input_config *config) {
        return gpiod_bias_flags(config->bias) |
               (config->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0);
}

/* The event fd of a freshly requested input, made non-blocking: hal.c reads until
 * nothing is left, and a blocking read would hang the loop. The value read now is
 * where the events start from. */
static int gpiod_input_watch(struct hal_line *l) {
        int fd, flags, v;

        fd = gpiod_line_event_get_fd(l->line);
        if (fd < 0)
                return hal_gpiod_errno();
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        l->fd = fd;
        v = gpiod_line_get_value(l->line);
        l->last_value = v < 0 ? -1 : v > 0;
        return 0;
}

static int gpiod_line_request_input_op(void *state, const struct hal_input_config *config,
                                       struct hal_line **ret, int *ret_fd,
                                       bool *ret_kernel_debounce) {
        _cleanup_(gpiod_line_freep) struct hal_line *l = NULL;
        int r;

        /* Both edges always: hal.c follows the level and filters by config->edge. */
        r = gpiod_request(state, config->name, config->chip, config->line,
                          GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES, gpiod_input_flags(config),
                          /* initial= */ false, &l);
        if (r < 0)
                return r;

        r = gpiod_input_watch(l);
        if (r < 0)
                return r;

        *ret_fd = l->fd;
        *ret_kernel_debounce = false;
        *ret = TAKE_PTR(l);
        return 0;
}

/* uAPI v1 cannot change the flags of an event request: the line is released and
 * requested again at once, under the same consumer. */
static int gpiod_rerequest_input(struct hal_line *l, int flags) {
        struct gpiod_line_request_config rc = {
                .consumer = l->st->consumer,
                .request_type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES,
                .flags = flags,
        };
        int r;

        if (gpiod_line_is_requested(l->line))
                gpiod_line_release(l->line);
        l->fd = -EBADF;

        if (gpiod_line_request(l->line, &rc, 0) < 0) {
                r = hal_gpiod_errno();
                if (r == -EBUSY)
                        return gpiod_log_busy(l->line, l->entity, gpiod_chip_name(l->chip),
                                              gpiod_line_name(l->line) ?: "(unnamed)");
                return r;
        }
        r = gpiod_input_watch(l);
        if (r < 0) {
                gpiod_line_release(l->line);
                return r;
        }
        l->flags = flags;
        return 0;
}

static int gpiod_line_reconfigure_input_op(struct hal_line *l, const struct hal_input_config *config,
                                           int *ret_fd, bool *ret_new_fd,
                                           bool *ret_kernel_debounce) {
        int flags = gpiod_input_flags(config), old = l->flags, r, k;

        *ret_fd = l->fd;
        *ret_new_fd = false;
        *ret_kernel_debounce = false;
        if (l->fd < 0)
                return -ENODEV;         /* an input that was lost earlier, or an output */

        /* Edge filter and debounce live in hal.c: nothing to tell the kernel. */
        if (flags == old)
                return 0;

        /* From here on the old fd is gone, whatever happens; the new one will often
         * get its number. */
        *ret_new_fd = true;
        r = gpiod_rerequest_input(l, flags);
        if (r < 0) {
                k = gpiod_rerequest_input(l, old);
                if (k < 0)
                        log_entity_full(LOG_ERR, k, l->entity, NULL,
                                        "%s: cannot request the GPIO line again with its old settings: %m",
                                        l->entity);
        }
        *ret_fd = l->fd;
        return r;
}

static int gpiod_line_request_output_op(void *state, const struct hal_output_config *config,
                                        struct hal_line **ret) {
        /* With the active-low flag the kernel takes `initial` as the logical value. */
        return gpiod_request(state, config->name, config->chip, config->line,
                             GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
                             config->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0,
                             config->initial, ret);
}

static int gpiod_line_reconfigure_output_op(struct hal_line *l, const struct hal_output_config *config,
                                            bool value) {
        int flags = config->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;

        if (l->fd >= 0)
                return -EINVAL;         /* an input */

        /* One GPIOHANDLE_SET_CONFIG_IOCTL: flags and the (logical) value together. */
        if (gpiod_line_set_config(l->line, GPIOD_LINE_REQUEST_DIRECTION_OUTPUT, flags,
                                  value) < 0)
                return hal_gpiod_errno();
        l->flags = flags;
        return 0;
}

static int gpiod_line_read_events_op(struct hal_line *l, struct hal_raw_event *events, size_t n) {
        int k;

        if (l->fd < 0)
                return -EINVAL;

        k = gpiod_line_event_read_fd_multiple(l->fd, l->events,
                                              (unsigned) MIN(n, ELEMENTSOF(l->events)));
        if (k < 0 && errno != EAGAIN && errno != EINTR)
                return hal_gpiod_errno();
        if (k < 0) {
                struct timespec ts;
                int v;

                /* The v1 kernel queue holds 16 events and, when full, drops the new
                 * ones: after a fast burst the last edge may never come, and the level
                 * would be wrong until the next. So once the queue is empty, the line's
                 * value is checked; a difference is reported as an edge of now. How
                 * many edges were dropped v1 cannot tell (its events have no number). */
                if (n == 0 || l->last_value < 0)
                        return 0;
                v = gpiod_line_get_value(l->line);
                if (v < 0 || (v > 0) == (l->last_value > 0))
                        return 0;
                if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                        return -errno;
                l->last_value = v > 0;
                events[0] = (struct hal_raw_event) {
                        .value = v > 0,
                        .timestamp_ns = (uint64_t) ts.tv_sec * UINT64_C(1000000000) +
                                        (uint64_t) ts.tv_nsec,
                };
                return 1;
        }

        /* With both edges requested the kernel names the edge after the logical
         * (active-low applied) level it read, so rising means logical 1. */
        for (int i = 0; i < k; i++)
                events[i] = (struct hal_raw_event) {
                        .value = l->events[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE,
                        .timestamp_ns = (uint64_t) l->events[i].ts.tv_sec * UINT64_C(1000000000) +
                                        (uint64_t) l->events[i].ts.tv_nsec,
                };
        if (k > 0)
                l->last_value = events[k - 1].value;
        return k;
}

static int gpiod_line_get_op(struct hal_line *l) {
        int v = gpiod_line_get_value(l->line);

        return v < 0 ? hal_gpiod_errno() : v > 0;
}

static int gpiod_line_set_op(struct hal_line *l, bool value) {
        return gpiod_line_set_value(l->line, value) < 0 ? hal_gpiod_errno() : 0;
}

static void gpiod_line_release_op(struct hal_line *l) {
        gpiod_line_free(l);
}

const struct hal_backend_ops hal_backend_gpiod = {
        .name = "gpiod-v1",
        .init = hal_gpiod_init,
        .done = hal_gpiod_done,
        .line_request_input = gpiod_line_request_input_op,
        .line_read_events = gpiod_line_read_events_op,
        .line_request_output = gpiod_line_request_output_op,
        .line_get = gpiod_line_get_op,
        .line_set = gpiod_line_set_op,
        .line_release = gpiod_line_release_op,
        .line_reconfigure_input = gpiod_line_reconfigure_input_op,
        .line_reconfigure_output = gpiod_line_reconfigure_output_op,
        .i2c_open = hal_gpiod_i2c_open,
        .file_read = hal_gpiod_file_read,
};
