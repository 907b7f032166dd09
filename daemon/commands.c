/* Routes incoming MQTT messages: BASE/<entity>/set and /get, BASE/stats/get, and Home
 * Assistant's birth message. Everything here is untrusted input: a bad command is
 * answered on BASE/error (and the MQTT 5 response topic) and never stops the loop. */
#include <stdio.h>
#include <time.h>

#include "command.h"
#include "log.h"
#include "manager.h"
#include "payload.h"
#include "topic.h"

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

/* Anyone on the broker can send commands: what they make us log is rate-limited and
 * topics are shortened, so a flood cannot fill the journal. */
static bool command_log_allowed(struct manager *m) {
        struct timespec ts;
        unsigned suppressed = 0;
        bool ok;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ok = log_ratelimit_test(&m->command_log,
                                (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC,
                                &suppressed);
        if (ok && suppressed > 0)
                log_warning("%u command messages were not logged (too many)", suppressed);
        return ok;
}

static void reply_error(struct manager *m, const struct mqtt_message *msg, const char *error) {
        int len;

        m->command_errors++;
        if (command_log_allowed(m))
                log_entity_full(LOG_WARNING, 0, NULL, msg->topic, "rejected command on %.128s: %s",
                                msg->topic, error);
        len = format_error_json(msg->topic, strlen(msg->topic), error, m->buf, sizeof(m->buf));
        if (len < 0)
                return;
        (void) mqtt_link_publish(m->link, m->error_topic, m->buf, (size_t) len, m->config->qos,
                                 /* retain= */ false, MQTT_MSG_VOLATILE);
        if (msg->response_topic)
                (void) mqtt_link_reply(m->link, msg, m->buf, (size_t) len);
}

static void reply_ok(struct manager *m, const struct mqtt_message *msg, const char *entity, bool on) {
        int len;

        if (!msg->response_topic)
                return;
        len = snprintf(m->buf, sizeof(m->buf), "{\"entity\":\"%s\",\"state\":\"%s\"}", entity,
                       on ? "ON" : "OFF");
        if (len > 0 && (size_t) len < sizeof(m->buf))
                (void) mqtt_link_reply(m->link, msg, m->buf, (size_t) len);
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
        if (command_log_allowed(m))
                log_entity_full(LOG_INFO, 0, e->name, msg->topic, "output %s: %s", e->name,
                                hal_output_value(out->hal) ? "ON" : "OFF");
        reply_ok(m, msg, e->name, hal_output_value(out->hal));
}

static void handle_get(struct manager *m, const struct entity_ref *e) {
        switch (e->kind) {
        case ENTITY_INPUT:
                (void) input_publish(e->entity);
                break;
        case ENTITY_OUTPUT:
                (void) output_publish(e->entity);
                break;
        case ENTITY_SENSOR:
                (void) sensor_request_read(e->entity);
                break;
        }
}

void manager_handle_message(struct manager *m, const struct mqtt_message *msg) {
        const char *entity, *verb;
        const struct entity_ref *e;
        size_t entity_len;
        char err[160];

        if (m->ha_status_topic && streq(msg->topic, m->ha_status_topic)) {
                if (msg->len == 6 && memcmp(msg->payload, "online", 6) == 0) {
                        log_info("Home Assistant is online, announcing entities again");
                        manager_announce(m);
                }
                return;
        }

        m->commands++;
        if (topic_split_command(m->base, msg->topic, &entity, &entity_len, &verb) < 0)
                return reply_error(m, msg, "unknown topic");

        if (entity_len == 5 && memcmp(entity, "stats", 5) == 0 && streq(verb, "get")) {
                manager_publish_stats(m);
                return;
        }

        e = find_entity(m, entity, entity_len);
        if (!e) {
                snprintf(err, sizeof(err), "unknown entity '%.*s'", (int) MIN(entity_len, 64), entity);
                return reply_error(m, msg, err);
        }

        if (streq(verb, "set"))
                handle_set(m, e, msg);
        else if (streq(verb, "get"))
                handle_get(m, e);
        else
                reply_error(m, msg, "unknown command");
}

void manager_sort_refs(struct manager *m) {
        qsort(m->refs, m->n_refs, sizeof(*m->refs), ref_compare);
}
