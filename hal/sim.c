/* SPDX-License-Identifier: MIT */
/* The simulated board: a HAL backend with no hardware behind it, for the demo and
 * the tests. Chips and lines exist as soon as they are requested, under the names
 * the configuration uses. An input line is a pipe: driving its level writes a raw
 * event into the pipe, so edges reach hal.c through a readable fd exactly as a
 * libgpiod line request's do. Lines model the physical level (low at first, as if
 * pulled down, or high with bias=pull-up, as the kernel applies the pull at request)
 * and apply active_low on the way to and from the daemon. As on the kernel, a line is
 * one line whether named by offset or by name (GPIO17 is offset 17 here), and the
 * control socket can hold lines as another consumer. An input's events wait in a
 * bounded queue, as in the kernel: when it is full the oldest is dropped and the
 * loss shows as a gap before the next one (hal_raw_event.lost), the way libgpiod
 * v2's sequence numbers show it. Sensors are the simulated devices of sim-chips.c,
 * one per sensor entity. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hal-backend.h"
#include "log.h"
#include "macro.h"
#include "sim-chips.h"
#include "sim.h"

#define SIM_DRIFT_INTERVAL_USEC (2 * USEC_PER_SEC)
/* Events an input holds until the daemon reads them: what the libgpiod v2 backend
 * asks the kernel for. */
#define SIM_EVENT_QUEUE 64

struct hal_line {
        struct sim *sim;
        struct hal_line *prev, *next;
        char *chip;
        char *line;
        char *chip_key;                 /* chip and line as the kernel would resolve them */
        char *line_key;
        char *entity;
        char *consumer;                 /* held by someone else (control socket); NULL: us */
        bool driven;                    /* a test's wire sets the level; else the pull does */
        bool output;
        bool active_low;
        enum hal_bias bias;
        bool refuse_config;             /* reconfigurations fail, as a chip may refuse a pull */
        bool level;                     /* physical */
        /* inputs: [0] watched by hal.c, readable while events are queued; [1] written here */
        int event_fd[2];
        struct hal_raw_event queue[SIM_EVENT_QUEUE];    /* a ring: `queued` from `head` */
        unsigned head, queued;
};

struct sim_device {
        struct sim_chip *chip;
        struct sim_device *next;
};

struct sim {
        sd_event *event;
        char *consumer;
        struct hal_line *lines;
        struct sim_device *devices;
        struct sim_control *control;
        sd_event_source *drift_timer;
        unsigned drift_seed;
        bool smbus_only;                /* the I2C buses speak SMBus only */
};

/* One chip under its name and its /dev path; one line under "GPIO<N>" and offset N
 * (the Raspberry Pi's naming, which the demo and the tests use). */
static const char *sim_chip_key(const char *chip) {
        if (strncmp(chip, "/dev/gpiochip", 13) == 0)
                return chip + 5;
        return chip;
}

static const char *sim_line_key(const char *line) {
        const char *digits = line + 4;
        size_t n;

        if (strncmp(line, "GPIO", 4) != 0)
                return line;
        n = strspn(digits, "0123456789");
        if (n == 0 || n > 5 || digits[n] != '\0' || (digits[0] == '0' && n > 1))
                return line;
        return digits;
}

static struct hal_line *sim_line_find(struct sim *sim, const char *chip, const char *line) {
        const char *ck = sim_chip_key(chip), *lk = sim_line_key(line);

        for (struct hal_line *l = sim->lines; l; l = l->next)
                if (streq(l->chip_key, ck) && streq(l->line_key, lk))
                        return l;
        return NULL;
}

static void sim_line_free(struct hal_line *l) {
        if (!l)
                return;
        if (l->sim) {
                if (l->prev)
                        l->prev->next = l->next;
                else
                        l->sim->lines = l->next;
                if (l->next)
                        l->next->prev = l->prev;
        }
        safe_close(l->event_fd[0]);
        safe_close(l->event_fd[1]);
        free(l->chip);
        free(l->line);
        free(l->chip_key);
        free(l->line_key);
        free(l->entity);
        free(l->consumer);
        free(l);
}

static void sim_line_freep(struct hal_line **l) {
        sim_line_free(*l);
}

static int sim_line_write_level(struct hal_line *l, bool level, uint64_t now_usec);

/* A new line, linked into the board. Like the kernel, one requester per line. */
static int sim_line_new(struct sim *sim, const char *entity, const char *chip,
                        const char *line, bool output, bool active_low,
                        struct hal_line **ret) {
        _cleanup_(sim_line_freep) struct hal_line *l = NULL;
        struct hal_line *other;

        if (!chip || !line || !*chip || !*line)
                return -EINVAL;
        if (!entity)
                entity = line;

        other = sim_line_find(sim, chip, line);
        if (other && other->consumer)
                return log_entity_full(LOG_ERR, EBUSY, entity, NULL,
                                       "%s: GPIO line %s of chip %s is in use by \"%s\"",
                                       entity, line, chip, other->consumer);
        if (other)
                return log_entity_full(LOG_ERR, EBUSY, entity, NULL,
                                       "%s: GPIO line %s of chip %s is in use by \"%s\" (%s)",
                                       entity, line, chip, sim->consumer, other->entity);

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->event_fd[0] = l->event_fd[1] = -EBADF;
        l->chip = strdup(chip);
        l->line = strdup(line);
        l->chip_key = strdup(sim_chip_key(chip));
        l->line_key = strdup(sim_line_key(line));
        l->entity = strdup(entity);
        if (!l->chip || !l->line || !l->chip_key || !l->line_key || !l->entity)
                return -ENOMEM;
        l->output = output;
        l->active_low = active_low;

        l->sim = sim;
        l->next = sim->lines;
        if (sim->lines)
                sim->lines->prev = l;
        sim->lines = l;

        *ret = TAKE_PTR(l);
        return 0;
}

static int sim_line_request_input(void *state, const struct hal_input_config *config,
                                  struct hal_line **ret, int *ret_fd, bool *ret_kernel_debounce) {
        struct sim *sim = state;
        _cleanup_(sim_line_freep) struct hal_line *l = NULL;
        int r;

        r = sim_line_new(sim, config->name, config->chip, config->line,
                         /* output= */ false, config->active_low, &l);
        if (r < 0)
                return r;
        /* The pull is applied with the request; nothing drives the line yet. */
        l->bias = config->bias;
        l->level = config->bias == HAL_BIAS_PULL_UP;

        /* Non-blocking at both ends: the board never waits for the daemon, and
         * hal.c reads until the pipe is empty. */
        if (pipe2(l->event_fd, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;

        *ret_fd = l->event_fd[0];
        *ret_kernel_debounce = false;
        *ret = TAKE_PTR(l);
        return 0;
}

static int sim_line_request_output(void *state, const struct hal_output_config *config,
                                   struct hal_line **ret) {
        struct sim *sim = state;
        struct hal_line *l;
        int r;

        r = sim_line_new(sim, config->name, config->chip, config->line,
                         /* output= */ true, config->active_low, &l);
        if (r < 0)
                return r;

        /* Driven from the moment of the request, like a real output request. */
        l->level = config->initial != config->active_low;
        *ret = l;
        return 0;
}

/* Empties the wake-up pipe once the queue is empty: the fd stops being readable. */
static int sim_line_drain(struct hal_line *l) {
        char buf[64];

        for (;;) {
                ssize_t k = read(l->event_fd[0], buf, sizeof(buf));

                if (k < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                if (k == 0)
                        return -EPIPE;
        }
}

static int sim_line_read_events(struct hal_line *l, struct hal_raw_event *events, size_t n) {
        size_t k = 0;

        if (l->output)
                return -EINVAL;

        for (; k < n && l->queued > 0; k++) {
                events[k] = l->queue[l->head];
                l->head = (l->head + 1) % SIM_EVENT_QUEUE;
                l->queued--;
        }
        if (l->queued == 0) {
                int r = sim_line_drain(l);

                if (r < 0)
                        return r;
        }
        return (int) k;
}

static int sim_line_get(struct hal_line *l) {
        return l->level != l->active_low;
}

static int sim_line_set(struct hal_line *l, bool value) {
        if (!l->output)
                return -EPERM;
        l->level = value != l->active_low;
        return 0;
}

static void sim_line_release(struct hal_line *l) {
        sim_line_free(l);
}

/* In place, like the kernel's set-config: the line stays requested and keeps its
 * physical level; only how the daemon sees it changes. */
static int sim_line_reconfigure_input(struct hal_line *l, const struct hal_input_config *config,
                                      int *ret_fd, bool *ret_new_fd, bool *ret_kernel_debounce) {
        *ret_fd = l->event_fd[0];
        *ret_new_fd = false;
        if (l->output)
                return -EINVAL;
        if (config->bias < HAL_BIAS_AS_IS || config->bias > HAL_BIAS_PULL_DOWN)
                return -EINVAL;
        if (l->refuse_config)
                return -EIO;

        l->active_low = config->active_low;
        l->bias = config->bias;
        *ret_kernel_debounce = false;

        /* A line nothing drives follows its new pull, with an edge like any other;
         * without a pull it floats where it was. */
        if (!l->driven && (config->bias == HAL_BIAS_PULL_UP || config->bias == HAL_BIAS_PULL_DOWN)) {
                uint64_t now = 0;

                (void) sd_event_now(l->sim->event, CLOCK_MONOTONIC, &now);
                (void) sim_line_write_level(l, config->bias == HAL_BIAS_PULL_UP, now);
        }
        return 0;
}

static int sim_line_reconfigure_output(struct hal_line *l, const struct hal_output_config *config,
                                       bool value) {
        if (!l->output)
                return -EINVAL;
        if (l->refuse_config)
                return -EIO;

        l->active_low = config->active_low;
        l->level = value != l->active_low;
        return 0;
}

int sim_line_refuse_config(struct sim *sim, const char *chip, const char *line, bool refuse) {
        struct hal_line *l;

        l = sim_line_find(sim, chip, line);
        if (!l)
                return -ENOENT;
        l->refuse_config = refuse;
        return 0;
}

int sim_input_drive(struct sim *sim, const char *chip, const char *line, bool level,
                    uint64_t now_usec) {
        struct hal_line *l;

        l = sim_line_find(sim, chip, line);
        if (!l || l->output || l->consumer)
                return -ENOENT;
        l->driven = true;
        return sim_line_write_level(l, level, now_usec);
}

int sim_line_hold(struct sim *sim, const char *chip, const char *line, const char *consumer) {
        struct hal_line *l;
        int r;

        if (!consumer || !*consumer)
                return -EINVAL;
        if (sim_line_find(sim, chip, line))
                return -EBUSY;
        r = sim_line_new(sim, consumer, chip, line, /* output= */ false, false, &l);
        if (r < 0)
                return r;
        l->consumer = strdup(consumer);
        if (!l->consumer) {
                sim_line_free(l);
                return -ENOMEM;
        }
        return 0;
}

int sim_line_unhold(struct sim *sim, const char *chip, const char *line) {
        struct hal_line *l;

        l = sim_line_find(sim, chip, line);
        if (!l)
                return -ENOENT;
        if (!l->consumer)
                return -EBUSY;          /* the daemon's own: only it may release it */
        sim_line_free(l);
        return 0;
}

/* The physical level of an input changes: one event into its queue. A full queue
 * drops its oldest event, as the kernel's does; the next one carries the loss. The
 * pipe gets a byte when the queue stops being empty, so hal.c wakes up. */
static int sim_line_write_level(struct hal_line *l, bool level, uint64_t now_usec) {
        struct hal_raw_event *ev;

        if (l->level == level)
                return 0;

        if (l->queued == 0) {
                ssize_t k = write(l->event_fd[1], "e", 1);

                if (k < 0)
                        return -errno;
        }
        if (l->queued == SIM_EVENT_QUEUE) {
                const struct hal_raw_event *dropped = &l->queue[l->head];

                l->head = (l->head + 1) % SIM_EVENT_QUEUE;
                l->queued--;
                ev = &l->queue[l->head];
                ev->lost = dropped->lost < UINT32_MAX ? dropped->lost + 1 : UINT32_MAX;
        }

        ev = &l->queue[(l->head + l->queued) % SIM_EVENT_QUEUE];
        *ev = (struct hal_raw_event) {
                .value = level != l->active_low,
                .timestamp_ns = now_usec * NSEC_PER_USEC,
        };
        l->queued++;
        l->level = level;
        return 0;
}

int sim_line_level(struct sim *sim, const char *chip, const char *line) {
        struct hal_line *l;

        l = sim_line_find(sim, chip, line);
        if (!l)
                return -ENOENT;
        return l->level;
}

void sim_set_smbus_only(struct sim *sim, bool smbus_only) {
        sim->smbus_only = smbus_only;
        for (struct sim_device *d = sim->devices; d; d = d->next)
                sim_chip_smbus_only(d->chip, smbus_only);
}

struct sim_control *sim_get_control(struct sim *sim) {
        return sim ? sim->control : NULL;
}

/* sensors */

struct sim_chip *sim_find_chip(struct sim *sim, const char *name) {
        for (struct sim_device *d = sim->devices; d; d = d->next)
                if (streq_ptr(sim_chip_name(d->chip), name))
                        return d->chip;
        return NULL;
}

/* One simulated device per sensor entity; it outlives the sensor's handle, so a
 * sensor that is reopened finds the values the control socket set. */
static int sim_device_get(struct sim *sim, const struct hal_sensor_config *config,
                          struct sim_chip **ret) {
        struct sim_device *d;
        struct sim_chip *chip;
        int r;

        if (!config || !config->name)
                return -EINVAL;

        chip = sim_find_chip(sim, config->name);
        if (chip) {
                *ret = chip;
                return 0;
        }

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = sim_chip_new(config, &d->chip);
        if (r < 0) {
                free(d);
                return r;
        }
        sim_chip_smbus_only(d->chip, sim->smbus_only);
        d->next = sim->devices;
        sim->devices = d;
        *ret = d->chip;
        return 0;
}

static int sim_i2c_open(void *state, const char *bus, uint8_t address,
                        const struct hal_sensor_config *config, struct i2c_dev **ret) {
        struct sim_chip *chip;
        struct i2c_dev *dev;
        int r;

        r = sim_device_get(state, config, &chip);
        if (r < 0)
                return r;
        dev = sim_chip_i2c(chip);
        if (!dev)
                return -ENODEV;         /* a file device asked for over I2C */
        *ret = dev;
        return 0;
}

static int sim_file_read(void *state, const char *path, const struct hal_sensor_config *config,
                         char *buf, size_t size) {
        struct sim_chip *chip;
        int r;

        r = sim_device_get(state, config, &chip);
        if (r < 0)
                return r;
        return sim_chip_read_file(chip, path, buf, size);
}

static int sim_on_drift(sd_event_source *s, uint64_t usec, void *userdata) {
        struct sim *sim = userdata;
        int r;

        for (struct sim_device *d = sim->devices; d; d = d->next)
                sim_chip_drift(d->chip, &sim->drift_seed);

        r = sd_event_source_set_time(s, usec + SIM_DRIFT_INTERVAL_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "sim: cannot rearm the drift timer: %m, values stay put");
        return 0;
}

/* the backend */

static void sim_done(void *state) {
        struct sim *sim = state;

        if (!sim)
                return;

        sim->control = sim_control_free(sim->control);
        sim->drift_timer = sd_event_source_disable_unref(sim->drift_timer);

        /* hal.c releases its lines first; these are only what it could not. */
        while (sim->lines)
                sim_line_free(sim->lines);

        while (sim->devices) {
                struct sim_device *d = sim->devices;

                sim->devices = d->next;
                sim_chip_free(d->chip);
                free(d);
        }

        sd_event_unref(sim->event);
        free(sim->consumer);
        free(sim);
}

static void sim_donep(struct sim **sim) {
        sim_done(*sim);
}

static int sim_init(sd_event *event, const struct hal_options *options, void **ret_state) {
        _cleanup_(sim_donep) struct sim *sim = NULL;
        uint64_t now;
        int r;

        sim = calloc(1, sizeof(*sim));
        if (!sim)
                return -ENOMEM;
        sim->event = sd_event_ref(event);
        sim->consumer = strdup(options->consumer ?: "iotgwd");
        if (!sim->consumer)
                return -ENOMEM;

        if (options->sim_socket) {
                r = sim_control_new(sim, event, options->sim_socket, &sim->control);
                if (r < 0)
                        return log_error_errno(r, "sim: cannot listen on %s: %m",
                                               options->sim_socket);
        }

        if (options->sim_drift) {
                r = sd_event_now(event, CLOCK_MONOTONIC, &now);
                if (r < 0)
                        return r;
                /* Any seed will do; the time keeps two demo runs from looking alike. */
                sim->drift_seed = (unsigned) now;
                r = sd_event_add_time(event, &sim->drift_timer, CLOCK_MONOTONIC,
                                      now + SIM_DRIFT_INTERVAL_USEC, 0, sim_on_drift, sim);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(sim->drift_timer, "sim-drift");
        }

        *ret_state = TAKE_PTR(sim);
        return 0;
}

const struct hal_backend_ops hal_backend_sim = {
        .name = "sim",
        .init = sim_init,
        .done = sim_done,
        .line_request_input = sim_line_request_input,
        .line_read_events = sim_line_read_events,
        .line_request_output = sim_line_request_output,
        .line_get = sim_line_get,
        .line_set = sim_line_set,
        .line_release = sim_line_release,
        .line_reconfigure_input = sim_line_reconfigure_input,
        .line_reconfigure_output = sim_line_reconfigure_output,
        .i2c_open = sim_i2c_open,
        .file_read = sim_file_read,
};
