/* SPDX-License-Identifier: MIT */
/* The GPIO half of the HAL: picks a backend, and turns its raw lines into the public
 * inputs and outputs. An input is a backend line, an I/O source on the line's fd and,
 * when the kernel does not debounce, a timer driven by the pure debouncer. The sensor
 * half lives in sensor.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "debounce.h"
#include "hal-backend.h"
#include "hal.h"
#include "log.h"
#include "macro.h"

/* Raw events read per read call, and read calls per wake-up: a chattering line
 * cannot starve the rest of the loop, the fd stays readable for the next turn. */
#define HAL_INPUT_EVENT_BATCH 16
#define HAL_INPUT_MAX_BATCHES 8

/* Debounce windows are milliseconds; sd-event's default 250 ms slack is not. */
#define HAL_DEBOUNCE_ACCURACY_USEC (1 * USEC_PER_MSEC)

/* Lost edges come in bursts: one message per burst, the count of the others in the
 * next one and in hal_input_edges_lost(). */
#define HAL_LOST_LOG_INTERVAL_USEC (60 * USEC_PER_SEC)

struct hal_input {
        struct hal_gpio *owner;
        struct hal_input *prev, *next;
        struct hal_line *line;
        char *name;
        enum hal_edge edge;
        enum hal_bias bias;             /* the settings in force, for reverting to them */
        bool active_low;
        uint64_t debounce_usec;
        int fd;                         /* the backend's event fd, watched by io_source */
        bool kernel_debounce;
        bool raw_value;                 /* the logical value of the last event read */
        uint64_t edges_lost;
        struct log_ratelimit lost_ratelimit;
        struct debounce debounce;
        sd_event_source *io_source;
        sd_event_source *timer_source;  /* NULL when nothing to debounce here */
        hal_input_handler_t handler;
        void *userdata;
        struct hal_raw_event events[HAL_INPUT_EVENT_BATCH];
};

struct hal_output {
        struct hal_gpio *owner;
        struct hal_output *prev, *next;
        struct hal_line *line;
        char *name;
        bool active_low;
        bool value;
};

/* struct hal is shared with sensor.c through hal-backend.h; the lists of requests
 * that hal_free() must release are this file's business only, so they live in a
 * wrapper around it. */
struct hal_gpio {
        struct hal hal;
        struct hal_input *inputs;
        struct hal_output *outputs;
        uint64_t edges_lost;            /* every input's, freed ones included */
};

static struct hal_gpio *hal_gpio(struct hal *hal) {
        return (struct hal_gpio *) hal;
}

static const struct hal_backend_ops *const backends[] = {
        &hal_backend_sim,
#if defined(HAVE_GPIOD_V1) || defined(HAVE_GPIOD_V2)
        &hal_backend_gpiod,
#endif
};

/* "gpiod" names whichever libgpiod backend was built; the ops carry the full name. */
static int hal_find_backend(const char *name, const struct hal_backend_ops **ret) {
        bool gpiod = streq(name, "gpiod");

        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (streq(backends[i]->name, name) ||
                    (gpiod && strncmp(backends[i]->name, "gpiod", 5) == 0)) {
                        *ret = backends[i];
                        return 0;
                }

        if (gpiod)
                return -EOPNOTSUPP;
        return -EINVAL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct hal *, hal_free);

int hal_new(sd_event *event, const struct hal_options *options, struct hal **ret) {
        const struct hal_backend_ops *ops;
        int r;

        if (!event || !options || !ret)
                return -EINVAL;

        r = hal_find_backend(options->backend ?: "gpiod", &ops);
        if (r < 0)
                return r;
        return hal_new_with_backend(event, ops, options, ret);
}

int hal_new_with_backend(sd_event *event, const struct hal_backend_ops *ops,
                         const struct hal_options *options, struct hal **ret) {
        _cleanup_(hal_freep) struct hal *hal = NULL;
        struct hal_gpio *g;
        int r;

        if (!event || !ops || !options || !ret)
                return -EINVAL;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        hal = &g->hal;
        hal->event = sd_event_ref(event);
        hal->consumer = strdup(options->consumer ?: "iotgwd");
        if (!hal->consumer)
                return -ENOMEM;

        r = ops->init(event, options, &hal->state);
        if (r < 0)
                return r;
        hal->ops = ops;

        *ret = TAKE_PTR(hal);
        return 0;
}

struct hal *hal_free(struct hal *hal) {
        struct hal_gpio *g;

        if (!hal)
                return NULL;

        g = hal_gpio(hal);
        while (g->inputs)
                hal_input_free(g->inputs);
        while (g->outputs)
                hal_output_free(g->outputs);

        if (hal->ops)
                hal->ops->done(hal->state);
        sd_event_unref(hal->event);
        free(hal->consumer);
        free(g);
        return NULL;
}

const char *hal_backend_name(const struct hal *hal) {
        return hal->ops->name;
}

/* inputs */

/* The kernel stamps edges with CLOCK_MONOTONIC; the daemon publishes wall-clock
 * time. Both clocks are read from the loop's snapshot of this iteration, so the
 * difference between them is consistent. */
static uint64_t hal_realtime_of(struct hal *hal, uint64_t monotonic_usec) {
        uint64_t rt = 0, mono = 0;

        (void) sd_event_now(hal->event, CLOCK_REALTIME, &rt);
        (void) sd_event_now(hal->event, CLOCK_MONOTONIC, &mono);

        if (monotonic_usec >= mono)
                return rt;
        if (mono - monotonic_usec > rt)
                return 0;
        return rt - (mono - monotonic_usec);
}

static void hal_input_notify(struct hal_input *input, const struct debounce_change *c) {
        /* Both edges are always requested so that the debouncer and
         * hal_input_value() follow the level; the edge setting only filters what the
         * daemon is told about. */
        if ((input->edge == HAL_EDGE_RISING && !c->value) ||
            (input->edge == HAL_EDGE_FALLING && c->value))
                return;

        input->handler(input, c->value, hal_realtime_of(&input->owner->hal, c->timestamp_usec),
                       input->userdata);
}

static void hal_input_arm(struct hal_input *input, uint64_t deadline) {
        int r;

        if (!input->timer_source)
                return;

        if (deadline == DEBOUNCE_NEVER) {
                (void) sd_event_source_set_enabled(input->timer_source, SD_EVENT_OFF);
                return;
        }

        r = sd_event_source_set_time(input->timer_source, deadline);
        if (r >= 0)
                r = sd_event_source_set_enabled(input->timer_source, SD_EVENT_ONESHOT);
        if (r < 0)
                /* Without the timer a pending change would be reported at the next
                 * edge at the latest; worth a message, not worth giving up. */
                log_entity_full(LOG_WARNING, r, input->name, NULL,
                                "%s: cannot arm debounce timer: %m, ignoring", input->name);
}

static int hal_input_on_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* The timer of the debouncer in hal.c; created off, armed by hal_input_arm(). */
static int hal_input_add_timer(struct hal_input *input) {
        int r;

        r = sd_event_add_time(input->owner->hal.event, &input->timer_source, CLOCK_MONOTONIC,
                              DEBOUNCE_NEVER, HAL_DEBOUNCE_ACCURACY_USEC,
                              hal_input_on_timer, input);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(input->timer_source, SD_EVENT_OFF);
        if (r < 0) {
                input->timer_source = sd_event_source_unref(input->timer_source);
                return r;
        }
        (void) sd_event_source_set_description(input->timer_source, input->name);
        return 0;
}

static int hal_input_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hal_input *input = userdata;
        struct debounce_change c;
        uint64_t deadline;

        if (debounce_expire(&input->debounce, usec, &c, &deadline) > 0)
                hal_input_notify(input, &c);
        hal_input_arm(input, deadline);
        return 0;
}

/* Edges the backend says were dropped before `ev`. After an odd number of them the
 * edge `ev` reports leaves the level where the last one read had it: nothing can be
 * reported for it either, so it counts as lost too. */
static uint64_t hal_input_count_lost(struct hal_input *input, const struct hal_raw_event *ev) {
        uint64_t lost = ev->lost;

        if (lost > 0 && ev->value == input->raw_value)
                lost++;
        input->raw_value = ev->value;
        return lost;
}

static void hal_input_log_lost(struct hal_input *input, uint64_t lost) {
        uint64_t now = 0;
        unsigned suppressed = 0;

        input->edges_lost += lost;
        input->owner->edges_lost += lost;

        (void) sd_event_now(input->owner->hal.event, CLOCK_MONOTONIC, &now);
        if (log_ratelimit_test(&input->lost_ratelimit, now, &suppressed))
                log_entity_full(LOG_WARNING, 0, input->name, NULL,
                                "%s: %" PRIu64 " GPIO edges lost, the kernel's event queue was full "
                                "(%" PRIu64 " since start)", input->name, lost, input->edges_lost);
}

/* Reads and debounces what the line has queued, within the wake-up's budget.
 * Returns the last read's result: 0 or a count, or -errno. */
static int hal_input_read_events(struct hal_input *input) {
        const struct hal_backend_ops *ops = input->owner->hal.ops;
        uint64_t deadline = DEBOUNCE_NEVER, lost = 0;
        bool fed = false;
        int n = 0;

        for (unsigned batch = 0; batch < HAL_INPUT_MAX_BATCHES; batch++) {
                n = ops->line_read_events(input->line, input->events, ELEMENTSOF(input->events));
                if (n <= 0)
                        break;

                for (int i = 0; i < n; i++) {
                        struct debounce_change c;

                        lost += hal_input_count_lost(input, &input->events[i]);
                        if (debounce_feed(&input->debounce, input->events[i].value,
                                          input->events[i].timestamp_ns / NSEC_PER_USEC,
                                          &c, &deadline) > 0)
                                hal_input_notify(input, &c);
                        fed = true;
                }
        }

        if (fed)
                hal_input_arm(input, deadline);
        if (lost > 0)
                hal_input_log_lost(input, lost);
        return n;
}

static int hal_input_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hal_input *input = userdata;
        int n;

        n = hal_input_read_events(input);

        /* A failing or hung-up fd stays readable: watching it further would spin the
         * loop. The line keeps its last debounced value. */
        if (n < 0 || (n == 0 && (revents & (EPOLLERR | EPOLLHUP)))) {
                log_entity_full(LOG_ERR, n < 0 ? n : EIO, input->name, NULL,
                                "%s: reading GPIO events failed: %m; no longer watching the line",
                                input->name);
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        return 0;
}

static void hal_input_unlink(struct hal_input *input) {
        struct hal_gpio *g = input->owner;

        if (!g)
                return;
        if (input->prev)
                input->prev->next = input->next;
        else
                g->inputs = input->next;
        if (input->next)
                input->next->prev = input->prev;
        input->prev = input->next = NULL;
        input->owner = NULL;
}

struct hal_input *hal_input_free(struct hal_input *input) {
        if (!input)
                return NULL;

        input->io_source = sd_event_source_disable_unref(input->io_source);
        input->timer_source = sd_event_source_disable_unref(input->timer_source);
        if (input->line && input->owner)
                input->owner->hal.ops->line_release(input->line);
        hal_input_unlink(input);
        free(input->name);
        free(input);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct hal_input *, hal_input_free);

int hal_input_request(struct hal *hal, const struct hal_input_config *config,
                      hal_input_handler_t handler, void *userdata,
                      struct hal_input **ret) {
        _cleanup_(hal_input_freep) struct hal_input *input = NULL;
        struct hal_gpio *g;
        uint64_t window;
        int fd = -EBADF, r;

        if (!hal || !config || !config->chip || !config->line || !handler || !ret)
                return -EINVAL;
        g = hal_gpio(hal);

        input = calloc(1, sizeof(*input));
        if (!input)
                return -ENOMEM;
        input->name = strdup(config->name ?: config->line);
        if (!input->name)
                return -ENOMEM;
        input->edge = config->edge;
        input->bias = config->bias;
        input->active_low = config->active_low;
        input->debounce_usec = config->debounce_usec;
        input->fd = -EBADF;
        input->lost_ratelimit = (struct log_ratelimit) LOG_RATELIMIT_INIT(HAL_LOST_LOG_INTERVAL_USEC, 1);
        input->handler = handler;
        input->userdata = userdata;

        /* Linked first, so that freeing on any error below releases the line. */
        input->owner = g;
        input->next = g->inputs;
        if (g->inputs)
                g->inputs->prev = input;
        g->inputs = input;

        r = hal->ops->line_request_input(hal->state, config, &input->line, &fd,
                                         &input->kernel_debounce);
        if (r < 0)
                return r;

        r = hal->ops->line_get(input->line);
        if (r < 0)
                return log_entity_full(LOG_ERR, r, input->name, NULL,
                                       "%s: cannot read initial GPIO value: %m", input->name);

        window = input->kernel_debounce ? 0 : config->debounce_usec;
        debounce_init(&input->debounce, window, r > 0);
        input->raw_value = r > 0;

        input->fd = fd;
        r = sd_event_add_io(hal->event, &input->io_source, fd, EPOLLIN, hal_input_on_io, input);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(input->io_source, input->name);

        if (window > 0) {
                r = hal_input_add_timer(input);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(input);
        return 0;
}

/* Watches the line's new event fd. The old source goes first: the new fd may have
 * the old one's number, and removing the old source afterwards would take the new
 * fd out of the loop's epoll set. Logs, since the caller may be reverting already. */
static int hal_input_rewatch(struct hal_input *input, int fd) {
        int r = -EBADF;

        input->io_source = sd_event_source_disable_unref(input->io_source);
        input->fd = fd;
        if (fd >= 0)
                r = sd_event_add_io(input->owner->hal.event, &input->io_source, fd, EPOLLIN,
                                    hal_input_on_io, input);
        if (r < 0)
                return log_entity_full(LOG_ERR, r, input->name, NULL,
                                       "%s: cannot watch the GPIO line after changing its settings: %m; "
                                       "no longer watching it", input->name);
        (void) sd_event_source_set_description(input->io_source, input->name);
        return 0;
}

static bool hal_input_config_valid(const struct hal_input_config *config) {
        return config->bias >= HAL_BIAS_AS_IS && config->bias <= HAL_BIAS_PULL_DOWN &&
               config->edge >= HAL_EDGE_BOTH && config->edge <= HAL_EDGE_FALLING;
}

/* The backend half of a reconfiguration: the line's new settings and its value under
 * them. If the value cannot be read, the old settings are put back. *ret_new_fd says
 * whether the line has a new event fd (*ret_fd) afterwards, on failure too. */
static int hal_input_apply(struct hal_input *input, const struct hal_input_config *config,
                           const struct hal_input_config *old, int *ret_fd, bool *ret_new_fd,
                           bool *ret_kernel_debounce, bool *ret_value) {
        const struct hal_backend_ops *ops = input->owner->hal.ops;
        bool new_fd = false;
        int r, v;

        r = ops->line_reconfigure_input(input->line, config, ret_fd, ret_new_fd,
                                        ret_kernel_debounce);
        if (r < 0)
                return r;

        v = ops->line_get(input->line);
        if (v >= 0) {
                *ret_value = v > 0;
                return 0;
        }
        r = ops->line_reconfigure_input(input->line, old, ret_fd, &new_fd, ret_kernel_debounce);
        if (r < 0)
                log_entity_full(LOG_ERR, r, input->name, NULL,
                                "%s: cannot restore the GPIO line's settings: %m", input->name);
        *ret_new_fd = *ret_new_fd || new_fd;
        return v;
}

int hal_input_reconfigure(struct hal_input *input, const struct hal_input_config *config) {
        const struct hal_backend_ops *ops;
        struct hal_input_config old;
        bool kernel_debounce = false, value = false, new_timer = false, new_fd = false;
        uint64_t window;
        int fd = -EBADF, r;

        if (!input || !input->owner || !config || !config->chip || !config->line)
                return -EINVAL;
        if (!hal_input_config_valid(config))
                return -EINVAL;
        ops = input->owner->hal.ops;

        old = *config;
        old.bias = input->bias;
        old.active_low = input->active_low;
        old.edge = input->edge;
        old.debounce_usec = input->debounce_usec;

        /* Edges already queued happened under the old settings: they are reported
         * under those, as if they had been read a moment earlier. */
        (void) hal_input_read_events(input);

        /* What can fail for want of memory comes before the line changes. */
        if (config->debounce_usec > 0 && !input->timer_source) {
                r = hal_input_add_timer(input);
                if (r < 0)
                        return r;
                new_timer = true;
        }

        r = hal_input_apply(input, config, &old, &fd, &new_fd, &kernel_debounce, &value);
        if (new_fd) {
                int k = hal_input_rewatch(input, fd);

                if (k < 0 && r >= 0) {
                        /* Unwatched under the new settings: back to the old ones. */
                        new_fd = false;
                        r = ops->line_reconfigure_input(input->line, &old, &fd, &new_fd,
                                                        &kernel_debounce);
                        if (r < 0)
                                log_entity_full(LOG_ERR, r, input->name, NULL,
                                                "%s: cannot restore the GPIO line's settings: %m",
                                                input->name);
                        if (new_fd)
                                (void) hal_input_rewatch(input, fd);
                        r = k;
                }
        }
        if (r < 0)
                goto fail;

        input->edge = config->edge;
        input->bias = config->bias;
        input->active_low = config->active_low;
        input->debounce_usec = config->debounce_usec;
        input->kernel_debounce = kernel_debounce;

        /* The level under the new settings becomes the reported value without a
         * report; a change still pending under the old settings goes with them. */
        window = kernel_debounce ? 0 : config->debounce_usec;
        if (window == 0)
                input->timer_source = sd_event_source_disable_unref(input->timer_source);
        else
                hal_input_arm(input, DEBOUNCE_NEVER);
        debounce_init(&input->debounce, window, value);
        input->raw_value = value;
        return 0;

fail:
        if (new_timer)
                input->timer_source = sd_event_source_disable_unref(input->timer_source);
        return r;
}

bool hal_input_value(const struct hal_input *input) {
        return debounce_value(&input->debounce);
}

uint64_t hal_input_edges_lost(const struct hal_input *input) {
        return input->edges_lost;
}

uint64_t hal_edges_lost(const struct hal *hal) {
        return ((const struct hal_gpio *) hal)->edges_lost;
}

bool hal_input_kernel_debounce(const struct hal_input *input) {
        return input->kernel_debounce;
}

uint64_t hal_input_timer_accuracy(const struct hal_input *input) {
        uint64_t accuracy = 0;

        if (!input->timer_source || sd_event_source_get_time_accuracy(input->timer_source,
                                                                      &accuracy) < 0)
                return 0;
        return accuracy;
}

/* outputs */

static void hal_output_unlink(struct hal_output *output) {
        struct hal_gpio *g = output->owner;

        if (!g)
                return;
        if (output->prev)
                output->prev->next = output->next;
        else
                g->outputs = output->next;
        if (output->next)
                output->next->prev = output->prev;
        output->prev = output->next = NULL;
        output->owner = NULL;
}

struct hal_output *hal_output_free(struct hal_output *output) {
        if (!output)
                return NULL;

        if (output->line && output->owner)
                output->owner->hal.ops->line_release(output->line);
        hal_output_unlink(output);
        free(output->name);
        free(output);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct hal_output *, hal_output_free);

int hal_output_request(struct hal *hal, const struct hal_output_config *config,
                       struct hal_output **ret) {
        _cleanup_(hal_output_freep) struct hal_output *output = NULL;
        struct hal_gpio *g;
        int r;

        if (!hal || !config || !config->chip || !config->line || !ret)
                return -EINVAL;
        g = hal_gpio(hal);

        output = calloc(1, sizeof(*output));
        if (!output)
                return -ENOMEM;
        output->name = strdup(config->name ?: config->line);
        if (!output->name)
                return -ENOMEM;

        output->owner = g;
        output->next = g->outputs;
        if (g->outputs)
                g->outputs->prev = output;
        g->outputs = output;

        r = hal->ops->line_request_output(hal->state, config, &output->line);
        if (r < 0)
                return r;
        output->active_low = config->active_low;
        output->value = config->initial;

        *ret = TAKE_PTR(output);
        return 0;
}

int hal_output_set(struct hal_output *output, bool value) {
        int r;

        /* The line already drives this value: no syscall, no chance of a glitch. */
        if (output->value == value)
                return 0;

        r = output->owner->hal.ops->line_set(output->line, value);
        if (r < 0)
                return r;
        output->value = value;
        return 0;
}

bool hal_output_value(const struct hal_output *output) {
        return output->value;
}

int hal_output_reconfigure(struct hal_output *output, const struct hal_output_config *config,
                           bool value) {
        int r;

        if (!output || !output->owner || !config || !config->chip || !config->line)
                return -EINVAL;

        /* Polarity unchanged: at most a new value, which needs no reconfiguration. */
        if (config->active_low == output->active_low)
                return hal_output_set(output, value);

        r = output->owner->hal.ops->line_reconfigure_output(output->line, config, value);
        if (r < 0)
                return r;
        output->active_low = config->active_low;
        output->value = value;
        return 0;
}
