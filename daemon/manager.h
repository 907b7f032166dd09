/* SPDX-License-Identifier: MIT */
/* The manager owns the event loop and everything on it: the configuration, the HAL,
 * the MQTT link and the entities (inputs, outputs, sensors). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "log.h"
#include "hal.h"
#include "line-retry.h"
#include "mqtt-link.h"
#include "reading.h"

struct manager;

enum entity_kind {
        ENTITY_INPUT,
        ENTITY_OUTPUT,
        ENTITY_SENSOR,
};

struct input {
        struct manager *manager;
        const struct config_input *config;   /* borrowed from manager->config */
        struct hal_input *hal;               /* NULL while waiting for the line */
        struct line_retry retry;
        char *state_topic;
        bool value;
};

struct output {
        struct manager *manager;
        const struct config_output *config;
        struct hal_output *hal;              /* NULL while waiting for the line */
        struct line_retry retry;
        sd_event_source *pulse_timer;        /* armed while a pulse runs */
        bool pulse_restore;                  /* the level to go back to when it ends */
        char *state_topic;
};

struct sensor {
        struct manager *manager;
        const struct config_sensor *config;
        size_t index;                        /* in config->sensors */
        struct hal_sensor *hal;              /* NULL until the device opened */
        /* What it measures, known from the configuration before the device answers. */
        struct quantity_info quantities[READING_MAX];
        size_t n_quantities;
        sd_event_source *timer;
        bool reading_in_progress;            /* a multi-step read waits for its device */
        char *state_topic;
        /* What was published last: for on-change, /get and republishing on connect. */
        struct reading last;
        bool have_last;
        uint64_t last_publish_usec;          /* CLOCK_MONOTONIC */
        uint64_t last_attempt_usec;          /* CLOCK_MONOTONIC, last read step */
        uint64_t failures;                   /* consecutive */
        struct log_ratelimit fail_ratelimit;
        char payload[512];                   /* the last payload, reused: no allocation per reading */
        int payload_len;
};

/* Name -> entity, sorted by name for bsearch when routing commands. */
struct entity_ref {
        const char *name;
        enum entity_kind kind;
        void *entity;
};

/* The gateway's own topics, built from [gateway] name and topic_prefix. */
struct gateway_topics {
        char *base;                 /* <topic_prefix>/<name> */
        char *status, *error, *stats;
        char *ha_status;            /* <discovery_prefix>/status, with discovery */
        char *response_prefix;      /* where MQTT 5 replies may go: "" none, "#" any */
};

struct manager {
        sd_event *event;
        char *config_path;
        struct config *config;
        struct hal *hal;
        struct mqtt_link *link;

        struct gateway_topics topics;
        char **discovery_topics;    /* what was announced, for removal on reload */
        size_t n_discovery_topics;

        /* Entities are allocated one by one: HAL callbacks and timers hold pointers to
         * them, and a reload moves unchanged ones into the new arrays. */
        struct input **inputs;
        size_t n_inputs;
        struct output **outputs;
        size_t n_outputs;
        struct sensor **sensors;
        size_t n_sensors;
        struct entity_ref *refs;
        size_t n_refs;

        sd_event_source *sigterm, *sigint, *sighup, *sigusr1, *sigusr2;
        sd_event_source *stats_timer;
        sd_event_source *announce_event;    /* deferred announcement, one pending at most */

        uint64_t start_usec;        /* CLOCK_MONOTONIC */
        uint64_t read_errors;
        uint64_t commands;
        uint64_t command_errors;
        /* Commands come from anyone on the broker: one log limit per cause. */
        struct log_ratelimit log_rejected, log_accepted, log_reply_refused, log_retained, log_announce;
        uint64_t retained_seen[64];         /* hashes of command topics found retained */
        size_t n_retained_seen, retained_next;
        unsigned connections;               /* since start, across reloads */
        bool shutting_down;
        bool config_invalid;        /* manager_start() failed on the configuration */
        char buf[1024];             /* scratch for stats and error payloads */
};

/** The loop's time on `clock` (sd_event_now): the same for everything one wake-up does. */
uint64_t manager_now(const struct manager *m, clockid_t clock);
int manager_new(const char *config_path, struct manager **ret);
struct manager *manager_free(struct manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct manager *, manager_free);
/** Loads the configuration, brings up hardware and starts connecting. On a
 * configuration error (every problem already logged) it sets m->config_invalid. */
int manager_start(struct manager *m);
int manager_run(struct manager *m);
int manager_reload(struct manager *m);
void manager_update_status(struct manager *m);

/* entity-*.c: each kind has _new() (which claims its hardware and, for sensors,
 * schedules the first reading) and _free() (NULL-safe, releases it). */
int input_new(struct manager *m, const struct config_input *c, const char *base, bool may_wait,
              struct input **ret);
struct input *input_free(struct input *in);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct input *, input_free);
struct hal_input_config input_hal_config(const struct config_input *c);
int input_publish(struct input *in, enum mqtt_msg_class cls);

int output_new(struct manager *m, const struct config_output *c, const char *base, bool may_wait,
               struct output **ret);
/** `shutdown`: the daemon stops (the state it goes to is published). */
struct output *output_free(struct output *out, bool shutdown);
struct hal_output_config output_hal_config(const struct config_output *c);
void output_stop(struct output *out, bool shutdown);
int output_publish(struct output *out, enum mqtt_msg_class cls);
int output_command(struct output *out, const struct mqtt_message *msg, char *err, size_t errsize);

int sensor_new(struct manager *m, const struct config_sensor *c, size_t index, const char *base,
               struct sensor **ret);
struct sensor *sensor_free(struct sensor *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sensor *, sensor_free);
bool sensor_config_same(const struct config_sensor *a, const struct config_sensor *b);
void sensor_stop(struct sensor *s);
int sensor_publish_last(struct sensor *s, enum mqtt_msg_class cls);
int sensor_request_read(struct sensor *s);

/* message-router.c */
void manager_handle_message(struct manager *m, const struct mqtt_message *msg);
/** True if a message of this cause may be logged now (and says how many were not). */
bool manager_log_allowed(struct manager *m, struct log_ratelimit *rl, const char *what);
void manager_sort_refs(struct manager *m);

/* reload.c */
void gateway_topics_clear(struct gateway_topics *t);
/** Switches to `config` completely (the manager owns it then) or, on failure, changes
 * nothing (the caller still owns it). The HAL must be running. */
int manager_apply_config(struct manager *m, struct config *config);
bool manager_hal_options_changed(const struct config *a, const struct config *b);

/* manager.c, for reload.c and message-router.c */
extern const struct mqtt_link_callbacks manager_link_callbacks;
void manager_publish_all_states(struct manager *m);
int manager_format_stats(struct manager *m, char *buf, size_t size);
void manager_announce(struct manager *m);
void manager_announce_soon(struct manager *m);
/** Publishes BASE/stats; returns the payload's length (it is in m->buf) or -errno. */
int manager_publish_stats(struct manager *m);
