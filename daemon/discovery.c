/* SPDX-License-Identifier: MIT */
/* Home Assistant MQTT discovery: builds one config per entity (and per sensor quantity,
 * and per gateway statistic) and hands it to the caller to publish. See discovery.h.
 *
 * One walk over the configuration (foreach_config) serves both announcing and listing
 * topics, so the set of topics used to compute removals on reload can never drift from
 * what was announced. Nothing here is on the hot path: it runs at start-up, on reload
 * and when Home Assistant comes back, so building with json-c and allocating is fine. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put);

/* Counters of BASE/stats shown as diagnostic sensors. All count from the daemon's
 * start, so "total_increasing" lets Home Assistant treat a restart as a reset. */
static const struct stat_counter {
        const char *key;
        const char *name;
        const char *unit;
        const char *device_class;
        const char *icon;
} stat_counters[] = {
        { "sent",        "Messages sent",      NULL, NULL,       "mdi:upload-network" },
        { "dropped",     "Messages dropped",   NULL, NULL,       "mdi:delete-alert" },
        { "reconnects",  "Broker reconnects",  NULL, NULL,       "mdi:lan-connect" },
        { "read_errors", "Sensor read errors", NULL, NULL,       "mdi:alert-circle-outline" },
        { "uptime",      "Uptime",             "s",  "duration", NULL },
};

/* Device classes Home Assistant accepts for a switch; any other value makes it reject
 * the whole config, so an unknown one is left out instead of losing the entity. */
static const char *const switch_device_classes[] = { "outlet", "switch" };

/* Called for every config: topic always, payload only when building payloads. */
typedef int (*visit_t)(void *ud, const char *topic, struct json_object *payload);

/* names */

static bool is_topic_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

/* Home Assistant only accepts [a-zA-Z0-9_-] in the node_id and object_id levels of a
 * discovery topic; anything else becomes '_'. */
static char *topic_level(const char *a, const char *b) {
        char *s;

        if (asprintf(&s, b ? "%s_%s" : "%s", a, b) < 0)
                return NULL;
        for (char *p = s; *p; p++)
                if (!is_topic_char(*p))
                        *p = '_';
        return s;
}

/* An entity id as Home Assistant validates it: "<domain>.<slug>", the slug lowercase
 * [a-z0-9] words joined by single '_', none leading or trailing. An invalid one would
 * make Home Assistant reject the config, so every other byte separates words. */
static char *entity_id(const char *component, const char *const *parts, size_t n_parts) {
        size_t len = strlen(component) + 1, k;
        bool sep = false;
        char *s;

        for (size_t i = 0; i < n_parts; i++)
                if (parts[i])
                        len += strlen(parts[i]) + 1;
        s = malloc(len + strlen("iotgwd") + 1);
        if (!s)
                return NULL;

        k = (size_t) sprintf(s, "%s.", component);
        for (size_t i = 0; i < n_parts; i++) {
                if (!parts[i])
                        continue;
                for (const char *p = parts[i]; *p; p++) {
                        char c = *p;

                        if (c >= 'A' && c <= 'Z')
                                c = (char) (c - 'A' + 'a');
                        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                                if (sep && s[k - 1] != '.')
                                        s[k++] = '_';
                                s[k++] = c;
                                sep = false;
                        } else
                                sep = true;
                }
                sep = true;
        }
        if (s[k - 1] == '.')
                k += (size_t) sprintf(s + k, "iotgwd");
        s[k] = '\0';
        return s;
}

/* Jinja's attribute syntax only works for identifier-like keys; a sysfs quantity may be
 * named otherwise ("temp-1"), which needs the subscript form. */
static char *value_template(const char *key) {
        bool ident = (key[0] < '0' || key[0] > '9');
        char *s;
        int r;

        for (const char *p = key; *p; p++)
                if (!is_topic_char(*p) || *p == '-')
                        ident = false;
        if (ident)
                r = asprintf(&s, "{{ value_json.%s }}", key);
        else
                r = asprintf(&s, "{{ value_json['%s'] }}", key);
        return r < 0 ? NULL : s;
}

/* json-c helpers: each returns 0 or -ENOMEM and owns nothing afterwards */

static int add_obj(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_str(struct json_object *o, const char *key, const char *value) {
        return add_obj(o, key, json_object_new_string(value));
}

/* Only when set: an absent key lets Home Assistant use its own default. */
static int add_str_opt(struct json_object *o, const char *key, const char *value) {
        return value && *value ? add_str(o, key, value) : 0;
}

static int add_int(struct json_object *o, const char *key, int value) {
        return add_obj(o, key, json_object_new_int(value));
}

static int add_bool(struct json_object *o, const char *key, bool value) {
        return add_obj(o, key, json_object_new_boolean(value));
}

static int add_topic(struct json_object *o, const char *key, const char *base,
                     const char *entity, const char *leaf) {
        _cleanup_(freep) char *t = NULL;

        if (entity ? asprintf(&t, "%s/%s/%s", base, entity, leaf) < 0
                   : asprintf(&t, "%s/%s", base, leaf) < 0)
                return -ENOMEM;
        return add_str(o, key, t);
}

/* payloads */

/* Identifies the gateway as one device; identical in every config so that Home
 * Assistant groups all of them, and distinct per gateway name so that two gateways
 * never merge. */
static struct json_object *device_new(const struct discovery_info *info) {
        _cleanup_(json_object_putp) struct json_object *dev = json_object_new_object();
        _cleanup_(freep) char *id = NULL;
        struct json_object *ids;

        if (!dev || asprintf(&id, "iotgwd_%s", info->config->name) < 0)
                return NULL;
        ids = json_object_new_array();
        if (add_obj(dev, "identifiers", ids) < 0 ||
            json_object_array_add(ids, json_object_new_string(id)) < 0 ||
            !json_object_array_get_idx(ids, 0) ||
            add_str(dev, "name", info->config->name) < 0 ||
            add_str(dev, "manufacturer", "iotgwd") < 0 ||
            add_str(dev, "model", "iotgwd gateway") < 0 ||
            add_str_opt(dev, "sw_version", info->sw_version) < 0)
                return NULL;
        return TAKE_PTR(dev);
}

static struct json_object *availability_new(const struct discovery_info *info) {
        _cleanup_(json_object_putp) struct json_object *list = json_object_new_array();
        struct json_object *a = json_object_new_object();

        if (!list || !a || json_object_array_add(list, a) < 0) {
                json_object_put(a);
                return NULL;
        }
        if (add_topic(a, "topic", info->base, NULL, "status") < 0 ||
            add_str(a, "payload_available", "online") < 0 ||
            add_str(a, "payload_not_available", "offline") < 0)
                return NULL;
        return TAKE_PTR(list);
}

static struct json_object *origin_new(const struct discovery_info *info) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

        if (!o || add_str(o, "name", "iotgwd") < 0 ||
            add_str_opt(o, "sw_version", info->sw_version) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* The keys every config carries. unique_id keeps the configured names verbatim (any
 * string is valid there) so that it stays stable; default_entity_id only suggests the
 * entity id of a new entity, Home Assistant keeps whatever the user renamed it to. */
static struct json_object *payload_new(const struct discovery_info *info, const char *component,
                                       const char *entity, const char *suffix, const char *name) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        _cleanup_(freep) char *uid = NULL, *eid = NULL;
        const char *parts[] = { info->config->name, entity, suffix };

        if (!o)
                return NULL;
        if (asprintf(&uid, suffix ? "iotgwd_%s_%s_%s" : "iotgwd_%s_%s",
                     info->config->name, entity, suffix) < 0)
                return NULL;
        eid = entity_id(component, parts, ELEMENTSOF(parts));
        if (!eid)
                return NULL;

        if (add_str(o, "name", name) < 0 ||
            add_str(o, "unique_id", uid) < 0 ||
            add_str(o, "default_entity_id", eid) < 0 ||
            add_int(o, "qos", info->config->qos) < 0 ||
            add_obj(o, "device", device_new(info)) < 0 ||
            add_obj(o, "availability", availability_new(info)) < 0 ||
            add_obj(o, "origin", origin_new(info)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static struct json_object *input_payload(const struct discovery_info *info,
                                         const struct config_input *in) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;

        o = payload_new(info, "binary_sensor", in->name, NULL, in->ha.ha_name ?: in->name);
        if (!o ||
            add_topic(o, "state_topic", info->base, in->name, "state") < 0 ||
            add_str(o, "payload_on", "ON") < 0 ||
            add_str(o, "payload_off", "OFF") < 0 ||
            add_str_opt(o, "device_class", in->ha.device_class) < 0 ||
            add_str_opt(o, "icon", in->ha.icon) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static const char *switch_device_class(const char *dc) {
        if (dc)
                for (size_t i = 0; i < ELEMENTSOF(switch_device_classes); i++)
                        if (streq(dc, switch_device_classes[i]))
                                return dc;
        return NULL;
}

/* Not optimistic: the switch shows the state the daemon publishes after driving the
 * line, so a command that failed never looks as if it worked. */
static struct json_object *output_payload(const struct discovery_info *info,
                                          const struct config_output *out) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;

        o = payload_new(info, "switch", out->name, NULL, out->ha.ha_name ?: out->name);
        if (!o ||
            add_topic(o, "state_topic", info->base, out->name, "state") < 0 ||
            add_topic(o, "command_topic", info->base, out->name, "set") < 0 ||
            add_str(o, "payload_on", "ON") < 0 ||
            add_str(o, "payload_off", "OFF") < 0 ||
            add_str(o, "state_on", "ON") < 0 ||
            add_str(o, "state_off", "OFF") < 0 ||
            add_bool(o, "optimistic", false) < 0 ||
            add_str_opt(o, "device_class", switch_device_class(out->ha.device_class)) < 0 ||
            add_str_opt(o, "icon", out->ha.icon) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* One sensor entity per quantity, all reading the sensor's one JSON state. A sensor
 * with one quantity is named like the entity; with several, each name says which
 * quantity it is. The configured device class applies only to a single-quantity
 * sensor (a sysfs file has no class of its own); a chip's quantities keep the
 * driver's, one class could not fit them all. */
static struct json_object *quantity_payload(const struct discovery_info *info,
                                            const struct config_sensor *s,
                                            const struct quantity_info *q, size_t n_q) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        _cleanup_(freep) char *name = NULL, *tmpl = NULL;
        const char *display = s->ha.ha_name ?: s->name;
        const char *dc = n_q == 1 && s->ha.device_class ? s->ha.device_class : q->device_class;

        if (n_q == 1)
                name = strdup(display);
        else if (asprintf(&name, "%s %s", display, q->name) < 0)
                name = NULL;
        tmpl = value_template(q->name);
        if (!name || !tmpl)
                return NULL;

        o = payload_new(info, "sensor", s->name, q->name, name);
        if (!o ||
            add_topic(o, "state_topic", info->base, s->name, "state") < 0 ||
            add_str(o, "value_template", tmpl) < 0 ||
            add_str_opt(o, "unit_of_measurement", q->unit) < 0 ||
            add_str_opt(o, "device_class", dc) < 0 ||
            add_str(o, "state_class", "measurement") < 0 ||
            (q->decimals >= 0 && add_int(o, "suggested_display_precision", q->decimals) < 0) ||
            add_str_opt(o, "icon", s->ha.icon) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static struct json_object *stat_payload(const struct discovery_info *info,
                                        const struct stat_counter *sc) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        _cleanup_(freep) char *tmpl = value_template(sc->key);

        if (!tmpl)
                return NULL;
        o = payload_new(info, "sensor", "gateway", sc->key, sc->name);
        if (!o ||
            add_topic(o, "state_topic", info->base, NULL, "stats") < 0 ||
            add_str(o, "value_template", tmpl) < 0 ||
            add_str_opt(o, "unit_of_measurement", sc->unit) < 0 ||
            add_str_opt(o, "device_class", sc->device_class) < 0 ||
            add_str(o, "state_class", "total_increasing") < 0 ||
            add_str(o, "entity_category", "diagnostic") < 0 ||
            add_str_opt(o, "icon", sc->icon) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* the walk */

static int visit_one(const struct discovery_info *info, const char *component,
                     const char *entity, const char *suffix, struct json_object *payload,
                     bool build, visit_t visit, void *ud) {
        _cleanup_(json_object_putp) struct json_object *p = payload;
        _cleanup_(freep) char *node = NULL, *object = NULL, *topic = NULL;

        if (build && !p)
                return -ENOMEM;
        node = topic_level(info->config->name, NULL);
        object = topic_level(entity, suffix);
        if (!node || !object ||
            asprintf(&topic, "%s/%s/%s/%s/config", info->config->discovery_prefix,
                     component, node, object) < 0)
                return -ENOMEM;
        return visit(ud, topic, p);
}

static bool info_valid(const struct discovery_info *info) {
        return info && info->config && info->base && info->config->name &&
               info->config->discovery_prefix;
}

static int foreach_config(const struct discovery_info *info, bool build, visit_t visit, void *ud) {
        const struct config *c = info->config;
        int r;

        if (c->discovery == DISCOVERY_NONE)
                return 0;

        for (size_t i = 0; i < c->n_inputs; i++) {
                const struct config_input *in = &c->inputs[i];

                if (!in->ha.discovery)
                        continue;
                r = visit_one(info, "binary_sensor", in->name, NULL,
                              build ? input_payload(info, in) : NULL, build, visit, ud);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < c->n_outputs; i++) {
                const struct config_output *out = &c->outputs[i];

                if (!out->ha.discovery)
                        continue;
                r = visit_one(info, "switch", out->name, NULL,
                              build ? output_payload(info, out) : NULL, build, visit, ud);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < c->n_sensors; i++) {
                const struct config_sensor *s = &c->sensors[i];
                const struct quantity_info *q;
                size_t n_q = 0;

                if (!s->ha.discovery || !info->quantities)
                        continue;
                q = info->quantities(info->userdata, i, &n_q);
                if (!q)
                        continue;
                for (size_t j = 0; j < n_q; j++) {
                        if (!q[j].name)
                                continue;
                        r = visit_one(info, "sensor", s->name, q[j].name,
                                      build ? quantity_payload(info, s, &q[j], n_q) : NULL,
                                      build, visit, ud);
                        if (r < 0)
                                return r;
                }
        }

        for (size_t i = 0; i < ELEMENTSOF(stat_counters); i++) {
                r = visit_one(info, "sensor", "gateway", stat_counters[i].key,
                              build ? stat_payload(info, &stat_counters[i]) : NULL,
                              build, visit, ud);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* announce */

struct announce_ctx {
        discovery_emit_t emit;
        void *ud;
        int error;      /* the first error emit returned */
};

static int announce_visit(void *ud, const char *topic, struct json_object *payload) {
        struct announce_ctx *ctx = ud;
        const char *s;
        size_t len;
        int r;

        /* plain and without "\/": byte for byte the same on every announce, readable */
        s = json_object_to_json_string_length(payload,
                                              JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                              &len);
        if (!s)
                return -ENOMEM;
        r = ctx->emit(ctx->ud, topic, s, len);
        if (r < 0 && ctx->error == 0)
                ctx->error = r;
        /* one broker hiccup must not hide the remaining entities */
        return 0;
}

int discovery_announce(const struct discovery_info *info, discovery_emit_t emit, void *ud) {
        struct announce_ctx ctx = { .emit = emit, .ud = ud };
        int r;

        if (!info_valid(info) || !emit)
                return -EINVAL;
        r = foreach_config(info, /* build= */ true, announce_visit, &ctx);
        if (r < 0)
                return r;
        return ctx.error;
}

/* topics */

struct topics_ctx {
        char **topics;
        size_t n;
        size_t allocated;
};

static int topics_visit(void *ud, const char *topic, struct json_object *payload) {
        struct topics_ctx *ctx = ud;
        char *t;

        if (ctx->n == ctx->allocated) {
                size_t a = MAX(ctx->allocated * 2, (size_t) 16);
                char **p = reallocarray(ctx->topics, a, sizeof(char *));

                if (!p)
                        return -ENOMEM;
                ctx->topics = p;
                ctx->allocated = a;
        }
        t = strdup(topic);
        if (!t)
                return -ENOMEM;
        ctx->topics[ctx->n++] = t;
        return 0;
}

static int cmp_topic(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int discovery_topics(const struct discovery_info *info, char ***ret, size_t *n) {
        struct topics_ctx ctx = {};
        int r;

        if (!info_valid(info) || !ret || !n)
                return -EINVAL;

        r = foreach_config(info, /* build= */ false, topics_visit, &ctx);
        if (r < 0)
                goto fail;

        if (ctx.n > 0)
                qsort(ctx.topics, ctx.n, sizeof(char *), cmp_topic);
        for (size_t i = 1; i < ctx.n; i++)
                if (streq(ctx.topics[i - 1], ctx.topics[i])) {
                        r = -ENOTUNIQ;
                        goto fail;
                }

        if (ctx.n == 0)
                ctx.topics = mfree(ctx.topics);
        *ret = ctx.topics;
        *n = ctx.n;
        return 0;

fail:
        discovery_free_topics(ctx.topics, ctx.n);
        *ret = NULL;
        *n = 0;
        return r;
}

void discovery_free_topics(char **topics, size_t n) {
        if (!topics)
                return;
        for (size_t i = 0; i < n; i++)
                free(topics[i]);
        free(topics);
}

/* removal */

int discovery_remove_stale(char **old, size_t n_old, char **new, size_t n_new,
                           discovery_emit_t emit, void *ud) {
        size_t i = 0, j = 0;
        int error = 0;

        if (!emit || (n_old > 0 && !old) || (n_new > 0 && !new))
                return -EINVAL;

        /* one merge pass over the two sorted lists */
        while (i < n_old) {
                int c = j < n_new ? strcmp(old[i], new[j]) : -1;

                if (c > 0) {
                        j++;
                        continue;
                }
                if (c < 0) {
                        int r = emit(ud, old[i], "", 0);

                        if (r < 0 && error == 0)
                                error = r;
                } else
                        j++;
                i++;
        }
        return error;
}

/* Home Assistant's birth message */

bool discovery_is_birth(const struct config *config, const char *topic,
                        const void *payload, size_t len) {
        size_t n;

        if (!config || !topic || config->discovery == DISCOVERY_NONE || !config->discovery_prefix)
                return false;
        n = strlen(config->discovery_prefix);
        if (strncmp(topic, config->discovery_prefix, n) != 0 || !streq(topic + n, "/status"))
                return false;
        return len == strlen("online") && payload && memcmp(payload, "online", len) == 0;
}
