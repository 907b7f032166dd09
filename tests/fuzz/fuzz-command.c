/* SPDX-License-Identifier: MIT */
/* libFuzzer target for everything that touches bytes from the network in the command
 * path: command_parse(), utf8_valid() (against a second, decoding implementation),
 * format_error_json() (its output must parse back as JSON), topic_split_command()
 * (a split topic must rebuild to itself) and the number formatting of readings. */
#include <assert.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "set-payload.h"
#include "macro.h"
#include "payload.h"
#include "topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 4096

/* Validation by decoding the code point, independent of the byte-range table in
 * utf8.c, so that the two can be compared. */
static bool utf8_valid_reference(const uint8_t *s, size_t len) {
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t n;

                if (s[i] < 0x80) {
                        i++;
                        continue;
                } else if ((s[i] & 0xE0) == 0xC0) {
                        n = 2;
                        cp = s[i] & 0x1F;
                } else if ((s[i] & 0xF0) == 0xE0) {
                        n = 3;
                        cp = s[i] & 0x0F;
                } else if ((s[i] & 0xF8) == 0xF0) {
                        n = 4;
                        cp = s[i] & 0x07;
                } else
                        return false;
                if (len - i < n)
                        return false;
                for (size_t k = 1; k < n; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
                        return false;   /* overlong */
                if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                        return false;
                i += n;
        }
        return true;
}

static void check_command(const uint8_t *data, size_t size) {
        /* The limit comes from the input too, so small and odd limits get explored. */
        uint64_t max_pulse = size > 0 ? (uint64_t) data[0] * 997 * USEC_PER_MSEC + data[0] : 0;
        struct command c;
        char err[128];
        int r;

        memset(err, 'x', sizeof(err));
        r = command_parse(data, size, max_pulse, &c, err, sizeof(err));
        assert(memchr(err, '\0', sizeof(err)));
        if (r < 0) {
                assert(r == -EINVAL || r == -EMSGSIZE || r == -ERANGE);
                assert(err[0] != '\0');
                assert((r == -EMSGSIZE) == (size > COMMAND_MAX_PAYLOAD));
                return;
        }
        assert(r == 0);
        assert(size > 0 && size <= COMMAND_MAX_PAYLOAD);
        assert(!memchr(data, '\0', size));
        assert(utf8_valid(data, size));
        assert(c.action == COMMAND_ON || c.action == COMMAND_OFF || c.action == COMMAND_TOGGLE);
        assert(c.pulse_usec <= max_pulse);
        assert(c.pulse_usec % USEC_PER_MSEC == 0);
        assert(c.pulse_usec == 0 || c.action != COMMAND_TOGGLE);

        /* The same payload parses the same way under a larger limit. */
        {
                struct command c2;

                assert(command_parse(data, size, UINT64_MAX / 2, &c2, NULL, 0) == 0);
                assert(c2.action == c.action && c2.pulse_usec == c.pulse_usec);
        }
}

static void check_error_json(const uint8_t *data, size_t size) {
        static char buf[MAX_INPUT * 6 + 64];
        struct json_tokener *tok;
        struct json_object *o, *topic, *error;
        size_t small;
        int r;

        if (size > MAX_INPUT)
                return;

        r = format_error_json((const char *) data, size, "bad \"payload\"\n", buf, sizeof(buf));
        assert(r > 0 && (size_t) r == strlen(buf));

        tok = json_tokener_new();
        assert(tok);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, buf, r + 1);
        assert(o);
        assert(json_tokener_get_error(tok) == json_tokener_success);
        assert(json_tokener_get_parse_end(tok) == (size_t) r);
        json_tokener_free(tok);

        assert(json_object_is_type(o, json_type_object));
        assert(json_object_object_length(o) == 2);
        assert(json_object_object_get_ex(o, "topic", &topic));
        assert(json_object_object_get_ex(o, "error", &error));
        assert(json_object_is_type(topic, json_type_string));
        assert(streq(json_object_get_string(error), "bad \"payload\"\n"));
        /* Well-formed text comes back byte for byte. */
        if (utf8_valid(data, size)) {
                assert((size_t) json_object_get_string_len(topic) == size);
                assert(memcmp(json_object_get_string(topic), data, size) == 0);
        }
        json_object_put(o);

        /* A smaller buffer gives the same text or -ENOBUFS, never a truncated one. */
        small = size > 0 ? data[size - 1] : 0;
        {
                char *copy = strdup(buf);
                int r2;

                assert(copy);
                r2 = format_error_json((const char *) data, size, "bad \"payload\"\n", buf, small);
                if (r2 >= 0) {
                        assert(r2 == r);
                        assert(streq(buf, copy));
                } else {
                        assert(r2 == -ENOBUFS);
                        assert((size_t) r + 1 > small);
                }
                free(copy);
        }
}

static void check_topic(const uint8_t *data, size_t size) {
        char text[MAX_INPUT + 1];
        const char *base, *topic, *entity, *verb;
        char *nl, entity_copy[65];
        size_t entity_len;
        int r;

        if (size > MAX_INPUT)
                return;
        memcpy(text, data, size);
        text[size] = '\0';

        /* "base\ntopic", or the fixed base "iotgwd" when there is no newline. */
        nl = strchr(text, '\n');
        if (nl) {
                *nl = '\0';
                base = text;
                topic = nl + 1;
        } else {
                base = "iotgwd";
                topic = text;
        }

        r = topic_split_command(base, topic, &entity, &entity_len, &verb);
        if (r < 0) {
                assert(r == -EINVAL);
                return;
        }
        assert(r == 0);
        assert(entity >= topic && entity_len >= 1 && entity_len <= 64);
        assert(verb > entity + entity_len && verb < topic + strlen(topic));
        memcpy(entity_copy, entity, entity_len);
        entity_copy[entity_len] = '\0';
        assert(topic_level_valid(entity_copy));
        assert(topic_level_valid(verb));

        {
                char *rebuilt = NULL;

                assert(topic_build(&rebuilt, base, entity_copy, verb, NULL) == 0);
                assert(streq(rebuilt, topic));
                free(rebuilt);
        }
}

/* A value and its decimals from the input; the printed number must parse back within
 * half a unit of its last digit (plus double rounding). */
static void check_number(const uint8_t *data, size_t size) {
        struct quantity_info q = { .name = "v", .unit = "" };
        struct reading rd = { .n = 1 };
        char buf[128];
        struct json_object *o, *v;
        double value, parsed;
        int r;

        if (size < 9)
                return;
        memcpy(&value, data, sizeof(value));
        q.decimals = (int) (data[8] % 12) - 1;          /* -1..10: the invalid ones too */
        rd.value[0] = value;

        r = format_reading_json(&rd, &q, 1, 0, buf, sizeof(buf));
        if (r < 0) {
                assert(r == -EDOM || r == -ERANGE || r == -EINVAL);
                assert(r != -EDOM || !isfinite(value));
                assert(r != -EINVAL || q.decimals < 0 || q.decimals > 9);
                assert(r != -ERANGE || fabs(value) > 1e15 || fabs(value) * pow(10, q.decimals) >= 9.2e18);
                return;
        }
        assert(isfinite(value) && fabs(value) <= 1e15);
        assert(strcspn(buf, "eE") > strlen(buf) - strlen(",\"ts\":\"1970-01-01T00:00:00.000Z\"}"));

        o = json_tokener_parse(buf);
        assert(o);
        assert(json_object_object_get_ex(o, "v", &v));
        parsed = json_object_get_double(v);
        assert(strncmp(buf, "{\"v\":-", 6) != 0 || parsed != 0);     /* no "-0" */
        assert(fabs(parsed - value) <= 0.5 * pow(10, -q.decimals) * (1 + 1e-9) + 1e-15 * fabs(value));
        json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        assert(utf8_valid(data, size) == utf8_valid_reference(data, size));

        check_command(data, size);
        check_error_json(data, size);
        check_topic(data, size);
        check_number(data, size);
        return 0;
}
