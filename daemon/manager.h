/* The manager owns the event loop and everything on it: the configuration, the HAL,
 * the MQTT link and the entities (inputs, outputs, sensors). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "log.h"
#include "hal.h"
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
        struct hal_input *hal;
        char *state_topic;
        bool value;
};

struct output {
        struct manager *manager;
        const struct config_output *config;
        struct hal_output *hal;
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

struct manager {
        sd_event *event;
        char *config_path;
        struct config *config;
        struct hal *hal;
        struct mqtt_link *link;

        char *base;                 /* <topic_prefix>/<name> */
        char *status_topic;
        char *error_topic;
        char *stats_topic;
        char **discovery_topics;    /* what was announced, for removal on reload */
        size_t n_discovery_topics;
        char *ha_status_topic;      /* <discovery_prefix>/status */

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

        sd_event_source *sigterm, *sigint, *sighup;
        sd_event_source *stats_timer;

        uint64_t start_usec;        /* CLOCK_MONOTONIC */
        uint64_t read_errors;
        uint64_t commands;
        uint64_t command_errors;
        struct log_ratelimit command_log;   /* commands come from anyone on the broker */
        bool shutting_down;
        bool config_invalid;        /* manager_start() failed on the configuration */
        char buf[1024];             /* scratch for stats and error payloads */
};

int manager_new(const char *config_path, struct manager **ret);
struct manager *manager_free(struct manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct manager *, manager_free);
/** Loads the configuration, brings up hardware and starts connecting. On a
 * configuration error (every problem already logged) it sets m->config_invalid. */
int manager_start(struct manager *m);
int manager_run(struct manager *m);
int manager_reload(struct manager *m);
void manager_update_status(struct manager *m);

/* entity-*.c */
int input_start(struct input *in);
void input_stop(struct input *in);
int input_publish(struct input *in);
int output_start(struct output *out);
void output_stop(struct output *out, bool shutdown);
int output_publish(struct output *out);
int output_command(struct output *out, const struct mqtt_message *msg, char *err, size_t errsize);
int sensor_start(struct sensor *s);
void sensor_stop(struct sensor *s);
int sensor_publish_last(struct sensor *s);
int sensor_request_read(struct sensor *s);

/* commands.c */
void manager_handle_message(struct manager *m, const struct mqtt_message *msg);
void manager_sort_refs(struct manager *m);

/* manager.c, for commands.c */
void manager_announce(struct manager *m);
void manager_publish_stats(struct manager *m);
