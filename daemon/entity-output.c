/* SPDX-License-Identifier: MIT */
/* A GPIO output entity: commands on BASE/<name>/set, timed pulses, its state echoed. An
 * output whose line could not be requested at start-up waits for it, retrying, and
 * refuses commands meanwhile. */
#include <stdio.h>

#include "set-payload.h"
#include "log.h"
#include "manager.h"
#include "topic.h"

/* Pulses are timed by the user: sd-event's default accuracy (250 ms) would stretch them. */
#define PULSE_ACCURACY_USEC 1000

int output_publish(struct output *out, enum mqtt_msg_class cls) {
        const char *p;

        if (!out->hal)
                return 0;       /* nothing driven, nothing to report */
        p = hal_output_value(out->hal) ? "ON" : "OFF";
        return mqtt_link_publish(out->manager->link, out->state_topic, p, strlen(p),
                                 out->manager->config->qos, /* retain= */ true, cls);
}

/* Moves the line, then says so. Only the move can fail the command: a state that could
 * not be queued is counted by the link and does not undo what the line did. */
static int output_drive(struct output *out, bool value) {
        int r;

        r = hal_output_set(out->hal, value);
        if (r < 0)
                return log_entity_full(LOG_ERR, r, out->config->name, NULL,
                                       "output %s: cannot set %s: %m", out->config->name,
                                       value ? "ON" : "OFF");
        (void) output_publish(out, MQTT_MSG_STATE);
        return 0;
}

static int on_pulse_end(sd_event_source *s, uint64_t usec, void *userdata) {
        struct output *out = userdata;

        out->pulse_timer = sd_event_source_disable_unref(out->pulse_timer);
        (void) output_drive(out, out->pulse_restore);
        return 0;
}

int output_command(struct output *out, const struct mqtt_message *msg, char *err, size_t errsize) {
        struct command cmd;
        bool value, previous;
        int r;

        r = command_parse(msg->payload, msg->len, out->config->max_pulse_usec, &cmd, err, errsize);
        if (r < 0)
                return r;
        if (!out->hal) {
                snprintf(err, errsize, "output %s has no line yet (%s); retrying", out->config->name,
                         strerror(-out->retry.error));
                return -ENODEV;
        }

        /* Any new command replaces a pulse still running; its end goes back to the
         * level from before that pulse. */
        if (out->pulse_timer)
                previous = out->pulse_restore;
        else
                previous = hal_output_value(out->hal);
        out->pulse_timer = sd_event_source_disable_unref(out->pulse_timer);

        switch (cmd.action) {
        case COMMAND_ON:
                value = true;
                break;
        case COMMAND_OFF:
                value = false;
                break;
        default:
                value = !hal_output_value(out->hal);
                break;
        }

        r = output_drive(out, value);
        if (r < 0) {
                snprintf(err, errsize, "cannot drive the output: %s", strerror(-r));
                return r;
        }

        if (cmd.pulse_usec > 0) {
                /* A pulse holds the commanded state for pulse_ms, then goes back. */
                out->pulse_restore = previous;
                r = sd_event_add_time_relative(out->manager->event, &out->pulse_timer, CLOCK_MONOTONIC,
                                               cmd.pulse_usec, PULSE_ACCURACY_USEC, on_pulse_end, out);
                if (r < 0) {
                        /* A pulse that could not end must not leave the output on. */
                        (void) output_drive(out, previous);
                        snprintf(err, errsize, "cannot start the pulse timer: %s", strerror(-r));
                        return log_error_errno(r, "output %s: cannot start pulse timer: %m",
                                               out->config->name);
                }
        }
        return 0;
}

struct hal_output_config output_hal_config(const struct config_output *c) {
        return (struct hal_output_config) {
                .name = c->name,
                .chip = c->chip,
                .line = c->line,
                .active_low = c->active_low,
                .initial = c->initial,
        };
}

/* One request of the line, driving `initial` from the first moment; the first failure
 * is logged as an error, retries that fail again only at debug level. */
static int output_request(struct output *out, bool quiet) {
        const struct config_output *c = out->config;
        struct hal_output_config hc = output_hal_config(c);
        int r;

        r = hal_output_request(out->manager->hal, &hc, &out->hal);
        if (r < 0)
                return log_entity_full(quiet ? LOG_DEBUG : LOG_ERR, r, c->name, NULL,
                                       "output %s: cannot request line %s of chip %s (%s:%u): %m",
                                       c->name, c->line, c->chip, c->origin.file, c->origin.line);
        return 0;
}

/* A retry that got the line: said once, and the state is known from now on. */
static int output_retry_request(void *userdata) {
        struct output *out = userdata;
        int r;

        r = output_request(out, /* quiet= */ true);
        if (r < 0)
                return r;
        log_entity_full(LOG_NOTICE, 0, out->config->name, out->state_topic,
                        "output %s: line %s of chip %s requested after %u failed attempts", out->config->name,
                        out->config->line, out->config->chip, out->retry.failures);
        (void) output_publish(out, MQTT_MSG_STATE);
        return 0;
}

/* Requests the line, driving `initial` from the first moment. With `may_wait`, a line
 * that cannot be requested now is retried later instead. */
int output_new(struct manager *m, const struct config_output *c, const char *base, bool may_wait,
               struct output **ret) {
        struct output *out;
        int r;

        out = calloc(1, sizeof(*out));
        if (!out)
                return log_oom();
        out->manager = m;
        out->config = c;
        r = topic_build(&out->state_topic, base, c->name, "state", NULL);
        if (r < 0)
                r = log_oom();
        else
                r = output_request(out, /* quiet= */ may_wait);
        if (r < 0 && may_wait && r != -ENOMEM) {
                log_entity_full(LOG_ERR, r, c->name, NULL,
                                "output %s: cannot request line %s of chip %s (%s:%u): %m; serving the other "
                                "entities, retrying the line (after 1 s, then doubling up to 1 min)",
                                c->name, c->line, c->chip, c->origin.file, c->origin.line);
                r = line_retry_start(&out->retry, m->event, r, "output", output_retry_request, out);
                if (r < 0)
                        log_error_errno(r, "output %s: cannot schedule another request of its line: %m", c->name);
        }
        if (r < 0) {
                output_free(out, /* shutdown= */ false);
                return r;
        }
        *ret = out;
        return 0;
}

struct output *output_free(struct output *out, bool shutdown) {
        if (!out)
                return NULL;
        output_stop(out, shutdown);
        line_retry_clear(&out->retry);
        free(out->state_topic);
        free(out);
        return NULL;
}

/* On shutdown (or when a reload removes the output) the configured on_shutdown applies. */
void output_stop(struct output *out, bool shutdown) {
        out->pulse_timer = sd_event_source_disable_unref(out->pulse_timer);
        if (out->hal && !out->config->on_shutdown_keep && hal_output_value(out->hal)) {
                (void) hal_output_set(out->hal, false);
                if (shutdown)
                        (void) output_publish(out, MQTT_MSG_STATE);
        }
        out->hal = hal_output_free(out->hal);
}
