/* SPDX-License-Identifier: MIT */
/* Applying a configuration, at start-up and on SIGHUP, all or nothing.
 *
 * The new entities, topics and MQTT link are built beside the running ones. A line the
 * running configuration already holds (same chip and line) is handed over without
 * being released, its settings changed in place when they differ; new lines are
 * requested fresh. Only when every step succeeded does the manager switch over and
 * release what the new configuration no longer names. On any failure the lines
 * changed in place get their old settings back, everything new is freed, and the
 * running configuration goes on as if nothing happened. */
#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"
#include "topic.h"

/* Where an entity of the new configuration comes from, for undoing. */
enum origin {
        ORIGIN_NEW,               /* made for it: freed on failure */
        ORIGIN_KEPT,              /* handed over as it was */
        ORIGIN_RECONFIGURED,      /* handed over, its line's settings changed in place */
};

/* What the new configuration will run with, until it is switched to or dropped. */
struct transition {
        struct manager *m;
        struct config *config;

        struct gateway_topics topics;
        struct mqtt_link *link;              /* new, or NULL: the running one stays */
        size_t n_inputs, n_outputs, n_sensors;   /* of config, also once it is handed on */
        /* At start-up a line that cannot be requested is retried later; a reload that
         * cannot request one changes nothing. */
        bool may_wait;

        /* Indexed like config->inputs etc.: an old entity handed over, or a new one. */
        struct input **inputs;
        struct output **outputs;
        struct sensor **sensors;
        char **input_topics, **output_topics, **sensor_topics;  /* for handed-over ones */
        enum origin *input_origin, *output_origin, *sensor_origin;
        /* Per old entity: taken over by the new configuration. */
        bool *old_input_taken, *old_output_taken, *old_sensor_taken;
        struct entity_ref *refs;
        size_t n_refs;
};

void gateway_topics_clear(struct gateway_topics *t) {
        t->base = mfree(t->base);
        t->status = mfree(t->status);
        t->error = mfree(t->error);
        t->stats = mfree(t->stats);
        t->ha_status = mfree(t->ha_status);
        t->response_prefix = mfree(t->response_prefix);
}

static int gateway_topics_build(const struct config *c, struct gateway_topics *t) {
        if (topic_build(&t->base, c->topic_prefix, c->name, NULL) < 0 ||
            topic_build(&t->status, t->base, "status", NULL) < 0 ||
            topic_build(&t->error, t->base, "error", NULL) < 0 ||
            topic_build(&t->stats, t->base, "stats", NULL) < 0)
                return log_oom();
        if (c->discovery == DISCOVERY_HOMEASSISTANT &&
            topic_build(&t->ha_status, c->discovery_prefix, "status", NULL) < 0)
                return log_oom();
        /* By default replies go under BASE/reply/: a topic nobody else publishes state on. */
        if (c->response_topic_prefix)
                t->response_prefix = strdup(c->response_topic_prefix);
        else if (asprintf(&t->response_prefix, "%s/reply/", t->base) < 0)
                t->response_prefix = NULL;
        if (!t->response_prefix)
                return log_oom();
        return 0;
}

static bool same_line(const char *chip_a, const char *line_a, const char *chip_b, const char *line_b) {
        return streq(chip_a, chip_b) && streq(line_a, line_b);
}

static bool input_settings_same(const struct config_input *a, const struct config_input *b) {
        return a->bias == b->bias && a->active_low == b->active_low && a->edge == b->edge &&
               a->debounce_usec == b->debounce_usec;
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

bool manager_hal_options_changed(const struct config *a, const struct config *b) {
        return !streq(a->hal, b->hal) || !streq_ptr(a->sim_socket, b->sim_socket) ||
               a->sim_drift != b->sim_drift;
}

#define NEW_ARRAY(p, n) ((p) = calloc((n) ?: 1, sizeof(*(p))))

static int transition_alloc(struct transition *t, const struct manager *m) {
        const struct config *c = t->config;

        t->n_inputs = c->n_inputs;
        t->n_outputs = c->n_outputs;
        t->n_sensors = c->n_sensors;
        if (!NEW_ARRAY(t->inputs, c->n_inputs) || !NEW_ARRAY(t->outputs, c->n_outputs) ||
            !NEW_ARRAY(t->sensors, c->n_sensors) || !NEW_ARRAY(t->input_topics, c->n_inputs) ||
            !NEW_ARRAY(t->output_topics, c->n_outputs) || !NEW_ARRAY(t->sensor_topics, c->n_sensors) ||
            !NEW_ARRAY(t->input_origin, c->n_inputs) || !NEW_ARRAY(t->output_origin, c->n_outputs) ||
            !NEW_ARRAY(t->sensor_origin, c->n_sensors) ||
            !NEW_ARRAY(t->old_input_taken, m->n_inputs) || !NEW_ARRAY(t->old_output_taken, m->n_outputs) ||
            !NEW_ARRAY(t->old_sensor_taken, m->n_sensors) ||
            !NEW_ARRAY(t->refs, c->n_inputs + c->n_outputs + c->n_sensors))
                return log_oom();
        return 0;
}

/* Frees what the transition holds. Handed-over entities belong to the manager, and
 * an undone transition has put their settings back before. */
static void transition_free(struct transition *t) {
        for (size_t i = 0; t->input_topics && i < t->n_inputs; i++)
                free(t->input_topics[i]);
        for (size_t i = 0; t->output_topics && i < t->n_outputs; i++)
                free(t->output_topics[i]);
        for (size_t i = 0; t->sensor_topics && i < t->n_sensors; i++)
                free(t->sensor_topics[i]);
        free(t->inputs);
        free(t->outputs);
        free(t->sensors);
        free(t->input_topics);
        free(t->output_topics);
        free(t->sensor_topics);
        free(t->input_origin);
        free(t->output_origin);
        free(t->sensor_origin);
        free(t->old_input_taken);
        free(t->old_output_taken);
        free(t->old_sensor_taken);
        free(t->refs);
        gateway_topics_clear(&t->topics);
        t->link = mqtt_link_free(t->link);
}

/* Puts back what was changed in place and frees what was made new. */
static void transition_undo(struct transition *t) {
        for (size_t i = 0; t->inputs && t->input_origin && i < t->n_inputs; i++) {
                struct input *in = t->inputs[i];

                if (!in)
                        continue;
                if (t->input_origin[i] == ORIGIN_NEW) {
                        input_free(in);
                        continue;
                }
                if (t->input_origin[i] == ORIGIN_RECONFIGURED) {
                        struct hal_input_config old = input_hal_config(in->config);
                        int r = hal_input_reconfigure(in->hal, &old);

                        if (r < 0)
                                log_entity_full(LOG_ERR, r, in->config->name, NULL,
                                                "input %s: cannot restore the settings of line %s: %m",
                                                in->config->name, in->config->line);
                }
        }
        for (size_t i = 0; t->outputs && t->output_origin && i < t->n_outputs; i++) {
                struct output *out = t->outputs[i];

                if (!out)
                        continue;
                if (t->output_origin[i] == ORIGIN_NEW) {
                        output_free(out, /* shutdown= */ false);
                        continue;
                }
                if (t->output_origin[i] == ORIGIN_RECONFIGURED) {
                        struct hal_output_config old = output_hal_config(out->config);
                        int r = hal_output_reconfigure(out->hal, &old, hal_output_value(out->hal));

                        if (r < 0)
                                log_entity_full(LOG_ERR, r, out->config->name, NULL,
                                                "output %s: cannot restore the settings of line %s: %m",
                                                out->config->name, out->config->line);
                }
        }
        for (size_t i = 0; t->sensors && t->sensor_origin && i < t->n_sensors; i++)
                if (t->sensor_origin[i] == ORIGIN_NEW)
                        sensor_free(t->sensors[i]);
}

static void add_ref(struct transition *t, const char *name, enum entity_kind kind, void *e) {
        t->refs[t->n_refs++] = (struct entity_ref) { .name = name, .kind = kind, .entity = e };
}

static int prepare_inputs(struct transition *t) {
        const struct config *c = t->config;
        struct manager *m = t->m;
        int r;

        for (size_t i = 0; i < c->n_inputs; i++) {
                const struct config_input *ci = &c->inputs[i];
                struct input *old = NULL;

                for (size_t j = 0; j < m->n_inputs && !old; j++)
                        if (!t->old_input_taken[j] &&
                            same_line(m->inputs[j]->config->chip, m->inputs[j]->config->line, ci->chip, ci->line)) {
                                t->old_input_taken[j] = true;
                                old = m->inputs[j];
                        }

                if (!old) {
                        r = input_new(m, ci, t->topics.base, t->may_wait, &t->inputs[i]);
                        if (r < 0)
                                return r;
                        continue;
                }

                t->inputs[i] = old;
                t->input_origin[i] = ORIGIN_KEPT;
                if (topic_build(&t->input_topics[i], t->topics.base, ci->name, "state", NULL) < 0)
                        return log_oom();
                /* One still waiting for its line requests it with the new settings. */
                if (old->hal && !input_settings_same(old->config, ci)) {
                        struct hal_input_config hc = input_hal_config(ci);

                        r = hal_input_reconfigure(old->hal, &hc);
                        if (r < 0)
                                return log_entity_full(LOG_ERR, r, ci->name, NULL,
                                                       "input %s: cannot change the settings of line %s of chip %s (%s:%u): %m",
                                                       ci->name, ci->line, ci->chip, ci->origin.file, ci->origin.line);
                        t->input_origin[i] = ORIGIN_RECONFIGURED;
                }
        }
        return 0;
}

static int prepare_outputs(struct transition *t) {
        const struct config *c = t->config;
        struct manager *m = t->m;
        int r;

        for (size_t i = 0; i < c->n_outputs; i++) {
                const struct config_output *co = &c->outputs[i];
                struct output *old = NULL;

                for (size_t j = 0; j < m->n_outputs && !old; j++)
                        if (!t->old_output_taken[j] &&
                            same_line(m->outputs[j]->config->chip, m->outputs[j]->config->line, co->chip, co->line)) {
                                t->old_output_taken[j] = true;
                                old = m->outputs[j];
                        }

                if (!old) {
                        r = output_new(m, co, t->topics.base, t->may_wait, &t->outputs[i]);
                        if (r < 0)
                                return r;
                        continue;
                }

                t->outputs[i] = old;
                t->output_origin[i] = ORIGIN_KEPT;
                if (topic_build(&t->output_topics[i], t->topics.base, co->name, "state", NULL) < 0)
                        return log_oom();
                /* The output keeps its state: `initial` is for a line requested fresh. */
                if (old->hal && old->config->active_low != co->active_low) {
                        struct hal_output_config hc = output_hal_config(co);

                        r = hal_output_reconfigure(old->hal, &hc, hal_output_value(old->hal));
                        if (r < 0)
                                return log_entity_full(LOG_ERR, r, co->name, NULL,
                                                       "output %s: cannot change the settings of line %s of chip %s (%s:%u): %m",
                                                       co->name, co->line, co->chip, co->origin.file, co->origin.line);
                        t->output_origin[i] = ORIGIN_RECONFIGURED;
                }
        }
        return 0;
}

static int prepare_sensors(struct transition *t) {
        const struct config *c = t->config;
        struct manager *m = t->m;
        int r;

        for (size_t i = 0; i < c->n_sensors; i++) {
                const struct config_sensor *cs = &c->sensors[i];
                struct sensor *old = NULL;

                for (size_t j = 0; j < m->n_sensors && !old; j++)
                        if (!t->old_sensor_taken[j] && sensor_config_same(m->sensors[j]->config, cs)) {
                                t->old_sensor_taken[j] = true;
                                old = m->sensors[j];
                        }

                if (!old) {
                        r = sensor_new(m, cs, i, t->topics.base, &t->sensors[i]);
                        if (r < 0)
                                return r;
                        continue;
                }
                t->sensors[i] = old;
                t->sensor_origin[i] = ORIGIN_KEPT;
                if (topic_build(&t->sensor_topics[i], t->topics.base, cs->name, "state", NULL) < 0)
                        return log_oom();
        }
        return 0;
}

static int create_link(struct manager *m, const struct config *c, const struct gateway_topics *topics,
                       struct mqtt_link **ret) {
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
                .will_topic = topics->status,
                .will_payload = "offline",
                .queue_max_messages = c->queue_max_messages,
                .queue_max_bytes = c->queue_max_bytes,
        };
        _cleanup_(freep) char *set = NULL, *get = NULL;
        struct mqtt_link *link = NULL;
        int r;

        r = mqtt_link_new(m->event, &o, &manager_link_callbacks, m, &link);
        if (r < 0)
                return log_error_errno(r, "Cannot create MQTT client: %m");

        if (topic_build(&set, topics->base, "+", "set", NULL) < 0 ||
            topic_build(&get, topics->base, "+", "get", NULL) < 0)
                r = log_oom();
        if (r >= 0)
                r = mqtt_link_subscribe(link, set, c->qos);
        if (r >= 0)
                r = mqtt_link_subscribe(link, get, c->qos);
        if (r >= 0 && topics->ha_status)
                r = mqtt_link_subscribe(link, topics->ha_status, c->qos);
        if (r < 0) {
                mqtt_link_free(link);
                return log_error_errno(r, "Cannot subscribe: %m");
        }
        *ret = link;
        return 0;
}

static int transition_prepare(struct transition *t) {
        struct manager *m = t->m;
        int r;

        r = transition_alloc(t, m);
        if (r < 0)
                return r;
        r = gateway_topics_build(t->config, &t->topics);
        if (r < 0)
                return r;
        if (!m->link || link_options_changed(m->config, t->config)) {
                r = create_link(m, t->config, &t->topics, &t->link);
                if (r < 0)
                        return r;
        }
        r = prepare_inputs(t);
        if (r >= 0)
                r = prepare_outputs(t);
        if (r >= 0)
                r = prepare_sensors(t);
        if (r < 0)
                return r;

        for (size_t i = 0; i < t->config->n_inputs; i++)
                add_ref(t, t->config->inputs[i].name, ENTITY_INPUT, t->inputs[i]);
        for (size_t i = 0; i < t->config->n_outputs; i++)
                add_ref(t, t->config->outputs[i].name, ENTITY_OUTPUT, t->outputs[i]);
        for (size_t i = 0; i < t->config->n_sensors; i++)
                add_ref(t, t->config->sensors[i].name, ENTITY_SENSOR, t->sensors[i]);
        return 0;
}

static void swap_ptr(char **a, char **b) {
        char *x = *a;

        *a = *b;
        *b = x;
}

/* Nothing here can fail: the switch-over is complete once it begins. */
static void transition_commit(struct transition *t) {
        struct manager *m = t->m;
        struct config *c = t->config;
        struct config *previous = m->config;
        struct gateway_topics topics;

        /* Entities the new configuration does not name, with the old configuration
         * they still point at. A removed output goes to its on_shutdown state. */
        for (size_t j = 0; j < m->n_inputs; j++)
                if (!t->old_input_taken[j])
                        input_free(m->inputs[j]);
        for (size_t j = 0; j < m->n_outputs; j++)
                if (!t->old_output_taken[j])
                        output_free(m->outputs[j], /* shutdown= */ false);
        for (size_t j = 0; j < m->n_sensors; j++)
                if (!t->old_sensor_taken[j])
                        sensor_free(m->sensors[j]);

        /* Handed-over entities take their new configuration and topics; the old topics
         * are freed with the transition. */
        for (size_t i = 0; i < c->n_inputs; i++) {
                struct input *in = t->inputs[i];

                in->config = &c->inputs[i];
                if (t->input_topics[i])
                        swap_ptr(&in->state_topic, &t->input_topics[i]);
                if (in->hal)
                        in->value = hal_input_value(in->hal);
        }
        for (size_t i = 0; i < c->n_outputs; i++) {
                t->outputs[i]->config = &c->outputs[i];
                if (t->output_topics[i])
                        swap_ptr(&t->outputs[i]->state_topic, &t->output_topics[i]);
        }
        for (size_t i = 0; i < c->n_sensors; i++) {
                t->sensors[i]->config = &c->sensors[i];
                t->sensors[i]->index = i;
                if (t->sensor_topics[i])
                        swap_ptr(&t->sensors[i]->state_topic, &t->sensor_topics[i]);
        }

        free(m->inputs);
        free(m->outputs);
        free(m->sensors);
        free(m->refs);
        m->inputs = TAKE_PTR(t->inputs);
        m->n_inputs = c->n_inputs;
        m->outputs = TAKE_PTR(t->outputs);
        m->n_outputs = c->n_outputs;
        m->sensors = TAKE_PTR(t->sensors);
        m->n_sensors = c->n_sensors;
        m->refs = TAKE_PTR(t->refs);
        m->n_refs = t->n_refs;
        manager_sort_refs(m);

        topics = m->topics;                     /* the old ones go with the transition */
        m->topics = t->topics;
        t->topics = topics;

        if (t->link) {
                struct mqtt_link *old = m->link;

                m->link = TAKE_PTR(t->link);
                t->link = old;          /* freed with the transition */
        }
        m->config = TAKE_PTR(t->config);
        config_free(previous);
}

int manager_apply_config(struct manager *m, struct config *fresh) {
        struct transition t = { .m = m, .config = fresh, .may_wait = !m->config };
        bool new_link;
        int r;

        r = transition_prepare(&t);
        if (r < 0) {
                transition_undo(&t);
                transition_free(&t);
                return r;
        }
        new_link = t.link;
        transition_commit(&t);
        transition_free(&t);

        if (new_link) {
                /* It announces and publishes every state once connected. */
                r = mqtt_link_start(m->link);
                if (r < 0)
                        return log_error_errno(r, "Cannot start MQTT client: %m");
        } else if (mqtt_link_connected(m->link)) {
                manager_publish_all_states(m);
                manager_announce(m);
        }
        return 0;
}
