/* SPDX-License-Identifier: MIT */
/* The real GPIO backend on libgpiod 2.x (the character device's uAPI v2): one line
 * request per configured line, edge events on both edges with monotonic kernel
 * timestamps and per-line sequence numbers, and debounce done by the kernel.
 * Sensors go to i2c-dev and to sysfs/w1 files. */
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpiod-common.h"
#include "hal-backend.h"
#include "log.h"
#include "macro.h"

/* Events copied out of the kernel per read; hal.c asks for at most this many. */
#define GPIOD_EVENT_BATCH 16
/* The kernel's queue per request; a bouncing contact fills the default 16 fast. */
#define GPIOD_KERNEL_EVENT_QUEUE 64

struct hal_line {
        struct gpiod_line_request *request;
        struct gpiod_edge_event_buffer *buffer;         /* inputs only */
        unsigned offset;
        unsigned long last_seqno;                       /* 0: no event yet */
        char *entity;
        /* inputs: the settings in force, to go back to if a two-step change fails */
        enum hal_bias bias;
        bool active_low;
        uint64_t debounce_usec;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_chip *, gpiod_chip_close);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_chip_info *, gpiod_chip_info_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_info *, gpiod_line_info_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_settings *, gpiod_line_settings_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_config *, gpiod_line_config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_request_config *, gpiod_request_config_free);

static bool gpiod_chip_has_label(struct gpiod_chip *chip, const char *label) {
        _cleanup_(gpiod_chip_info_freep) struct gpiod_chip_info *info = gpiod_chip_get_info(chip);

        return info && streq_ptr(gpiod_chip_info_get_label(info), label);
}

static struct gpiod_chip *gpiod_open_labelled(const char *path, const char *label) {
        struct gpiod_chip *chip;

        if (label && !gpiod_is_gpiochip_device(path)) {
                errno = 0;              /* not a chip: nothing to say */
                return NULL;
        }
        chip = gpiod_chip_open(path);
        if (chip && label && !gpiod_chip_has_label(chip, label)) {
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
                           const char *line, unsigned *ret) {
        _cleanup_(gpiod_chip_info_freep) struct gpiod_chip_info *info = NULL;
        unsigned offset;
        int r;

        if (!hal_gpiod_parse_offset(line, &offset)) {
                r = gpiod_chip_get_line_offset_from_name(chip, line);
                if (r < 0) {
                        r = hal_gpiod_errno();
                        return log_entity_full(LOG_ERR, r, entity, NULL,
                                               "%s: no GPIO line named %s on chip %s: %m", entity,
                                               line, chip_spec);
                }
                *ret = (unsigned) r;
                return 0;
        }

        info = gpiod_chip_get_info(chip);
        if (!info)
                return hal_gpiod_errno();
        if (offset >= gpiod_chip_info_get_num_lines(info))
                return log_entity_full(LOG_ERR, ENOENT, entity, NULL,
                                       "%s: chip %s has no line %u (it has %zu)", entity, chip_spec,
                                       offset, gpiod_chip_info_get_num_lines(info));
        *ret = offset;
        return 0;
}

/* The one message worth the trouble: who holds the line we want. */
static int gpiod_log_busy(struct gpiod_chip *chip, const char *entity, const char *chip_spec,
                          const char *line, unsigned offset) {
        _cleanup_(gpiod_line_info_freep) struct gpiod_line_info *info =
                gpiod_chip_get_line_info(chip, offset);
        const char *consumer = NULL;

        if (info && gpiod_line_info_is_used(info))
                consumer = gpiod_line_info_get_consumer(info);
        return log_entity_full(LOG_ERR, EBUSY, entity, NULL,
                               "%s: GPIO line %s (offset %u) of chip %s is in use by \"%s\"",
                               entity, line, offset, chip_spec, consumer ?: "unknown");
}

static enum gpiod_line_bias gpiod_bias(enum hal_bias bias) {
        switch (bias) {
        case HAL_BIAS_DISABLE:
                return GPIOD_LINE_BIAS_DISABLED;
        case HAL_BIAS_PULL_UP:
                return GPIOD_LINE_BIAS_PULL_UP;
        case HAL_BIAS_PULL_DOWN:
                return GPIOD_LINE_BIAS_PULL_DOWN;
        case HAL_BIAS_AS_IS:
        default:
                return GPIOD_LINE_BIAS_AS_IS;
        }
}

static void gpiod_line_free(struct hal_line *l) {
        if (!l)
                return;
        if (l->request)
                gpiod_line_request_release(l->request);
        if (l->buffer)
                gpiod_edge_event_buffer_free(l->buffer);
        free(l->entity);
        free(l);
}

static void gpiod_line_freep(struct hal_line **l) {
        gpiod_line_free(*l);
}

/* Requests one line with `settings`; the chip is only needed until then (a v2
 * request lives on without it). */
static int gpiod_request(struct gpiod_state *st, const char *entity, const char *chip_spec,
                         const char *line, struct gpiod_line_settings *settings,
                         bool input, struct hal_line **ret) {
        _cleanup_(gpiod_chip_closep) struct gpiod_chip *chip = NULL;
        _cleanup_(gpiod_line_config_freep) struct gpiod_line_config *line_cfg = NULL;
        _cleanup_(gpiod_request_config_freep) struct gpiod_request_config *req_cfg = NULL;
        _cleanup_(gpiod_line_freep) struct hal_line *l = NULL;
        int r;

        if (!entity)
                entity = line;

        r = gpiod_open_chip(chip_spec, &chip);
        if (r < 0)
                return log_entity_full(LOG_ERR, r, entity, NULL,
                                       "%s: cannot open GPIO chip %s: %m", entity, chip_spec);

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->entity = strdup(entity);
        if (!l->entity)
                return -ENOMEM;

        r = gpiod_find_line(chip, l->entity, chip_spec, line, &l->offset);
        if (r < 0)
                return r;

        line_cfg = gpiod_line_config_new();
        req_cfg = gpiod_request_config_new();
        if (!line_cfg || !req_cfg)
                return -ENOMEM;
        if (gpiod_line_config_add_line_settings(line_cfg, &l->offset, 1, settings) < 0)
                return hal_gpiod_errno();
        gpiod_request_config_set_consumer(req_cfg, st->consumer);
        if (input)
                gpiod_request_config_set_event_buffer_size(req_cfg, GPIOD_KERNEL_EVENT_QUEUE);

        l->request = gpiod_chip_request_lines(chip, req_cfg, line_cfg);
        if (!l->request) {
                r = hal_gpiod_errno();
                if (r == -EBUSY)
                        return gpiod_log_busy(chip, l->entity, chip_spec, line, l->offset);
                return r;
        }

        if (input) {
                int fd, flags;

                l->buffer = gpiod_edge_event_buffer_new(GPIOD_EVENT_BATCH);
                if (!l->buffer)
                        return -ENOMEM;

                /* hal.c reads until nothing is left; a blocking read would hang the loop. */
                fd = gpiod_line_request_get_fd(l->request);
                flags = fcntl(fd, F_GETFL);
                if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                        return -errno;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

/* The settings of an input: both edges always (hal.c follows the level and filters by
 * config->edge), monotonic timestamps, and the kernel's debounce where it can. */
static int gpiod_input_settings(const struct hal_input_config *config,
                                struct gpiod_line_settings **ret, bool *ret_kernel_debounce) {
        _cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *settings = NULL;
        bool kernel_debounce;

        settings = gpiod_line_settings_new();
        if (!settings)
                return -ENOMEM;

        if (gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_INPUT) < 0 ||
            gpiod_line_settings_set_edge_detection(settings, GPIOD_LINE_EDGE_BOTH) < 0 ||
            gpiod_line_settings_set_bias(settings, gpiod_bias(config->bias)) < 0 ||
            gpiod_line_settings_set_event_clock(settings, GPIOD_LINE_CLOCK_MONOTONIC) < 0)
                return hal_gpiod_errno();
        gpiod_line_settings_set_active_low(settings, config->active_low);

        /* The uAPI carries the period as 32-bit microseconds; a longer window (over an
         * hour) is left to hal.c. */
        kernel_debounce = config->debounce_usec > 0 && config->debounce_usec <= UINT32_MAX;
        if (kernel_debounce)
                gpiod_line_settings_set_debounce_period_us(settings,
                                                           (unsigned long) config->debounce_usec);

        *ret_kernel_debounce = kernel_debounce;
        *ret = TAKE_PTR(settings);
        return 0;
}

static int gpiod_output_settings(bool active_low, bool value, struct gpiod_line_settings **ret) {
        _cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *settings = NULL;

        settings = gpiod_line_settings_new();
        if (!settings)
                return -ENOMEM;

        /* Direction and value together: the line never drives anything but `value`. */
        gpiod_line_settings_set_active_low(settings, active_low);
        if (gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_OUTPUT) < 0 ||
            gpiod_line_settings_set_output_value(settings, value ? GPIOD_LINE_VALUE_ACTIVE :
                                                                   GPIOD_LINE_VALUE_INACTIVE) < 0)
                return hal_gpiod_errno();

        *ret = TAKE_PTR(settings);
        return 0;
}

static int gpiod_line_request_input_op(void *state, const struct hal_input_config *config,
                                       struct hal_line **ret, int *ret_fd,
                                       bool *ret_kernel_debounce) {
        _cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *settings = NULL;
        struct hal_line *l;
        bool kernel_debounce;
        int r;

        r = gpiod_input_settings(config, &settings, &kernel_debounce);
        if (r < 0)
                return r;

        r = gpiod_request(state, config->name, config->chip, config->line, settings,
                          /* input= */ true, &l);
        if (r < 0)
                return r;
        l->bias = config->bias;
        l->active_low = config->active_low;
        l->debounce_usec = config->debounce_usec;

        *ret_fd = gpiod_line_request_get_fd(l->request);
        *ret_kernel_debounce = kernel_debounce;
        *ret = l;
        return 0;
}

static int gpiod_line_request_output_op(void *state, const struct hal_output_config *config,
                                        struct hal_line **ret) {
        _cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *settings = NULL;
        int r;

        r = gpiod_output_settings(config->active_low, config->initial, &settings);
        if (r < 0)
                return r;

        return gpiod_request(state, config->name, config->chip, config->line, settings,
                             /* input= */ false, ret);
}

/* One GPIO_V2_LINE_SET_CONFIG_IOCTL on the request the line already has: the kernel
 * checks the whole configuration before it applies any of it. */
static int gpiod_reconfigure(struct hal_line *l, struct gpiod_line_settings *settings) {
        _cleanup_(gpiod_line_config_freep) struct gpiod_line_config *line_cfg = NULL;

        line_cfg = gpiod_line_config_new();
        if (!line_cfg)
                return -ENOMEM;
        if (gpiod_line_config_add_line_settings(line_cfg, &l->offset, 1, settings) < 0)
                return hal_gpiod_errno();
        if (gpiod_line_request_reconfigure_lines(l->request, line_cfg) < 0)
                return hal_gpiod_errno();
        return 0;
}

static int gpiod_reconfigure_input(struct hal_line *l, const struct hal_input_config *config,
                                   bool *ret_kernel_debounce) {
        _cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *settings = NULL;
        int r;

        r = gpiod_input_settings(config, &settings, ret_kernel_debounce);
        if (r < 0)
                return r;
        return gpiod_reconfigure(l, settings);
}

static int gpiod_line_reconfigure_input_op(struct hal_line *l, const struct hal_input_config *config,
                                           int *ret_fd, bool *ret_new_fd,
                                           bool *ret_kernel_debounce) {
        bool kernel_debounce;
        int r;

        /* In place: the request and its fd stay. */
        *ret_fd = gpiod_line_request_get_fd(l->request);
        *ret_new_fd = false;
        if (!l->buffer)
                return -EINVAL;         /* an output */

        /* The kernel's debouncer keeps the level it had: a new pull that moves the
         * line would show in the value only after the period, as an edge. Without
         * debounce first, the line settles at once under the new pull; enabling
         * debounce then starts from the level the line has. */
        if (config->bias != l->bias && config->debounce_usec > 0) {
                struct hal_input_config step = *config;

                step.debounce_usec = 0;
                r = gpiod_reconfigure_input(l, &step, &kernel_debounce);
                if (r < 0)
                        return r;
        }

        r = gpiod_reconfigure_input(l, config, &kernel_debounce);
        if (r < 0) {
                struct hal_input_config old = *config;
                int k;

                old.bias = l->bias;
                old.active_low = l->active_low;
                old.debounce_usec = l->debounce_usec;
                k = gpiod_reconfigure_input(l, &old, &kernel_debounce);
                if (k < 0)
                        log_entity_full(LOG_ERR, k, l->entity, NULL,
                                        "%s: cannot restore the GPIO line's settings: %m", l->entity);
                return r;
        }

        l->bias = config->bias;
        l->active_low = config->active_low;
        l->debounce_usec = config->debounce_usec;
        *ret_kernel_debounce = kernel_debounce;
        return 0;
}

static int gpiod_line_reconfigure_output_op(struct hal_line *l, const struct hal_output_config *config,
                                            bool value) {
        _cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *settings = NULL;
        int r;

        if (l->buffer)
                return -EINVAL;         /* an input */

        r = gpiod_output_settings(config->active_low, value, &settings);
        if (r < 0)
                return r;
        return gpiod_reconfigure(l, settings);
}

static int gpiod_line_read_events_op(struct hal_line *l, struct hal_raw_event *events, size_t n) {
        int k;

        if (!l->buffer)
                return -EINVAL;

        k = gpiod_line_request_read_edge_events(l->request, l->buffer,
                                                MIN(n, (size_t) GPIOD_EVENT_BATCH));
        if (k < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : hal_gpiod_errno();

        for (int i = 0; i < k; i++) {
                struct gpiod_edge_event *ev = gpiod_edge_event_buffer_get_event(l->buffer,
                                                                                (unsigned long) i);
                unsigned long seqno = gpiod_edge_event_get_line_seqno(ev);
                unsigned long lost = 0;

                /* The kernel numbers every edge it sees on the line from 1; a full queue
                 * drops its oldest event, which leaves a gap. hal.c counts and logs the
                 * loss; the level after the last event is still right. The first event
                 * of the request may have dropped ones before it. */
                if (seqno > l->last_seqno + 1)
                        lost = seqno - l->last_seqno - 1;
                l->last_seqno = seqno;

                events[i] = (struct hal_raw_event) {
                        .value = gpiod_edge_event_get_event_type(ev) ==
                                 GPIOD_EDGE_EVENT_RISING_EDGE,
                        .lost = (uint32_t) MIN(lost, (unsigned long) UINT32_MAX),
                        .timestamp_ns = gpiod_edge_event_get_timestamp_ns(ev),
                };
        }
        return k;
}

static int gpiod_line_get_op(struct hal_line *l) {
        enum gpiod_line_value v = gpiod_line_request_get_value(l->request, l->offset);

        if (v == GPIOD_LINE_VALUE_ERROR)
                return hal_gpiod_errno();
        return v == GPIOD_LINE_VALUE_ACTIVE;
}

static int gpiod_line_set_op(struct hal_line *l, bool value) {
        if (gpiod_line_request_set_value(l->request, l->offset,
                                         value ? GPIOD_LINE_VALUE_ACTIVE :
                                         GPIOD_LINE_VALUE_INACTIVE) < 0)
                return hal_gpiod_errno();
        return 0;
}

static void gpiod_line_release_op(struct hal_line *l) {
        gpiod_line_free(l);
}

const struct hal_backend_ops hal_backend_gpiod = {
        .name = "gpiod-v2",
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
