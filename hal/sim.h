/* SPDX-License-Identifier: MIT */
/* The simulated board's internals, shared by its two files: sim.c models the lines
 * and sensors and implements the backend operations; sim-control.c serves the
 * control socket through which tests and the demo drive the board. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct sim;
struct sim_chip;
struct sim_control;

/** Drives the physical level of a requested input, as a test's wire would: an edge
 * (timestamped `now_usec`, CLOCK_MONOTONIC) only if the level changes. The line's
 * event queue holds 64 events; when it is full the oldest is dropped, as the
 * kernel's is, and counted as lost. -ENOENT if no input `line` on `chip` is
 * requested. */
int sim_input_drive(struct sim *sim, const char *chip, const char *line, bool level,
                    uint64_t now_usec);
/** The physical level (0 or 1) of a requested input or output; -ENOENT if none. */
int sim_line_level(struct sim *sim, const char *chip, const char *line);
/** Holds a line as `consumer`, as another program would: the daemon's requests of it
 * fail with -EBUSY naming that consumer. -EBUSY if the line is held already. */
int sim_line_hold(struct sim *sim, const char *chip, const char *line, const char *consumer);
/** Releases a line held with sim_line_hold(). -ENOENT if none is held; -EBUSY if it
 * is the daemon's own. */
int sim_line_unhold(struct sim *sim, const char *chip, const char *line);
/** While `refuse` is set, changing the settings of the requested line fails with
 * -EIO (and the line keeps its old ones), as a chip that cannot apply a pull would.
 * -ENOENT if no such line is requested. */
int sim_line_refuse_config(struct sim *sim, const char *chip, const char *line, bool refuse);
/** Makes the board's I2C buses SMBus-only, like the kernel's i2c-stub and many SoC
 * adapters (or full I2C again): plain I2C transfers to every simulated chip, those
 * opened later too, fail with -EOPNOTSUPP; SMBus transactions still work. */
void sim_set_smbus_only(struct sim *sim, bool smbus_only);
/** The simulated sensor device opened for entity `name`, or NULL. */
struct sim_chip *sim_find_chip(struct sim *sim, const char *name);

/** Listens on `path` (parent directories created, a stale socket replaced). */
int sim_control_new(struct sim *sim, sd_event *event, const char *path,
                    struct sim_control **ret);
/** Clients idle (no byte in or out) for longer than `usec` are closed; 60 s unless
 * changed (tests). */
void sim_control_set_idle_timeout(struct sim_control *control, uint64_t usec);
/** The board's control socket, or NULL if it has none. */
struct sim_control *sim_get_control(struct sim *sim);
/** Closes every client and removes the socket; NULL-safe. */
struct sim_control *sim_control_free(struct sim_control *control);

/* The longest command line a client may send, newline included. */
#define SIM_CONTROL_LINE_MAX 256
/* Room for the longest reply, newline and NUL included. */
#define SIM_CONTROL_REPLY_MAX 512

/** Runs one command line (no newline; `len` bytes, which may include hostile
 * bytes) at `now_usec` and writes the one-line reply, without newline, to `reply`.
 * Returns 0 when the line was blank and deserves no reply, 1 otherwise. */
int sim_control_execute(struct sim *sim, const char *cmd, size_t len, uint64_t now_usec,
                        char *reply, size_t size);
