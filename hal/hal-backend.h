/* SPDX-License-Identifier: MIT */
/* What a HAL backend provides (internal to hal/). hal.c turns these raw operations
 * into the public interface: it watches input fds on the loop, debounces where the
 * kernel does not, and opens sensors through i2c_open/file_read. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal.h"

struct hal_line;        /* a backend's requested line; opaque to hal.c */
struct i2c_dev;         /* see i2c-bus.h */

/* One edge as the backend saw it: the logical value after the edge and the
 * CLOCK_MONOTONIC time of the edge in nanoseconds (the kernel's timestamp). `lost`
 * counts the edges the backend knows were dropped just before this one (the kernel's
 * event queue overflowed and dropped its oldest: a gap in libgpiod v2's sequence
 * numbers, or the simulated board's bounded queue); 0 where it cannot tell (v1). */
struct hal_raw_event {
        bool value;
        uint32_t lost;
        uint64_t timestamp_ns;
};

struct hal_backend_ops {
        const char *name;
        /* state: the backend's own; given the loop for backends that need sources of
         * their own (the simulated board's control socket). */
        int (*init)(sd_event *event, const struct hal_options *options, void **ret_state);
        void (*done)(void *state);

        /* GPIO. *ret_fd becomes readable when events are pending; the fd stays owned by
         * the line. *ret_kernel_debounce tells whether debounce_usec was applied by the
         * kernel (hal.c debounces otherwise). */
        int (*line_request_input)(void *state, const struct hal_input_config *config,
                                  struct hal_line **ret, int *ret_fd, bool *ret_kernel_debounce);
        /* Reads pending events without blocking: count stored (0: none pending). */
        int (*line_read_events)(struct hal_line *line, struct hal_raw_event *events, size_t n);
        int (*line_request_output)(void *state, const struct hal_output_config *config,
                                   struct hal_line **ret);
        int (*line_get)(struct hal_line *line);          /* logical value 0/1, or -errno */
        int (*line_set)(struct hal_line *line, bool value);
        void (*line_release)(struct hal_line *line);
        /* Change the settings of a held line without giving it up to anyone else.
         * Inputs: bias, active_low and debounce (edges are always both). When the
         * backend had to replace the line's event fd (libgpiod v1 requests the line
         * again), *ret_new_fd is set, on failure too, and *ret_fd is the new fd, or
         * -EBADF if the line was lost; the new fd may have the old one's number.
         * *ret_kernel_debounce as for line_request_input. Outputs: active_low, driving
         * the logical `value` under it. On failure -errno and the line keeps its old
         * settings (and, for outputs, its level). */
        int (*line_reconfigure_input)(struct hal_line *line, const struct hal_input_config *config,
                                      int *ret_fd, bool *ret_new_fd, bool *ret_kernel_debounce);
        int (*line_reconfigure_output)(struct hal_line *line, const struct hal_output_config *config,
                                       bool value);

        /* Sensors. i2c_open returns a device at `address` on `bus`; the config tells a
         * simulated board which chip to model. file_read reads a whole small file (sysfs,
         * w1) into buf, NUL-terminated; returns its length or -errno. */
        int (*i2c_open)(void *state, const char *bus, uint8_t address,
                        const struct hal_sensor_config *config, struct i2c_dev **ret);
        int (*file_read)(void *state, const char *path, const struct hal_sensor_config *config,
                         char *buf, size_t size);
};

extern const struct hal_backend_ops hal_backend_sim;

/* hal_new() with the backend given (tests bring backends of their own). */
int hal_new_with_backend(sd_event *event, const struct hal_backend_ops *ops,
                         const struct hal_options *options, struct hal **ret);
/* For tests: the accuracy of the input's debounce timer in hal.c (0 without one). */
uint64_t hal_input_timer_accuracy(const struct hal_input *input);
#if defined(HAVE_GPIOD_V1) || defined(HAVE_GPIOD_V2)
extern const struct hal_backend_ops hal_backend_gpiod;
#endif

/* The loop and the backend, shared by hal.c and sensor.c. */
struct hal {
        sd_event *event;
        const struct hal_backend_ops *ops;
        void *state;
        char *consumer;
};
