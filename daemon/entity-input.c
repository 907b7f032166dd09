/* A GPIO input entity: its debounced changes become retained ON/OFF states. */
#include "manager.h"
#include "log.h"

static void input_changed(struct hal_input *h, bool value, uint64_t timestamp_usec, void *userdata) {
        struct input *in = userdata;

        in->value = value;
        log_entity_full(LOG_DEBUG, 0, in->config->name, in->state_topic,
                        "%s: %s", in->config->name, value ? "ON" : "OFF");
        (void) input_publish(in);
}

int input_publish(struct input *in) {
        const char *p = in->value ? "ON" : "OFF";

        return mqtt_link_publish(in->manager->link, in->state_topic, p, strlen(p),
                                 in->manager->config->qos, /* retain= */ true, MQTT_MSG_STATE);
}

int input_start(struct input *in) {
        const struct config_input *c = in->config;
        struct hal_input_config hc = {
                .name = c->name,
                .chip = c->chip,
                .line = c->line,
                .bias = c->bias,
                .active_low = c->active_low,
                .edge = c->edge,
                .debounce_usec = c->debounce_usec,
        };
        int r;

        r = hal_input_request(in->manager->hal, &hc, input_changed, in, &in->hal);
        if (r < 0)
                return log_entity_full(LOG_ERR, r, c->name, NULL,
                                       "input %s: cannot request line %s of chip %s (%s:%u): %m",
                                       c->name, c->line, c->chip, c->origin.file, c->origin.line);
        in->value = hal_input_value(in->hal);
        return 0;
}

void input_stop(struct input *in) {
        in->hal = hal_input_free(in->hal);
}
