/* SPDX-License-Identifier: MIT */
/* Parsing of an output's /set payload. The payload comes from anyone who can publish
 * to the broker, so the checks run cheapest and most fundamental first (length, NUL,
 * UTF-8) and the JSON form is held to RFC 8259 plus our own schema: json-c alone would
 * take single quotes, NaN, duplicate keys (last one wins) and keys cut at "\u0000". */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "set-payload.h"
#include "macro.h"
#include "utf8.h"

/* Our object is flat; one level more lets a nested value reach the type check and be
 * reported as a wrong type, while anything deeper stops json-c early. */
#define COMMAND_JSON_MAX_DEPTH 3

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static int fail(int error, char *errbuf, size_t errbuf_size, const char *reason) {
        if (errbuf_size > 0)
                snprintf(errbuf, errbuf_size, "%s", reason);
        return error;
}

_printf_(4, 5)
static int failf(int error, char *errbuf, size_t errbuf_size, const char *format, ...) {
        va_list ap;

        if (errbuf_size > 0) {
                va_start(ap, format);
                vsnprintf(errbuf, errbuf_size, format, ap);
                va_end(ap);
        }
        return error;
}

bool utf8_valid(const void *s, size_t len) {
        const uint8_t *p = s;

        while (len > 0) {
                size_t n = utf8_char_length(p, len);

                if (n == 0)
                        return false;
                p += n;
                len -= n;
        }
        return true;
}

static bool is_ascii_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_ascii_alpha(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Case-insensitive match of the len bytes at s against an upper-case ASCII word,
 * without strncasecmp(), whose result depends on the locale. */
static bool word_eq(const char *s, size_t len, const char *word) {
        size_t i;

        for (i = 0; i < len; i++) {
                char c = s[i];

                if (c >= 'a' && c <= 'z')
                        c = (char) (c - 'a' + 'A');
                if (word[i] == '\0' || c != word[i])
                        return false;
        }
        return word[i] == '\0';
}

static int action_from_word(const char *s, size_t len, enum command_action *ret) {
        if (word_eq(s, len, "ON"))
                *ret = COMMAND_ON;
        else if (word_eq(s, len, "OFF"))
                *ret = COMMAND_OFF;
        else if (word_eq(s, len, "TOGGLE"))
                *ret = COMMAND_TOGGLE;
        else
                return -EINVAL;
        return 0;
}

/* A second look at text json-c has already accepted, for what its object model hides:
 * how many keys the top-level object really had (a repeated key silently replaces the
 * earlier one), and "\u0000" escapes (json-c cuts keys at them). Since the text is known
 * to be valid JSON, a string at depth 1 followed by ':' is a key. */
static int json_scan(const char *s, size_t len, size_t *ret_keys) {
        size_t keys = 0;
        unsigned depth = 0;

        for (size_t i = 0; i < len; i++) {
                switch (s[i]) {
                case '{':
                case '[':
                        depth++;
                        break;
                case '}':
                case ']':
                        depth--;
                        break;
                case '"':
                        for (i++; i < len && s[i] != '"'; i++) {
                                if (s[i] != '\\')
                                        continue;
                                i++;
                                if (i + 5 <= len && s[i] == 'u' && memcmp(s + i + 1, "0000", 4) == 0)
                                        return -EINVAL;
                        }
                        if (depth == 1) {
                                size_t j = i + 1;

                                while (j < len && is_ascii_space(s[j]))
                                        j++;
                                if (j < len && s[j] == ':')
                                        keys++;
                        }
                        break;
                default:
                        break;
                }
        }
        *ret_keys = keys;
        return 0;
}

static int parse_pulse(struct json_object *v, uint64_t max_pulse_usec, uint64_t *ret,
                       char *errbuf, size_t errbuf_size) {
        uint64_t max_ms = max_pulse_usec / USEC_PER_MSEC;
        int64_t ms;

        /* Only an integer literal: 500.0 and 1e3 are doubles to json-c, and a pulse
         * length that needs rounding was probably not meant. Newer json-c (0.17+)
         * also turns integer literals beyond 64 bits into doubles, keeping their text:
         * those are out of range, not malformed. */
        if (json_object_is_type(v, json_type_double)) {
                const char *text = json_object_get_string(v);
                bool negative = text && text[0] == '-';
                const char *digits = text ? text + negative : NULL;

                if (digits && *digits && strspn(digits, "0123456789") == strlen(digits))
                        return negative ?
                                fail(-ERANGE, errbuf, errbuf_size, "pulse_ms is below the minimum of 1") :
                                failf(-ERANGE, errbuf, errbuf_size,
                                      "pulse_ms exceeds the maximum of %" PRIu64, max_ms);
        }
        if (!json_object_is_type(v, json_type_int))
                return fail(-EINVAL, errbuf, errbuf_size, "\"pulse_ms\" must be an integer");

        /* json-c saturates integers beyond 64 bits to INT64_MIN/UINT64_MAX; those bounds
         * are far outside any limit, so only the message needs to avoid quoting them. */
        ms = json_object_get_int64(v);
        if (ms == INT64_MIN)
                return fail(-ERANGE, errbuf, errbuf_size, "pulse_ms is below the minimum of 1");
        if (ms < 1)
                return failf(-ERANGE, errbuf, errbuf_size,
                             "pulse_ms %" PRIi64 " is below the minimum of 1", ms);
        if (ms == INT64_MAX)
                return failf(-ERANGE, errbuf, errbuf_size,
                             "pulse_ms exceeds the maximum of %" PRIu64, max_ms);
        if ((uint64_t) ms > max_ms)
                return failf(-ERANGE, errbuf, errbuf_size,
                             "pulse_ms %" PRIi64 " exceeds the maximum of %" PRIu64, ms, max_ms);

        *ret = (uint64_t) ms * USEC_PER_MSEC;
        return 0;
}

static int parse_object(struct json_object *o, uint64_t max_pulse_usec, struct command *ret,
                        char *errbuf, size_t errbuf_size) {
        struct json_object *state = NULL, *pulse = NULL;
        bool have_state = false, have_pulse = false;
        struct command c = {};
        int r;

        /* json-c represents a JSON null as a NULL value, hence the separate flags. */
        json_object_object_foreach(o, key, value) {
                if (streq(key, "state")) {
                        state = value;
                        have_state = true;
                } else if (streq(key, "pulse_ms")) {
                        pulse = value;
                        have_pulse = true;
                } else
                        return fail(-EINVAL, errbuf, errbuf_size,
                                    "unknown key in JSON object (expected \"state\" and \"pulse_ms\")");
        }

        if (!have_state)
                return fail(-EINVAL, errbuf, errbuf_size, "\"state\" is missing");
        if (!json_object_is_type(state, json_type_string))
                return fail(-EINVAL, errbuf, errbuf_size, "\"state\" must be a string");
        if (action_from_word(json_object_get_string(state),
                             (size_t) json_object_get_string_len(state), &c.action) < 0)
                return fail(-EINVAL, errbuf, errbuf_size, "\"state\" must be ON, OFF or TOGGLE");

        if (have_pulse) {
                r = parse_pulse(pulse, max_pulse_usec, &c.pulse_usec, errbuf, errbuf_size);
                if (r < 0)
                        return r;
                /* A pulse returns to the state before it; after TOGGLE that is ambiguous
                 * if another command arrives in between. */
                if (c.action == COMMAND_TOGGLE)
                        return fail(-EINVAL, errbuf, errbuf_size,
                                    "a pulse needs state ON or OFF, not TOGGLE");
        }

        *ret = c;
        return 0;
}

/* json-c 0.18 in strict mode refuses integer literals beyond 64 bits outright, where
 * 0.16 saturates them: if pulse_ms holds such a literal, that is a range error in
 * every version. Returns the literal's sign (1 or -1), or 0 when it is not that case. */
static int huge_pulse_literal(const char *text) {
        const char *p = strstr(text, "\"pulse_ms\"");
        int sign = 1;
        size_t digits;

        if (!p)
                return 0;
        p += strlen("\"pulse_ms\"");
        p += strspn(p, " \t\r\n");
        if (*p++ != ':')
                return 0;
        p += strspn(p, " \t\r\n");
        if (*p == '-') {
                sign = -1;
                p++;
        }
        digits = strspn(p, "0123456789");
        /* 20 digits and more cannot fit in 64 bits (UINT64_MAX has 20, but json-c
         * parses those too); a fraction or exponent makes it a malformed pulse. */
        if (digits < 20 || p[digits] == '.' || p[digits] == 'e' || p[digits] == 'E')
                return 0;
        return sign;
}

static int parse_json(const char *s, size_t len, uint64_t max_pulse_usec, struct command *ret,
                      char *errbuf, size_t errbuf_size) {
        struct json_tokener *tok;
        struct json_object *o;
        enum json_tokener_error jerr;
        char text[COMMAND_MAX_PAYLOAD + 1];
        size_t keys, end;
        int r;

        /* With the terminating NUL included in the length json-c knows the input ends
         * here; without it a bare "42" or an unclosed object only asks for more. */
        memcpy(text, s, len);
        text[len] = '\0';

        tok = json_tokener_new_ex(COMMAND_JSON_MAX_DEPTH);
        if (!tok)
                return fail(-ENOMEM, errbuf, errbuf_size, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

        o = json_tokener_parse_ex(tok, text, (int) len + 1);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (jerr != json_tokener_success) {
                int sign = jerr == json_tokener_error_parse_number ? huge_pulse_literal(text) : 0;

                json_object_put(o);
                if (sign < 0)
                        return fail(-ERANGE, errbuf, errbuf_size, "pulse_ms is below the minimum of 1");
                if (sign > 0)
                        return failf(-ERANGE, errbuf, errbuf_size, "pulse_ms exceeds the maximum of %" PRIu64,
                                     max_pulse_usec / USEC_PER_MSEC);
                return failf(-EINVAL, errbuf, errbuf_size, "invalid JSON: %s",
                             json_tokener_error_desc(jerr));
        }
        /* Strict mode refuses trailing text already; this also catches a stop before the
         * end that json-c might not call an error in some version. */
        if (end != len) {
                json_object_put(o);
                return fail(-EINVAL, errbuf, errbuf_size, "invalid JSON: trailing characters");
        }
        if (!json_object_is_type(o, json_type_object)) {   /* "null" parses to NULL */
                json_object_put(o);
                return fail(-EINVAL, errbuf, errbuf_size, "JSON payload is not an object");
        }

        r = json_scan(text, len, &keys);
        if (r < 0)
                r = fail(r, errbuf, errbuf_size, "JSON string contains an escaped NUL");
        else if (keys != (size_t) json_object_object_length(o))
                r = fail(-EINVAL, errbuf, errbuf_size, "duplicate key in JSON object");
        else
                r = parse_object(o, max_pulse_usec, ret, errbuf, errbuf_size);

        json_object_put(o);
        return r;
}

int command_parse(const void *payload, size_t len, uint64_t max_pulse_usec,
                  struct command *ret, char *errbuf, size_t errbuf_size) {
        const char *s = payload;
        bool word = true;

        /* Success leaves an empty reason, so errbuf is always a string afterwards. */
        if (errbuf_size > 0)
                errbuf[0] = '\0';

        if (len > COMMAND_MAX_PAYLOAD)
                return fail(-EMSGSIZE, errbuf, errbuf_size,
                            "payload is longer than " STRINGIFY(COMMAND_MAX_PAYLOAD) " bytes");
        if (len > 0 && memchr(s, '\0', len))
                return fail(-EINVAL, errbuf, errbuf_size, "payload contains a NUL byte");
        if (!utf8_valid(s, len))
                return fail(-EINVAL, errbuf, errbuf_size, "payload is not valid UTF-8");

        while (len > 0 && is_ascii_space(s[0])) {
                s++;
                len--;
        }
        while (len > 0 && is_ascii_space(s[len - 1]))
                len--;
        if (len == 0)
                return fail(-EINVAL, errbuf, errbuf_size, "payload is empty");

        /* A bare word is a command word or nothing: "true" and "null" are JSON, but
         * they are not objects either, and "unknown command" helps the user more. */
        for (size_t i = 0; i < len; i++)
                if (!is_ascii_alpha(s[i])) {
                        word = false;
                        break;
                }
        if (word) {
                struct command c = {};

                if (action_from_word(s, len, &c.action) < 0)
                        return fail(-EINVAL, errbuf, errbuf_size,
                                    "unknown command (expected ON, OFF, TOGGLE or a JSON object)");
                *ret = c;
                return 0;
        }

        /* Only what could start JSON goes to the JSON parser; "1" or "ON;" are words
         * gone wrong, not JSON. */
        if (!strchr("{[\"-0123456789", s[0]))
                return fail(-EINVAL, errbuf, errbuf_size,
                            "unknown command (expected ON, OFF, TOGGLE or a JSON object)");

        return parse_json(s, len, max_pulse_usec, ret, errbuf, errbuf_size);
}
