/* SPDX-License-Identifier: MIT */
/* A GPIO input entity: its debounced changes become retained ON/OFF states. An input
 * whose line could not be requested at start-up waits for it, retrying. */
#include "manager.h"
#include "log.h"
#include "topic.h"

static void input_changed(struct hal_input *h, bool value, uint64_t timestamp_usec, void *userdata) {
        struct input *in = userdata;

        in->value = value;
        log_entity_full(LOG_DEBUG, 0, in->config->name, in->state_topic,
                        "%s: %s", in->config->name, value ? "ON" : "OFF");
        (void) input_publish(in, MQTT_MSG_STATE);
}

int input_publish(struct input *in, enum mqtt_msg_class cls) {
        const char *p = in->value ? "ON" : "OFF";

        if (!in->hal)
                return 0;       /* nothing known to report */
        return mqtt_link_publish(in->manager->link, in->state_topic, p, strlen(p),
                                 in->manager->config->qos, /* retain= */ true, cls);
}

struct hal_input_config input_hal_config(const struct config_input *c) {
        return (struct hal_input_config) {
                .name = c->name,
                .chip = c->chip,
                .line = c->line,
                .bias = c->bias,
                .active_low = c->active_low,
                .edge = c->edge,
                .debounce_usec = c->debounce_usec,
        };
}

/* One request of the line; the first failure is logged as an error, the retries that
 * fail again only at debug level. */
static int input_request(struct input *in, bool quiet) {
        const struct config_input *c = in->config;
        struct hal_input_config hc = input_hal_config(c);
        int r;

        r = hal_input_request(in->manager->hal, &hc, input_changed, in, &in->hal);
        if (r < 0)
                return log_entity_full(quiet ? LOG_DEBUG : LOG_ERR, r, c->name, NULL,
                                       "input %s: cannot request line %s of chip %s (%s:%u): %m",
                                       c->name, c->line, c->chip, c->origin.file, c->origin.line);
        in->value = hal_input_value(in->hal);
        return 0;
}

/* A retry that got the line: said once, and the state is known from now on. */
static int input_retry_request(void *userdata) {
        struct input *in = userdata;
        int r;

        r = input_request(in, /* quiet= */ true);
        if (r < 0)
                return r;
        log_entity_full(LOG_NOTICE, 0, in->config->name, in->state_topic,
                        "input %s: line %s of chip %s requested after %u failed attempts", in->config->name,
                        in->config->line, in->config->chip, in->retry.failures);
        (void) input_publish(in, MQTT_MSG_STATE);
        return 0;
}

/* Requests the line: the input is live (its edges published) from here on. With
 * `may_wait`, a line that cannot be requested now is retried later instead. */
int input_new(struct manager *m, const struct config_input *c, const char *base, bool may_wait,
              struct input **ret) {
        _cleanup_(input_freep) struct input *in = NULL;
        int r;

        in = calloc(1, sizeof(*in));
        if (!in)
                return log_oom();
        in->manager = m;
        in->config = c;
        r = topic_build(&in->state_topic, base, c->name, "state", NULL);
        if (r < 0)
                return log_oom();
        r = input_request(in, /* quiet= */ may_wait);
        if (r < 0) {
                if (!may_wait || r == -ENOMEM)
                        return r;
                log_entity_full(LOG_ERR, r, c->name, NULL,
                                "input %s: cannot request line %s of chip %s (%s:%u): %m; serving the other "
                                "entities, retrying the line (after 1 s, then doubling up to 1 min)",
                                c->name, c->line, c->chip, c->origin.file, c->origin.line);
                r = line_retry_start(&in->retry, m->event, r, "input", input_retry_request, in);
                if (r < 0)
                        return log_error_errno(r, "input %s: cannot schedule another request of its line: %m",
                                               c->name);
        }
        *ret = TAKE_PTR(in);
        return 0;
}

struct input *input_free(struct input *in) {
        if (!in)
                return NULL;
        in->hal = hal_input_free(in->hal);
        line_retry_clear(&in->retry);
        free(in->state_topic);
        free(in);
        return NULL;
}
