/* SPDX-License-Identifier: MIT */
/* Routes incoming MQTT messages: BASE/<entity>/set and /get, BASE/stats/get, and Home
 * Assistant's birth message. Everything here is untrusted input: a bad command is
 * answered on BASE/error (and the MQTT 5 response topic, when that is allowed) and
 * never stops the loop. A message only ever acts on the entity its own topic names,
 * and a reply only goes to a response topic under the configured prefix. */
#include <stdio.h>

#include "set-payload.h"
#include "log.h"
#include "manager.h"
#include "payload.h"
#include "topic.h"
#include "utf8.h"

/* How much of a topic an error reply or a log line quotes. */
#define QUOTED_TOPIC_MAX 120

static int ref_compare(const void *a, const void *b) {
        const struct entity_ref *x = a, *y = b;

        return strcmp(x->name, y->name);
}

static const struct entity_ref *find_entity(struct manager *m, const char *name, size_t len) {
        char key[128];
        struct entity_ref k = { .name = key };

        if (len >= sizeof(key))
                return NULL;
        memcpy(key, name, len);
        key[len] = '\0';
        return bsearch(&k, m->refs, m->n_refs, sizeof(*m->refs), ref_compare);
}

/* Anyone on the broker can send commands: each cause of a log line has its own limit,
 * so a flood of one kind cannot fill the journal nor hide the others. */
bool manager_log_allowed(struct manager *m, struct log_ratelimit *rl, const char *what) {
        unsigned suppressed = 0;
        uint64_t now = 0;
        bool ok;

        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        ok = log_ratelimit_test(rl, now, &suppressed);
        if (ok && suppressed > 0)
                log_warning("%u messages about %s were not logged (too many)", suppressed, what);
        return ok;
}

/* The length of at most QUOTED_TOPIC_MAX bytes of `topic`, cut at a character
 * boundary; *cut says whether anything was left out. */
static size_t quoted_topic_len(const char *topic, bool *cut) {
        size_t len = strlen(topic), n = 0;

        while (n < len) {
                size_t k = utf8_char_length((const uint8_t *) topic + n, len - n);

                if (k == 0)
                        k = 1;          /* escaped as U+FFFD by the JSON writer */
                if (n + k > QUOTED_TOPIC_MAX)
                        break;
                n += k;
        }
        *cut = n < len;
        return n;
}

/* The response topic of a request, or NULL when there is none or it is not one we may
 * publish to: replies go only under the configured prefix, so a command cannot make
 * the gateway write onto another entity's state or a discovery topic. */
static const char *reply_topic(struct manager *m, const struct mqtt_message *msg) {
        const char *prefix = m->topics.response_prefix;

        if (!msg->response_topic || !prefix || !prefix[0])
                return NULL;
        if (streq(prefix, "#") || strncmp(msg->response_topic, prefix, strlen(prefix)) == 0)
                return msg->response_topic;
        return NULL;
}

static void reply(struct manager *m, const struct mqtt_message *msg, const char *payload, size_t len) {
        if (reply_topic(m, msg))
                (void) mqtt_link_reply(m->link, msg, payload, len);
}

static void reply_error(struct manager *m, const struct mqtt_message *msg, const char *error) {
        char topic[QUOTED_TOPIC_MAX + 4], name[65];
        const char *entity = NULL, *verb;
        size_t n, entity_len;
        bool cut;
        int len;

        m->command_errors++;
        n = quoted_topic_len(msg->topic, &cut);
        snprintf(topic, sizeof(topic), "%.*s%s", (int) n, msg->topic, cut ? "..." : "");
        /* BASE/<entity>/<verb>: the entity as the topic names it, known or not, cut
         * at a character boundary to the 64 bytes the "unknown entity" error quotes. */
        if (topic_split_command(m->topics.base, msg->topic, &entity, &entity_len, &verb) == 0) {
                size_t k = 0;

                while (k < entity_len) {
                        size_t c = utf8_char_length((const uint8_t *) entity + k, entity_len - k) ?: 1;

                        if (k + c > sizeof(name) - 1)
                                break;
                        k += c;
                }
                memcpy(name, entity, k);
                name[k] = '\0';
                entity = name;
        }
        if (manager_log_allowed(m, &m->log_rejected, "rejected commands"))
                log_entity_full(LOG_WARNING, 0, entity, topic, "rejected command on %s: %s", topic, error);
        len = format_error_json(topic, strlen(topic), error, m->buf, sizeof(m->buf));
        if (len < 0)
                return;
        (void) mqtt_link_publish(m->link, m->topics.error, m->buf, (size_t) len, m->config->qos,
                                 /* retain= */ false, MQTT_MSG_VOLATILE);
        reply(m, msg, m->buf, (size_t) len);
}

static void reply_state(struct manager *m, const struct mqtt_message *msg, const char *entity, bool on) {
        int len;

        if (!reply_topic(m, msg))
                return;
        len = snprintf(m->buf, sizeof(m->buf), "{\"entity\":\"%s\",\"state\":\"%s\"}", entity,
                       on ? "ON" : "OFF");
        if (len > 0 && (size_t) len < sizeof(m->buf))
                reply(m, msg, m->buf, (size_t) len);
}

static void handle_set(struct manager *m, const struct entity_ref *e, const struct mqtt_message *msg) {
        struct output *out = e->entity;
        char err[160] = "";
        int r;

        if (e->kind != ENTITY_OUTPUT) {
                snprintf(err, sizeof(err), "entity '%s' is not an output", e->name);
                return reply_error(m, msg, err);
        }
        r = output_command(out, msg, err, sizeof(err));
        if (r < 0)
                return reply_error(m, msg, err[0] ? err : "command failed");
        if (manager_log_allowed(m, &m->log_accepted, "accepted commands"))
                log_entity_full(LOG_INFO, 0, e->name, msg->topic, "output %s: %s", e->name,
                                hal_output_value(out->hal) ? "ON" : "OFF");
        reply_state(m, msg, e->name, hal_output_value(out->hal));
}

/* /get: the state topic gets the current state again; a response topic gets it too. */
static void handle_get(struct manager *m, const struct entity_ref *e, const struct mqtt_message *msg) {
        struct input *in;
        struct output *out;
        struct sensor *s;

        switch (e->kind) {
        case ENTITY_INPUT:
                in = e->entity;
                if (!in->hal)
                        return reply_error(m, msg, "the input has no line yet; retrying");
                (void) input_publish(in, MQTT_MSG_REFRESH);
                reply_state(m, msg, e->name, in->value);
                break;
        case ENTITY_OUTPUT:
                out = e->entity;
                if (!out->hal)
                        return reply_error(m, msg, "the output has no line yet; retrying");
                (void) output_publish(out, MQTT_MSG_REFRESH);
                reply_state(m, msg, e->name, hal_output_value(out->hal));
                break;
        case ENTITY_SENSOR:
                s = e->entity;
                (void) sensor_request_read(s);
                if (s->payload_len > 0)
                        reply(m, msg, s->payload, (size_t) s->payload_len);
                else if (reply_topic(m, msg))
                        reply_error(m, msg, "no reading yet: it is published on the state topic when it completes");
                break;
        }
}

/* A retained message on a command topic is a leftover (a switch misconfigured to
 * retain, or any client): it would run again at every reconnect. Applied only when
 * asked for, at the first connection after start; said once per topic otherwise. */
static bool retained_command_ignored(struct manager *m, const struct mqtt_message *msg) {
        uint64_t h = 1469598103934665603ULL;   /* FNV-1a, to remember what was said */
        size_t i;

        if (!msg->retained)
                return false;
        if (m->config->retained_commands == RETAINED_COMMANDS_APPLY_ONCE && m->connections <= 1)
                return false;

        for (const char *p = msg->topic; *p; p++)
                h = (h ^ (uint8_t) *p) * 1099511628211ULL;
        for (i = 0; i < m->n_retained_seen; i++)
                if (m->retained_seen[i] == h)
                        return true;
        /* A ring: a flood of distinct topics forgets the oldest, and the rate limit
         * below still bounds what is logged. */
        m->retained_seen[m->retained_next] = h;
        m->retained_next = (m->retained_next + 1) % ELEMENTSOF(m->retained_seen);
        m->n_retained_seen = MIN(m->n_retained_seen + 1, ELEMENTSOF(m->retained_seen));
        if (manager_log_allowed(m, &m->log_retained, "retained commands"))
                log_entity_full(LOG_WARNING, 0, NULL, msg->topic,
                                "ignoring the retained command on %.*s%s; clear it with an empty retained "
                                "message (mosquitto_pub -r -n -t '%.*s') or set retained_commands = apply-once",
                                QUOTED_TOPIC_MAX, msg->topic, strlen(msg->topic) > QUOTED_TOPIC_MAX ? "..." : "",
                                QUOTED_TOPIC_MAX, msg->topic);
        return true;
}

void manager_handle_message(struct manager *m, const struct mqtt_message *request) {
        struct mqtt_message msg = *request;
        const char *entity, *verb;
        const struct entity_ref *e;
        size_t entity_len;
        char err[160];

        if (m->topics.ha_status && streq(msg.topic, m->topics.ha_status)) {
                if (msg.len == 6 && memcmp(msg.payload, "online", 6) == 0) {
                        if (manager_log_allowed(m, &m->log_announce, "Home Assistant birth messages"))
                                log_info("Home Assistant is online, announcing entities again");
                        manager_announce_soon(m);
                }
                return;
        }

        if (retained_command_ignored(m, &msg))
                return;

        m->commands++;
        if (msg.response_topic && !reply_topic(m, &msg)) {
                /* The command itself may be fine: it runs, but no reply goes there. */
                m->command_errors++;
                if (manager_log_allowed(m, &m->log_reply_refused, "refused response topics"))
                        log_entity_full(LOG_WARNING, 0, NULL, msg.topic,
                                        "not replying to %.*s: response topic '%.*s' is not under "
                                        "response_topic_prefix '%s'",
                                        QUOTED_TOPIC_MAX, msg.topic, QUOTED_TOPIC_MAX, msg.response_topic,
                                        m->topics.response_prefix ?: "");
                msg.response_topic = NULL;
                msg.correlation_data = NULL;
                msg.correlation_len = 0;
        }

        if (topic_split_command(m->topics.base, msg.topic, &entity, &entity_len, &verb) < 0)
                return reply_error(m, &msg, "unknown topic");

        if (entity_len == 5 && memcmp(entity, "stats", 5) == 0 && streq(verb, "get")) {
                int len = manager_publish_stats(m);

                if (len > 0)
                        reply(m, &msg, m->buf, (size_t) len);
                return;
        }

        e = find_entity(m, entity, entity_len);
        if (!e) {
                snprintf(err, sizeof(err), "unknown entity '%.*s'", (int) MIN(entity_len, 64), entity);
                return reply_error(m, &msg, err);
        }

        if (streq(verb, "set"))
                handle_set(m, e, &msg);
        else if (streq(verb, "get"))
                handle_get(m, e, &msg);
        else
                reply_error(m, &msg, "unknown command");
}

void manager_sort_refs(struct manager *m) {
        qsort(m->refs, m->n_refs, sizeof(*m->refs), ref_compare);
}
