/* SPDX-License-Identifier: MIT */
/* iotgwd's hardware abstraction: the one interface between the daemon and the board.
 *
 * The daemon asks for GPIO inputs, GPIO outputs and sensors by their configuration;
 * a backend (libgpiod v1 or v2 with i2c-dev and sysfs, or the simulated board)
 * serves them. Every event reaches the daemon through a file descriptor watched by
 * the daemon's sd-event loop: the HAL attaches its sources to the loop it is given,
 * and calls back into the daemon with debounced changes. The daemon never includes a
 * backend header and never learns which backend runs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "reading.h"

struct hal;
struct hal_input;
struct hal_output;
struct hal_sensor;

enum hal_bias {
        HAL_BIAS_AS_IS,
        HAL_BIAS_DISABLE,
        HAL_BIAS_PULL_UP,
        HAL_BIAS_PULL_DOWN,
};

enum hal_edge {
        HAL_EDGE_BOTH,
        HAL_EDGE_RISING,
        HAL_EDGE_FALLING,
};

struct hal_options {
        const char *backend;      /* "gpiod" or "sim" */
        const char *sim_socket;   /* sim only: path of the control socket (NULL: none) */
        bool sim_drift;           /* sim only: let simulated sensor values wander */
        const char *consumer;     /* GPIO consumer label, e.g. "iotgwd" */
};

/** Creates the HAL on the given event loop. -EINVAL for an unknown backend,
 * -EOPNOTSUPP for one not built in. */
int hal_new(sd_event *event, const struct hal_options *options, struct hal **ret);
/** Releases every request still held (outputs keep their level) and frees; NULL-safe. */
struct hal *hal_free(struct hal *hal);
/** The backend's name, "gpiod-v1", "gpiod-v2" or "sim", for logs and status. */
const char *hal_backend_name(const struct hal *hal);

/* GPIO inputs */

struct hal_input_config {
        const char *name;         /* entity name, for logs and the simulated board */
        const char *chip;         /* path, "gpiochipN", or label */
        const char *line;         /* offset ("17") or line name ("GPIO17") */
        enum hal_bias bias;
        bool active_low;
        enum hal_edge edge;
        uint64_t debounce_usec;   /* 0: none */
};

/* Called once per debounced change of the logical value. timestamp_usec is the
 * CLOCK_REALTIME time of the edge that started the change, from the kernel's event
 * timestamp where there is one. */
typedef void (*hal_input_handler_t)(struct hal_input *input, bool value,
                                    uint64_t timestamp_usec, void *userdata);

/** Requests the line as an input with edge events and starts watching it.
 * Errors: -ENOENT (no such chip or line), -EBUSY (in use; the message logged names
 * the consumer), others from the kernel. */
int hal_input_request(struct hal *hal, const struct hal_input_config *config,
                      hal_input_handler_t handler, void *userdata,
                      struct hal_input **ret);
/** The current logical (debounced) value. */
bool hal_input_value(const struct hal_input *input);
/** Edges of this input that were lost before the HAL could read them: the kernel's
 * event queue overflowed (libgpiod v2 sees the gap in the kernel's sequence numbers;
 * the simulated board models the queue). An edge read right after lost ones that
 * leaves the level where it was is counted too, since it cannot be reported either.
 * Always 0 on libgpiod v1, whose events carry no sequence number. */
uint64_t hal_input_edges_lost(const struct hal_input *input);
/** The sum of hal_input_edges_lost() over every input requested since hal_new(),
 * the ones freed since included. */
uint64_t hal_edges_lost(const struct hal *hal);
/** True if the kernel debounces this line; false if the HAL does it with a timer. */
bool hal_input_kernel_debounce(const struct hal_input *input);
/** Changes the settings of a held input (bias, active_low, edge, debounce) without
 * releasing the line. config->chip and config->line name the line already held
 * (the caller matched them). On success the handler is called as usual for changes
 * from then on, and hal_input_value() is the value under the new settings (no
 * callback for the change the reconfiguration itself causes). On failure -errno and
 * the old settings are still in force (the line is still held). */
int hal_input_reconfigure(struct hal_input *input, const struct hal_input_config *config);
struct hal_input *hal_input_free(struct hal_input *input);

/* GPIO outputs */

struct hal_output_config {
        const char *name;
        const char *chip;
        const char *line;
        bool active_low;
        bool initial;             /* logical value driven from the moment of the request */
};

/** Requests the line as an output already driving `initial` (no glitch). */
int hal_output_request(struct hal *hal, const struct hal_output_config *config,
                       struct hal_output **ret);
int hal_output_set(struct hal_output *output, bool value);
bool hal_output_value(const struct hal_output *output);
/** Changes active_low of a held output without releasing it and drives the logical
 * `value` under the new setting, in one operation where the kernel allows. On failure
 * -errno and the old setting and level are still in force. */
int hal_output_reconfigure(struct hal_output *output, const struct hal_output_config *config,
                           bool value);
/** Releases the line. The kernel keeps the last level driven on most chips. */
struct hal_output *hal_output_free(struct hal_output *output);

/* Sensors */

struct hal_sensor_config {
        const char *name;         /* entity name */
        const char *driver;       /* "sysfs", "ds18b20", "bme280", "bmp280", "sht3x", "bh1750", "ads1115" */
        /* sysfs */
        const char *path;
        double scale;             /* value = raw * scale + offset */
        double offset;
        const char *unit;
        const char *quantity;
        int decimals;             /* -1: driver default */
        /* ds18b20 */
        const char *device;       /* "28-0316a2795bff" */
        /* i2c */
        const char *bus;          /* "/dev/i2c-1" */
        int address;              /* 7-bit, -1: the chip's default */
        /* ads1115 */
        double gain;              /* full-scale range in volts: 6.144 4.096 2.048 1.024 0.512 0.256 */
        int data_rate;            /* samples per second: 8 16 32 64 128 250 475 860 */
};

/** Opens and initialises the device (chip id checked, calibration read). */
int hal_sensor_open(struct hal *hal, const struct hal_sensor_config *config,
                    struct hal_sensor **ret);
/** Checks the file a sysfs or ds18b20 sensor reads, without opening anything: a file
 * read synchronously must be a regular file (sysfs attributes are), since reading a
 * FIFO or a character device can block the loop forever. Returns 0 when the path is a
 * regular file, does not exist (the device may appear later) or the sensor reads no
 * file; -EINVAL with a message naming the path in `err` otherwise. hal_sensor_open()
 * makes the same check. */
int hal_sensor_check_path(const struct hal_sensor_config *config, char *err, size_t errsize);
/** Takes one reading without blocking the loop for long.
 * Returns 1 with *out filled when the reading is complete; 0 when the device needs
 * time (a conversion): call again after *retry_usec; -errno on failure (-EIO no
 * answer, -EBADMSG CRC mismatch or malformed data, -ENODEV wrong chip). After a
 * failure the next call starts a fresh reading. */
int hal_sensor_read(struct hal_sensor *sensor, struct reading *out, uint64_t *retry_usec);
/** What this sensor measures: names, units, precision; stable for its lifetime. */
const struct quantity_info *hal_sensor_quantities(const struct hal_sensor *sensor, size_t *n);
struct hal_sensor *hal_sensor_free(struct hal_sensor *sensor);

/** What a sensor with this configuration measures, without opening the device (for
 * announcing entities before the first reading). -EINVAL for an unknown driver. */
int hal_sensor_describe(const struct hal_sensor_config *config,
                        struct quantity_info ret[READING_MAX], size_t *n);

/** True if `driver` names a sensor driver this HAL knows. */
bool hal_sensor_driver_known(const char *driver);
