/* SPDX-License-Identifier: MIT */
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

/* RELOADING=1 wants the time the notification is sent, not the loop's: sd_notify(3). */
static uint64_t now_monotonic(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

uint64_t manager_now(const struct manager *m, clockid_t clock) {
        uint64_t t = 0;

        /* Fails only for a clock the loop does not know (a bug, caught by the tests) or
         * in a forked child: 0 rather than whatever the stack held. */
        (void) sd_event_now(m->event, clock, &t);
        return t;
}

/* status, stats, discovery */

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

int manager_format_stats(struct manager *m, char *buf, size_t size) {
        struct mqtt_link_stats st = {};
        struct gateway_stats gs;
        int len;

        mqtt_link_get_stats(m->link, &st);
        gs = (struct gateway_stats) {
                .sent = st.sent, .queued = st.queued, .dropped = st.dropped,
                .reconnects = st.reconnects, .read_errors = m->read_errors,
                .commands = m->commands, .command_errors = m->command_errors,
                .uptime_sec = (manager_now(m, CLOCK_MONOTONIC) - m->start_usec) / USEC_PER_SEC,
                .connected = st.connected, .rejected = st.rejected,
                .edges_lost = m->hal ? hal_edges_lost(m->hal) : 0,
        };
        len = format_stats_json(&gs, buf, size);
        return len;
}

int manager_publish_stats(struct manager *m) {
        int len;

        len = manager_format_stats(m, m->buf, sizeof(m->buf));
        if (len < 0)
                return len;
        (void) mqtt_link_publish(m->link, m->topics.stats, m->buf, (size_t) len, m->config->qos,
                                 /* retain= */ true, MQTT_MSG_VOLATILE);
        return len;
}

static int on_stats_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        uint64_t now = usec;

        (void) manager_publish_stats(m);
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
                .base = m->topics.base,
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

/* Home Assistant's birth message asks for the announcement again. A second later, so
 * that a flood of them (each is only a few bytes) makes one announcement, not one
 * each: later ones find it pending. */
#define ANNOUNCE_DELAY_USEC USEC_PER_SEC

static int on_announce(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_announce(userdata);
        return 0;
}

void manager_announce_soon(struct manager *m) {
        uint64_t now;
        int enabled = SD_EVENT_OFF, r;

        if (m->announce_event) {
                r = sd_event_source_get_enabled(m->announce_event, &enabled);
                if (r >= 0 && enabled != SD_EVENT_OFF)
                        return;                 /* one pending already */
                r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
                if (r >= 0)
                        r = sd_event_source_set_time(m->announce_event, now + ANNOUNCE_DELAY_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->announce_event, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(m->event, &m->announce_event, CLOCK_MONOTONIC,
                                               ANNOUNCE_DELAY_USEC, USEC_PER_SEC / 10, on_announce, m);
        if (r < 0) {
                log_warning_errno(r, "Cannot schedule the announcement, announcing now: %m");
                manager_announce(m);
        }
}

/* MQTT link */

/* Current states again (after a connect or a reload): coalesced with any pending
 * re-publication of the same entity, never evicting a real change. */
void manager_publish_all_states(struct manager *m) {
        for (size_t i = 0; i < m->n_inputs; i++)
                (void) input_publish(m->inputs[i], MQTT_MSG_REFRESH);
        for (size_t i = 0; i < m->n_outputs; i++)
                (void) output_publish(m->outputs[i], MQTT_MSG_REFRESH);
        for (size_t i = 0; i < m->n_sensors; i++)
                (void) sensor_publish_last(m->sensors[i], MQTT_MSG_REFRESH);
}

static void on_connected(struct mqtt_link *link, void *userdata) {
        struct manager *m = userdata;

        m->connections++;
        log_info("Connected to MQTT broker %s", mqtt_link_peer(link));
        (void) mqtt_link_publish(link, m->topics.status, "online", 6, 1, /* retain= */ true,
                                 MQTT_MSG_VOLATILE);
        /* A broker that restarted without persistence lost every retained state:
         * publish them all again, so nothing reads "unknown". */
        manager_publish_all_states(m);
        manager_announce(m);
        (void) manager_publish_stats(m);
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

const struct mqtt_link_callbacks manager_link_callbacks = {
        .connected = on_connected,
        .disconnected = on_disconnected,
        .message = on_message,
};

/* configuration */

static int load_config(const char *path, struct config **ret) {
        struct config_errors errors = {};
        int r;

        r = config_load(path, ret, &errors);
        if (r >= 0) {
                r = config_check_files(*ret, &errors);
                if (r < 0)
                        *ret = config_free(*ret);
        }
        for (size_t i = 0; i < errors.n; i++)
                log_error("%s", errors.messages[i]);
        config_errors_clear(&errors);
        return r;
}

static int manager_start_hal(struct manager *m, const struct config *c) {
        struct hal_options o = {
                .backend = c->hal,
                .sim_socket = c->sim_socket,
                .sim_drift = c->sim_drift,
                .consumer = "iotgwd",
        };
        int r;

        r = hal_new(m->event, &o, &m->hal);
        if (r < 0)
                return log_error_errno(r, "Cannot start the '%s' hardware backend: %m", c->hal);
        return 0;
}

int manager_start(struct manager *m) {
        _cleanup_(config_freep) struct config *c = NULL;
        int r;

        r = load_config(m->config_path, &c);
        if (r < 0) {
                m->config_invalid = true;
                return r;
        }

        r = manager_start_hal(m, c);
        if (r < 0)
                return r;
        r = manager_apply_config(m, c);
        if (r < 0)
                return r;
        TAKE_PTR(c);            /* m->config now */

        r = sd_event_add_time_relative(m->event, &m->stats_timer, CLOCK_MONOTONIC,
                                       m->config->stats_interval_usec, USEC_PER_SEC,
                                       on_stats_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot add stats timer: %m");
        (void) sd_event_source_set_enabled(m->stats_timer, SD_EVENT_ON);

        log_info("iotgwd %s started: %zu inputs, %zu outputs, %zu sensors on %s, broker %s",
                 PACKAGE_VERSION, m->n_inputs, m->n_outputs, m->n_sensors, hal_backend_name(m->hal),
                 mqtt_link_peer(m->link));
        sd_notify(false, "READY=1");
        manager_update_status(m);
        return 0;
}

/* SIGHUP: a new configuration replaces the running one completely, or not at all. */
int manager_reload(struct manager *m) {
        _cleanup_(config_freep) struct config *fresh = NULL;
        int r;

        sd_notifyf(false, "RELOADING=1\nSTATUS=reloading %s\nMONOTONIC_USEC=%" PRIu64,
                   m->config_path, now_monotonic());
        log_info("Reloading configuration from %s", m->config_path);

        r = load_config(m->config_path, &fresh);
        if (r < 0)
                log_error("Configuration %s is invalid, keeping the running configuration", m->config_path);
        else if (manager_hal_options_changed(m->config, fresh)) {
                /* The running backend holds every line the new one would request. */
                log_error("Reload refused: [gateway] hal, sim_socket and sim_drift only change on a restart "
                          "(systemctl restart iotgwd); keeping the running configuration");
                r = -EINVAL;
        } else {
                r = manager_apply_config(m, fresh);
                if (r < 0)
                        log_error_errno(r, "Reload failed, keeping the running configuration: %m");
                else {
                        TAKE_PTR(fresh);
                        log_info("Configuration reloaded: %zu inputs, %zu outputs, %zu sensors",
                                 m->n_inputs, m->n_outputs, m->n_sensors);
                }
        }

        /* systemd hears that the reload is over either way. */
        sd_notify(false, "READY=1");
        manager_update_status(m);
        return r;
}

/* signals and life cycle */

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

/* SIGUSR1: the statistics into the journal now, e.g. while the broker is away. */
static void manager_log_stats(struct manager *m) {
        char buf[sizeof(m->buf)];

        if (manager_format_stats(m, buf, sizeof(buf)) > 0)
                log_info("Statistics: %s", buf);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;

        switch (si->ssi_signo) {
        case SIGHUP:
                if (!m->shutting_down)
                        (void) manager_reload(m);
                return 0;
        case SIGUSR1:
                manager_log_stats(m);
                return 0;
        case SIGUSR2:
                return 0;       /* reserved; must not kill the daemon */
        default:
                manager_stop(m);
                return 0;
        }
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
        m->log_rejected = m->log_accepted = m->log_reply_refused = m->log_retained = m->log_announce =
                (struct log_ratelimit) LOG_RATELIMIT_INIT(10 * USEC_PER_SEC, 20);

        r = sd_event_new(&m->event);
        if (r < 0)
                return r;
        m->start_usec = manager_now(m, CLOCK_MONOTONIC);
        r = sd_event_add_signal(m->event, &m->sigterm, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sigint, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sighup, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sigusr1, SIGUSR1 | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sigusr2, SIGUSR2 | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
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
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_inputs; i++)
                input_free(m->inputs[i]);
        for (size_t i = 0; i < m->n_outputs; i++)
                output_free(m->outputs[i], /* shutdown= */ false);
        for (size_t i = 0; i < m->n_sensors; i++)
                sensor_free(m->sensors[i]);
        free(m->inputs);
        free(m->outputs);
        free(m->sensors);
        free(m->refs);
        m->stats_timer = sd_event_source_disable_unref(m->stats_timer);
        m->announce_event = sd_event_source_disable_unref(m->announce_event);
        m->sigterm = sd_event_source_disable_unref(m->sigterm);
        m->sigint = sd_event_source_disable_unref(m->sigint);
        m->sighup = sd_event_source_disable_unref(m->sighup);
        m->sigusr1 = sd_event_source_disable_unref(m->sigusr1);
        m->sigusr2 = sd_event_source_disable_unref(m->sigusr2);
        m->link = mqtt_link_free(m->link);
        m->hal = hal_free(m->hal);
        discovery_free_topics(m->discovery_topics, m->n_discovery_topics);
        gateway_topics_clear(&m->topics);
        config_free(m->config);
        free(m->config_path);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
