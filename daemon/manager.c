/* The manager: owns the loop, the configuration, the HAL, the MQTT link and the
 * entities; handles the systemd life cycle (notify, watchdog, reload, stop). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "discovery.h"
#include "log.h"
#include "manager.h"
#include "payload.h"
#include "topic.h"

/* How long a stop may wait for the broker to acknowledge what is queued. */
#define SHUTDOWN_FLUSH_USEC (5 * USEC_PER_SEC)

static uint64_t now_monotonic(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* ---- entity sets ---- */

struct entity_set {
        struct input **inputs;
        size_t n_inputs;
        struct output **outputs;
        size_t n_outputs;
        struct sensor **sensors;
        size_t n_sensors;
};

static void entity_set_take(struct manager *m, struct entity_set *s) {
        *s = (struct entity_set) {
                .inputs = TAKE_PTR(m->inputs), .n_inputs = m->n_inputs,
                .outputs = TAKE_PTR(m->outputs), .n_outputs = m->n_outputs,
                .sensors = TAKE_PTR(m->sensors), .n_sensors = m->n_sensors,
        };
        m->n_inputs = m->n_outputs = m->n_sensors = 0;
}

static void input_free(struct input *in) {
        if (!in)
                return;
        input_stop(in);
        free(in->state_topic);
        free(in);
}

static void output_free(struct output *out, bool shutdown) {
        if (!out)
                return;
        output_stop(out, shutdown);
        free(out->state_topic);
        free(out);
}

static void sensor_free(struct sensor *s) {
        if (!s)
                return;
        sensor_stop(s);
        free(s->state_topic);
        free(s);
}

/* Frees what is left in a set (entities a reload did not carry over). */
static void entity_set_clear(struct entity_set *s, bool shutdown) {
        for (size_t i = 0; i < s->n_inputs; i++)
                input_free(s->inputs[i]);
        for (size_t i = 0; i < s->n_outputs; i++)
                output_free(s->outputs[i], shutdown);
        for (size_t i = 0; i < s->n_sensors; i++)
                sensor_free(s->sensors[i]);
        free(s->inputs);
        free(s->outputs);
        free(s->sensors);
        *s = (struct entity_set) {};
}

static bool input_same_line(const struct config_input *a, const struct config_input *b) {
        return streq(a->name, b->name) && streq(a->chip, b->chip) && streq(a->line, b->line) &&
               a->bias == b->bias && a->active_low == b->active_low && a->edge == b->edge &&
               a->debounce_usec == b->debounce_usec;
}

static bool output_same_line(const struct config_output *a, const struct config_output *b) {
        return streq(a->name, b->name) && streq(a->chip, b->chip) && streq(a->line, b->line) &&
               a->active_low == b->active_low;
}

static struct input *take_input(struct entity_set *old, const struct config_input *c) {
        for (size_t i = 0; old && i < old->n_inputs; i++)
                if (old->inputs[i] && input_same_line(old->inputs[i]->config, c))
                        return TAKE_PTR(old->inputs[i]);
        return NULL;
}

static struct output *take_output(struct entity_set *old, const struct config_output *c) {
        for (size_t i = 0; old && i < old->n_outputs; i++)
                if (old->outputs[i] && output_same_line(old->outputs[i]->config, c))
                        return TAKE_PTR(old->outputs[i]);
        return NULL;
}

static int add_ref(struct manager *m, const char *name, enum entity_kind kind, void *e) {
        m->refs[m->n_refs++] = (struct entity_ref) { .name = name, .kind = kind, .entity = e };
        return 0;
}

/* Creates the entities of m->config. On a reload (`old` given), unchanged inputs and
 * outputs keep their line requests, so a reload never glitches an output; everything
 * else in `old` is released first, so a line whose settings changed can be requested
 * again. At start-up a line that cannot be requested is fatal; on a reload it is
 * logged and that entity left out, so one bad line does not take the others down. */
static int manager_create_entities(struct manager *m, struct entity_set *old) {
        const struct config *c = m->config;
        _cleanup_(freep) struct input **kept_inputs = NULL;
        _cleanup_(freep) struct output **kept_outputs = NULL;
        bool reload = old;
        int r;

        m->inputs = calloc(c->n_inputs ?: 1, sizeof(*m->inputs));
        m->outputs = calloc(c->n_outputs ?: 1, sizeof(*m->outputs));
        m->sensors = calloc(c->n_sensors ?: 1, sizeof(*m->sensors));
        m->refs = calloc(c->n_inputs + c->n_outputs + c->n_sensors + 1, sizeof(*m->refs));
        kept_inputs = calloc(c->n_inputs ?: 1, sizeof(*kept_inputs));
        kept_outputs = calloc(c->n_outputs ?: 1, sizeof(*kept_outputs));
        m->n_refs = 0;
        if (!m->inputs || !m->outputs || !m->sensors || !m->refs || !kept_inputs || !kept_outputs)
                return log_oom();

        for (size_t i = 0; i < c->n_inputs; i++)
                kept_inputs[i] = take_input(old, &c->inputs[i]);
        for (size_t i = 0; i < c->n_outputs; i++)
                kept_outputs[i] = take_output(old, &c->outputs[i]);
        if (old)
                entity_set_clear(old, /* shutdown= */ false);

        for (size_t i = 0; i < c->n_inputs; i++) {
                struct input *in = TAKE_PTR(kept_inputs[i]);
                bool kept = in;

                if (!in && !(in = calloc(1, sizeof(*in))))
                        return log_oom();
                in->manager = m;
                in->config = &c->inputs[i];
                in->state_topic = mfree(in->state_topic);
                r = topic_build(&in->state_topic, m->base, in->config->name, "state", NULL);
                if (r >= 0 && !kept)
                        r = input_start(in);
                if (r < 0) {
                        input_free(in);
                        if (!reload)
                                return r;
                        continue;
                }
                m->inputs[m->n_inputs++] = in;
                add_ref(m, in->config->name, ENTITY_INPUT, in);
        }

        for (size_t i = 0; i < c->n_outputs; i++) {
                struct output *out = TAKE_PTR(kept_outputs[i]);
                bool kept = out;

                if (!out && !(out = calloc(1, sizeof(*out))))
                        return log_oom();
                out->manager = m;
                out->config = &c->outputs[i];
                out->state_topic = mfree(out->state_topic);
                r = topic_build(&out->state_topic, m->base, out->config->name, "state", NULL);
                if (r >= 0 && !kept)
                        r = output_start(out);
                if (r < 0) {
                        output_free(out, /* shutdown= */ false);
                        if (!reload)
                                return r;
                        continue;
                }
                m->outputs[m->n_outputs++] = out;
                add_ref(m, out->config->name, ENTITY_OUTPUT, out);
        }

        for (size_t i = 0; i < c->n_sensors; i++) {
                struct sensor *s = calloc(1, sizeof(*s));

                if (!s)
                        return log_oom();
                s->manager = m;
                s->config = &c->sensors[i];
                s->index = i;
                r = topic_build(&s->state_topic, m->base, s->config->name, "state", NULL);
                if (r >= 0)
                        r = sensor_start(s);
                if (r < 0) {
                        sensor_free(s);
                        if (!reload)
                                return r;
                        continue;
                }
                m->sensors[m->n_sensors++] = s;
                add_ref(m, s->config->name, ENTITY_SENSOR, s);
        }

        manager_sort_refs(m);
        return 0;
}

/* ---- topics ---- */

static void manager_free_topics(struct manager *m) {
        m->base = mfree(m->base);
        m->status_topic = mfree(m->status_topic);
        m->error_topic = mfree(m->error_topic);
        m->stats_topic = mfree(m->stats_topic);
        m->ha_status_topic = mfree(m->ha_status_topic);
}

static int manager_build_topics(struct manager *m) {
        const struct config *c = m->config;

        if (topic_build(&m->base, c->topic_prefix, c->name, NULL) < 0 ||
            topic_build(&m->status_topic, m->base, "status", NULL) < 0 ||
            topic_build(&m->error_topic, m->base, "error", NULL) < 0 ||
            topic_build(&m->stats_topic, m->base, "stats", NULL) < 0)
                return log_oom();
        if (c->discovery == DISCOVERY_HOMEASSISTANT &&
            topic_build(&m->ha_status_topic, c->discovery_prefix, "status", NULL) < 0)
                return log_oom();
        return 0;
}

/* ---- status, stats, discovery ---- */

void manager_update_status(struct manager *m) {
        struct mqtt_link_stats st = {};
        size_t n = m->n_inputs + m->n_outputs + m->n_sensors;

        if (m->link)
                mqtt_link_get_stats(m->link, &st);
        if (st.connected)
                sd_notifyf(false, "STATUS=connected to %s, %zu entities, %" PRIu64 " messages sent",
                           mqtt_link_peer(m->link), n, st.sent);
        else
                sd_notifyf(false, "STATUS=connecting to %s, %zu entities, %" PRIu64 " messages queued",
                           m->link ? mqtt_link_peer(m->link) : "broker", n, st.queued);
}

void manager_publish_stats(struct manager *m) {
        struct mqtt_link_stats st = {};
        struct gateway_stats gs;
        int len;

        mqtt_link_get_stats(m->link, &st);
        gs = (struct gateway_stats) {
                .sent = st.sent, .queued = st.queued, .dropped = st.dropped,
                .reconnects = st.reconnects, .read_errors = m->read_errors,
                .commands = m->commands, .command_errors = m->command_errors,
                .uptime_sec = (now_monotonic() - m->start_usec) / USEC_PER_SEC,
                .connected = st.connected, .rejected = st.rejected,
        };
        len = format_stats_json(&gs, m->buf, sizeof(m->buf));
        if (len < 0)
                return;
        (void) mqtt_link_publish(m->link, m->stats_topic, m->buf, (size_t) len, m->config->qos,
                                 /* retain= */ true, MQTT_MSG_VOLATILE);
}

static int on_stats_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        uint64_t now = usec;

        manager_publish_stats(m);
        manager_update_status(m);
        /* From now, not from when it was due: after a stall, no burst of catch-ups. */
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(s, MAX(usec, now) + m->config->stats_interval_usec);
        return 0;
}

static const struct quantity_info *sensor_quantities(void *userdata, size_t index, size_t *n) {
        struct manager *m = userdata;

        *n = 0;
        /* A sensor left out by a failed reload is missing from the array. */
        for (size_t i = 0; i < m->n_sensors; i++)
                if (m->sensors[i]->index == index) {
                        *n = m->sensors[i]->n_quantities;
                        return m->sensors[i]->quantities;
                }
        return NULL;
}

static int emit_discovery(void *userdata, const char *topic, const char *payload, size_t len) {
        struct manager *m = userdata;

        return mqtt_link_publish(m->link, topic, payload, len, m->config->qos, /* retain= */ true,
                                 MQTT_MSG_VOLATILE);
}

/* Publishes the discovery configs and removes those of entities that are gone. */
void manager_announce(struct manager *m) {
        struct discovery_info info = {
                .config = m->config,
                .base = m->base,
                .sw_version = PACKAGE_VERSION,
                .quantities = sensor_quantities,
                .userdata = m,
        };
        char **topics = NULL;
        size_t n = 0;
        int r;

        if (!mqtt_link_connected(m->link))
                return;

        r = discovery_topics(&info, &topics, &n);
        if (r < 0) {
                log_warning_errno(r, "Cannot list discovery topics, ignoring: %m");
                return;
        }
        if (m->discovery_topics)
                (void) discovery_remove_stale(m->discovery_topics, m->n_discovery_topics, topics, n,
                                              emit_discovery, m);
        discovery_free_topics(m->discovery_topics, m->n_discovery_topics);
        m->discovery_topics = topics;
        m->n_discovery_topics = n;

        r = discovery_announce(&info, emit_discovery, m);
        if (r < 0)
                log_warning_errno(r, "Cannot announce entities to Home Assistant, ignoring: %m");
}

/* ---- MQTT link ---- */

static void publish_all_states(struct manager *m) {
        for (size_t i = 0; i < m->n_inputs; i++)
                (void) input_publish(m->inputs[i]);
        for (size_t i = 0; i < m->n_outputs; i++)
                (void) output_publish(m->outputs[i]);
        for (size_t i = 0; i < m->n_sensors; i++)
                (void) sensor_publish_last(m->sensors[i]);
}

static int manager_subscribe(struct manager *m) {
        _cleanup_(freep) char *set = NULL, *get = NULL;
        int r;

        if (topic_build(&set, m->base, "+", "set", NULL) < 0 ||
            topic_build(&get, m->base, "+", "get", NULL) < 0)
                return log_oom();
        r = mqtt_link_subscribe(m->link, set, m->config->qos);
        if (r >= 0)
                r = mqtt_link_subscribe(m->link, get, m->config->qos);
        if (r >= 0 && m->ha_status_topic)
                r = mqtt_link_subscribe(m->link, m->ha_status_topic, m->config->qos);
        if (r < 0)
                return log_error_errno(r, "Cannot subscribe: %m");
        return 0;
}

static void on_connected(struct mqtt_link *link, void *userdata) {
        struct manager *m = userdata;

        log_info("Connected to MQTT broker %s", mqtt_link_peer(link));
        (void) mqtt_link_publish(link, m->status_topic, "online", 6, 1, /* retain= */ true,
                                 MQTT_MSG_VOLATILE);
        /* A broker that restarted without persistence lost every retained state:
         * publish them all again, so nothing reads "unknown". */
        publish_all_states(m);
        manager_announce(m);
        manager_publish_stats(m);
        manager_update_status(m);
}

static void on_disconnected(struct mqtt_link *link, void *userdata) {
        manager_update_status(userdata);
}

static void on_message(struct mqtt_link *link, const struct mqtt_message *msg, void *userdata) {
        struct manager *m = userdata;

        if (!m->shutting_down)
                manager_handle_message(m, msg);
}

static int manager_create_link(struct manager *m) {
        const struct config *c = m->config;
        struct mqtt_link_options o = {
                .host = c->host,
                .port = c->port,
                .client_id = c->client_id,
                .username = c->username,
                .password = c->password,
                .tls_ca_file = c->tls_ca_file,
                .tls_cert_file = c->tls_cert_file,
                .tls_key_file = c->tls_key_file,
                .keepalive = c->keepalive,
                .protocol_v5 = c->protocol == MQTT_PROTOCOL_5,
                .will_topic = m->status_topic,
                .will_payload = "offline",
                .queue_max_messages = c->queue_max_messages,
                .queue_max_bytes = c->queue_max_bytes,
        };
        static const struct mqtt_link_callbacks callbacks = {
                .connected = on_connected,
                .disconnected = on_disconnected,
                .message = on_message,
        };
        int r;

        r = mqtt_link_new(m->event, &o, &callbacks, m, &m->link);
        if (r < 0)
                return log_error_errno(r, "Cannot create MQTT client: %m");
        return manager_subscribe(m);
}

static bool link_options_changed(const struct config *a, const struct config *b) {
        return !streq(a->name, b->name) || !streq(a->topic_prefix, b->topic_prefix) ||
               !streq(a->host, b->host) || a->port != b->port ||
               !streq_ptr(a->client_id, b->client_id) || !streq_ptr(a->username, b->username) ||
               !streq_ptr(a->password, b->password) || !streq_ptr(a->tls_ca_file, b->tls_ca_file) ||
               !streq_ptr(a->tls_cert_file, b->tls_cert_file) ||
               !streq_ptr(a->tls_key_file, b->tls_key_file) || a->keepalive != b->keepalive ||
               a->protocol != b->protocol || a->queue_max_messages != b->queue_max_messages ||
               a->queue_max_bytes != b->queue_max_bytes || a->discovery != b->discovery ||
               !streq(a->discovery_prefix, b->discovery_prefix) || a->qos != b->qos;
}

static bool hal_options_changed(const struct config *a, const struct config *b) {
        return !streq(a->hal, b->hal) || !streq_ptr(a->sim_socket, b->sim_socket) ||
               a->sim_drift != b->sim_drift;
}

/* ---- configuration ---- */

static int load_config(const char *path, struct config **ret) {
        struct config_errors errors = {};
        int r;

        r = config_load(path, ret, &errors);
        for (size_t i = 0; i < errors.n; i++)
                log_error("%s", errors.messages[i]);
        config_errors_clear(&errors);
        return r;
}

static int manager_start_hal(struct manager *m) {
        struct hal_options o = {
                .backend = m->config->hal,
                .sim_socket = m->config->sim_socket,
                .sim_drift = m->config->sim_drift,
                .consumer = "iotgwd",
        };
        int r;

        r = hal_new(m->event, &o, &m->hal);
        if (r < 0)
                return log_error_errno(r, "Cannot start the '%s' hardware backend: %m", m->config->hal);
        return 0;
}

int manager_start(struct manager *m) {
        int r;

        r = load_config(m->config_path, &m->config);
        if (r < 0) {
                m->config_invalid = true;
                return r;
        }

        r = manager_build_topics(m);
        if (r < 0)
                return r;
        r = manager_start_hal(m);
        if (r < 0)
                return r;
        r = manager_create_link(m);
        if (r < 0)
                return r;
        r = manager_create_entities(m, NULL);
        if (r < 0)
                return r;

        r = sd_event_add_time_relative(m->event, &m->stats_timer, CLOCK_MONOTONIC,
                                       m->config->stats_interval_usec, USEC_PER_SEC,
                                       on_stats_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot add stats timer: %m");
        (void) sd_event_source_set_enabled(m->stats_timer, SD_EVENT_ON);

        r = mqtt_link_start(m->link);
        if (r < 0)
                return log_error_errno(r, "Cannot start MQTT client: %m");

        log_info("iotgwd %s started: %zu inputs, %zu outputs, %zu sensors on %s, broker %s",
                 PACKAGE_VERSION, m->n_inputs, m->n_outputs, m->n_sensors, hal_backend_name(m->hal),
                 mqtt_link_peer(m->link));
        sd_notify(false, "READY=1");
        manager_update_status(m);
        return 0;
}

/* New [mqtt] settings (or a new topic base) need a new client. It is set up before the
 * old one goes, so settings that cannot work (an unreadable CA file) leave the
 * running connection in place instead of none at all. */
static void manager_replace_link(struct manager *m) {
        struct mqtt_link *previous = TAKE_PTR(m->link);
        int r;

        r = manager_create_link(m);
        if (r >= 0)
                r = mqtt_link_start(m->link);
        if (r < 0) {
                m->link = mqtt_link_free(m->link);
                m->link = previous;
                log_error_errno(r, "Cannot use the new [mqtt] settings, keeping the running connection: %m");
                return;
        }
        mqtt_link_free(previous);
}

/* SIGHUP: a valid new configuration replaces the running one; an invalid one is
 * reported and the running one stays. */
int manager_reload(struct manager *m) {
        struct entity_set old = {};
        struct config *fresh = NULL, *previous;
        bool new_hal, new_link;
        int r;

        sd_notifyf(false, "RELOADING=1\nSTATUS=reloading %s\nMONOTONIC_USEC=%" PRIu64,
                   m->config_path, now_monotonic());
        log_info("Reloading configuration from %s", m->config_path);

        r = load_config(m->config_path, &fresh);
        if (r < 0) {
                log_error("Configuration %s is invalid, keeping the running configuration", m->config_path);
                sd_notify(false, "READY=1");
                manager_update_status(m);
                return r;
        }

        previous = m->config;
        new_hal = hal_options_changed(previous, fresh);
        new_link = link_options_changed(previous, fresh);

        entity_set_take(m, &old);
        m->refs = mfree(m->refs);
        m->n_refs = 0;
        if (new_hal) {
                entity_set_clear(&old, /* shutdown= */ false);
                m->hal = hal_free(m->hal);
        }

        m->config = fresh;
        manager_free_topics(m);
        r = manager_build_topics(m);
        if (r >= 0 && new_link)
                manager_replace_link(m);
        if (r >= 0 && !m->hal)
                r = manager_start_hal(m);
        if (r >= 0)
                r = manager_create_entities(m, &old);
        /* Entities left in `old` are gone from the configuration; they still point at
         * the previous config, so free them before it. */
        entity_set_clear(&old, /* shutdown= */ false);
        config_free(previous);
        /* Whatever failed was logged where it failed; the daemon runs on with what it
         * could set up, and systemd must hear that the reload is over. */
        if (r < 0)
                log_error_errno(r, "Reload incomplete, running with %zu inputs, %zu outputs, %zu sensors: %m",
                                m->n_inputs, m->n_outputs, m->n_sensors);

        if (mqtt_link_connected(m->link)) {
                publish_all_states(m);
                manager_announce(m);
        }
        if (r >= 0)
                log_info("Configuration reloaded: %zu inputs, %zu outputs, %zu sensors",
                         m->n_inputs, m->n_outputs, m->n_sensors);
        sd_notify(false, "READY=1");
        manager_update_status(m);
        return r;
}

/* ---- signals and life cycle ---- */

static void on_link_shut(struct mqtt_link *link, void *userdata) {
        struct manager *m = userdata;

        (void) sd_event_exit(m->event, 0);
}

static void manager_stop(struct manager *m) {
        int r;

        if (m->shutting_down) {
                /* Second signal: do not wait for the broker any longer. */
                (void) sd_event_exit(m->event, 0);
                return;
        }
        m->shutting_down = true;
        sd_notify(false, "STOPPING=1\nSTATUS=stopping");
        log_info("Stopping");

        for (size_t i = 0; i < m->n_sensors; i++)
                sensor_stop(m->sensors[i]);
        /* Outputs go to their on_shutdown state and say so before "offline". */
        for (size_t i = 0; i < m->n_outputs; i++)
                output_stop(m->outputs[i], /* shutdown= */ true);

        r = mqtt_link_shutdown(m->link, "offline", SHUTDOWN_FLUSH_USEC, on_link_shut);
        if (r < 0)
                (void) sd_event_exit(m->event, 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                if (!m->shutting_down)
                        (void) manager_reload(m);
                return 0;
        }
        manager_stop(m);
        return 0;
}

int manager_new(const char *config_path, struct manager **ret) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->config_path = strdup(config_path);
        if (!m->config_path)
                return -ENOMEM;
        m->start_usec = now_monotonic();
        m->command_log = (struct log_ratelimit) LOG_RATELIMIT_INIT(10 * USEC_PER_SEC, 20);

        r = sd_event_new(&m->event);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, &m->sigterm, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sigint, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sighup, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r < 0)
                return r;
        /* WATCHDOG=1 at half of WatchdogSec=, from the loop itself: a stuck loop is noticed. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_run(struct manager *m) {
        return sd_event_loop(m->event);
}

struct manager *manager_free(struct manager *m) {
        struct entity_set all;

        if (!m)
                return NULL;
        entity_set_take(m, &all);
        entity_set_clear(&all, /* shutdown= */ false);
        free(m->refs);
        m->stats_timer = sd_event_source_disable_unref(m->stats_timer);
        m->sigterm = sd_event_source_disable_unref(m->sigterm);
        m->sigint = sd_event_source_disable_unref(m->sigint);
        m->sighup = sd_event_source_disable_unref(m->sighup);
        m->link = mqtt_link_free(m->link);
        m->hal = hal_free(m->hal);
        discovery_free_topics(m->discovery_topics, m->n_discovery_topics);
        manager_free_topics(m);
        config_free(m->config);
        free(m->config_path);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
