/* SPDX-License-Identifier: MIT */
/* Unit tests for command_parse() and utf8_valid(): every accepted form of an output's
 * /set payload and every way a hostile or careless publisher can get it wrong. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "set-payload.h"
#include "macro.h"

/* The default of max_pulse_ms in the configuration: 60 s. */
#define MAX_PULSE (60 * USEC_PER_SEC)

/* A result nobody would produce, to see that failures leave *ret alone. */
static const struct command SENTINEL = { .action = (enum command_action) 42, .pulse_usec = 4242 };

static char errbuf[256];

static int parse_len(const void *p, size_t len, uint64_t max_pulse, struct command *ret) {
        memset(errbuf, 'x', sizeof(errbuf));
        *ret = SENTINEL;
        return command_parse(p, len, max_pulse, ret, errbuf, sizeof(errbuf));
}

static int parse(const char *s, struct command *ret) {
        return parse_len(s, strlen(s), MAX_PULSE, ret);
}

static void assert_untouched(const struct command *c) {
        ck_assert_int_eq(c->action, SENTINEL.action);
        ck_assert_uint_eq(c->pulse_usec, SENTINEL.pulse_usec);
}

/* accepted */

static const struct {
        const char *payload;
        enum command_action action;
        uint64_t pulse_usec;
} accepted[] = {
        { "ON", COMMAND_ON, 0 },
        { "OFF", COMMAND_OFF, 0 },
        { "TOGGLE", COMMAND_TOGGLE, 0 },
        { "on", COMMAND_ON, 0 },
        { "Off", COMMAND_OFF, 0 },
        { "tOgGlE", COMMAND_TOGGLE, 0 },
        { " ON", COMMAND_ON, 0 },
        { "OFF\n", COMMAND_OFF, 0 },
        { "\t\r\n\v\f TOGGLE \f\v\n\r\t", COMMAND_TOGGLE, 0 },
        { "{\"state\":\"ON\"}", COMMAND_ON, 0 },
        { "{\"state\":\"OFF\"}", COMMAND_OFF, 0 },
        { "{\"state\":\"TOGGLE\"}", COMMAND_TOGGLE, 0 },
        { "{\"state\":\"off\"}", COMMAND_OFF, 0 },
        { "{\"state\":\"Toggle\"}", COMMAND_TOGGLE, 0 },
        { "{\"state\":\"ON\",\"pulse_ms\":500}", COMMAND_ON, 500 * USEC_PER_MSEC },
        { "{\"pulse_ms\":250,\"state\":\"OFF\"}", COMMAND_OFF, 250 * USEC_PER_MSEC },
        { "{\"state\":\"ON\",\"pulse_ms\":1}", COMMAND_ON, 1 * USEC_PER_MSEC },
        { "{\"state\":\"ON\",\"pulse_ms\":60000}", COMMAND_ON, 60 * USEC_PER_SEC },
        { " \n{ \"state\" : \"ON\" ,\r\n \"pulse_ms\" : 10 }\t\n", COMMAND_ON, 10 * USEC_PER_MSEC },
        /* JSON escapes are JSON: these spell "state" and "ON". */
        { "{\"st\\u0061te\":\"\\u004fN\"}", COMMAND_ON, 0 },
};

START_TEST(test_accepted) {
        struct command c;
        int r;

        r = parse(accepted[_i].payload, &c);
        ck_assert_msg(r == 0, "\"%s\": %d (%s)", accepted[_i].payload, r, errbuf);
        ck_assert_int_eq(c.action, accepted[_i].action);
        ck_assert_uint_eq(c.pulse_usec, accepted[_i].pulse_usec);
}
END_TEST

START_TEST(test_exactly_max_length) {
        char buf[COMMAND_MAX_PAYLOAD];
        struct command c;

        memset(buf, ' ', sizeof(buf));
        memcpy(buf + 100, "toggle", 6);
        ck_assert_int_eq(parse_len(buf, sizeof(buf), MAX_PULSE, &c), 0);
        ck_assert_int_eq(c.action, COMMAND_TOGGLE);
}
END_TEST

START_TEST(test_max_pulse_not_whole_ms) {
        struct command c;
        const char *one = "{\"state\":\"ON\",\"pulse_ms\":1}";
        const char *two = "{\"state\":\"ON\",\"pulse_ms\":2}";

        /* 1.5 ms allows 1 ms but not 2: the limit is never exceeded by rounding. */
        ck_assert_int_eq(parse_len(one, strlen(one), 1500, &c), 0);
        ck_assert_uint_eq(c.pulse_usec, 1000);
        ck_assert_int_eq(parse_len(two, strlen(two), 1500, &c), -ERANGE);
        ck_assert_str_eq(errbuf, "pulse_ms 2 exceeds the maximum of 1");
        assert_untouched(&c);

        /* No pulses allowed at all. */
        ck_assert_int_eq(parse_len(one, strlen(one), 0, &c), -ERANGE);
        ck_assert_str_eq(errbuf, "pulse_ms 1 exceeds the maximum of 0");
        ck_assert_int_eq(parse_len("ON", 2, 0, &c), 0);
}
END_TEST

/* rejected */

static const struct {
        const char *payload;
        size_t len;                     /* 0: strlen(payload) */
        int error;
        const char *reason;             /* NULL: not checked here */
} rejected[] = {
        /* empty */
        { "", 0, -EINVAL, "payload is empty" },
        { " \t\r\n", 0, -EINVAL, "payload is empty" },
        /* NUL bytes */
        { "ON\0", 3, -EINVAL, "payload contains a NUL byte" },
        { "\0ON", 3, -EINVAL, "payload contains a NUL byte" },
        { "{\"state\":\"ON\"}\0", 15, -EINVAL, "payload contains a NUL byte" },
        /* invalid UTF-8 */
        { "\xC0\x80", 0, -EINVAL, "payload is not valid UTF-8" },         /* overlong NUL */
        { "ON\xC1\xBF", 0, -EINVAL, "payload is not valid UTF-8" },       /* overlong 2-byte */
        { "\xE0\x80\xAF", 0, -EINVAL, "payload is not valid UTF-8" },     /* overlong '/' */
        { "\xF0\x82\x82\xAC", 0, -EINVAL, "payload is not valid UTF-8" }, /* overlong euro */
        { "\xED\xA0\x80", 0, -EINVAL, "payload is not valid UTF-8" },     /* U+D800 */
        { "\xED\xBF\xBF", 0, -EINVAL, "payload is not valid UTF-8" },     /* U+DFFF */
        { "\xF4\x90\x80\x80", 0, -EINVAL, "payload is not valid UTF-8" }, /* U+110000 */
        { "\xF5\x80\x80\x80", 0, -EINVAL, "payload is not valid UTF-8" },
        { "\xFF", 0, -EINVAL, "payload is not valid UTF-8" },
        { "ON\x80", 0, -EINVAL, "payload is not valid UTF-8" },           /* stray continuation */
        { "\xE2\x82", 0, -EINVAL, "payload is not valid UTF-8" },         /* truncated */
        { "\xF0\x9F\x98", 0, -EINVAL, "payload is not valid UTF-8" },     /* truncated */
        { "\xE2\x28\xA1", 0, -EINVAL, "payload is not valid UTF-8" },     /* bad continuation */
        { "{\"state\":\"\xC3\"}", 0, -EINVAL, "payload is not valid UTF-8" },
        /* unknown words */
        { "ONN", 0, -EINVAL, "unknown command (expected ON, OFF, TOGGLE or a JSON object)" },
        { "OF", 0, -EINVAL, "unknown command (expected ON, OFF, TOGGLE or a JSON object)" },
        { "O N", 0, -EINVAL, NULL },
        { "ON OFF", 0, -EINVAL, NULL },
        { "ON;", 0, -EINVAL, NULL },
        { "1", 0, -EINVAL, NULL },
        { "true", 0, -EINVAL, NULL },
        { "null", 0, -EINVAL, NULL },
        { "\xC3\x96N", 0, -EINVAL, NULL },                                /* "ÖN" */
        { "\xEF\xBB\xBFON", 0, -EINVAL, NULL },                           /* BOM */
        /* JSON that is not an object */
        { "[1]", 0, -EINVAL, "JSON payload is not an object" },
        { "[\"ON\"]", 0, -EINVAL, "JSON payload is not an object" },
        { "\"ON\"", 0, -EINVAL, "JSON payload is not an object" },
        { "42", 0, -EINVAL, "JSON payload is not an object" },
        { "-1", 0, -EINVAL, "JSON payload is not an object" },
        /* JSON syntax, including what json-c accepts unless told to be strict */
        { "{'state':'ON'}", 0, -EINVAL, "invalid JSON: unexpected character" },
        { "{state:\"ON\"}", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\"} x", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\"}{}", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\"}}", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\",}", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\"", 0, -EINVAL, NULL },
        { "{\"state\"", 0, -EINVAL, NULL },
        { "{", 0, -EINVAL, NULL },
        { "{/*c*/\"state\":\"ON\"}", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\"}//", 0, -EINVAL, NULL },
        { "{\"state\":\"O\\x4e\"}", 0, -EINVAL, NULL },
        { "\xEF\xBB\xBF{\"state\":\"ON\"}", 0, -EINVAL, NULL },             /* BOM */
        { "{\"state\":\"ON\",\"pulse_ms\":0x10}", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\",\"pulse_ms\":0500}", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\",\"pulse_ms\":+500}", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\",\"pulse_ms\":.5}", 0, -EINVAL, NULL },
        { "{\"state\":\"ON\",\"x\":{\"a\":{\"b\":{\"c\":{}}}}}", 0, -EINVAL, "invalid JSON: nesting too deep" },
        { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 0, -EINVAL, "invalid JSON: nesting too deep" },
        /* keys */
        { "{}", 0, -EINVAL, "\"state\" is missing" },
        { "{\"pulse_ms\":500}", 0, -EINVAL, "\"state\" is missing" },
        { "{\"state\":\"ON\",\"foo\":1}", 0, -EINVAL, "unknown key in JSON object (expected \"state\" and \"pulse_ms\")" },
        { "{\"State\":\"ON\"}", 0, -EINVAL, "unknown key in JSON object (expected \"state\" and \"pulse_ms\")" },
        { "{\"\":\"ON\"}", 0, -EINVAL, "unknown key in JSON object (expected \"state\" and \"pulse_ms\")" },
        { "{\"state\":\"ON\",\"state\":\"OFF\"}", 0, -EINVAL, "duplicate key in JSON object" },
        { "{\"state\":\"ON\",\"state\":\"ON\"}", 0, -EINVAL, "duplicate key in JSON object" },
        { "{\"state\":\"ON\",\"pulse_ms\":1,\"pulse_ms\":2}", 0, -EINVAL, "duplicate key in JSON object" },
        { "{\"state\":\"ON\",\"st\\u0061te\":\"ON\"}", 0, -EINVAL, "duplicate key in JSON object" },
        /* json-c would cut this key at the NUL and call it "state" */
        { "{\"state\\u0000x\":\"ON\"}", 0, -EINVAL, "JSON string contains an escaped NUL" },
        { "{\"state\":\"ON\\u0000\"}", 0, -EINVAL, "JSON string contains an escaped NUL" },
        /* state */
        { "{\"state\":1}", 0, -EINVAL, "\"state\" must be a string" },
        { "{\"state\":true}", 0, -EINVAL, "\"state\" must be a string" },
        { "{\"state\":null}", 0, -EINVAL, "\"state\" must be a string" },
        { "{\"state\":[\"ON\"]}", 0, -EINVAL, "\"state\" must be a string" },
        { "{\"state\":{\"state\":\"ON\"}}", 0, -EINVAL, "\"state\" must be a string" },
        { "{\"state\":\"FLIP\"}", 0, -EINVAL, "\"state\" must be ON, OFF or TOGGLE" },
        { "{\"state\":\"\"}", 0, -EINVAL, "\"state\" must be ON, OFF or TOGGLE" },
        { "{\"state\":\" ON\"}", 0, -EINVAL, "\"state\" must be ON, OFF or TOGGLE" },
        { "{\"state\":\"ONN\"}", 0, -EINVAL, "\"state\" must be ON, OFF or TOGGLE" },
        { "{\"state\":\"\\ud800\"}", 0, -EINVAL, "\"state\" must be ON, OFF or TOGGLE" },
        /* pulse_ms type */
        { "{\"state\":\"ON\",\"pulse_ms\":\"500\"}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":true}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":null}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":[500]}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":{}}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":1e3}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":500.0}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":1.5}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":1.}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":1e400}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":NaN}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":Infinity}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        { "{\"state\":\"ON\",\"pulse_ms\":-Infinity}", 0, -EINVAL, "\"pulse_ms\" must be an integer" },
        /* pulse_ms range */
        { "{\"state\":\"ON\",\"pulse_ms\":0}", 0, -ERANGE, "pulse_ms 0 is below the minimum of 1" },
        { "{\"state\":\"ON\",\"pulse_ms\":-0}", 0, -ERANGE, "pulse_ms 0 is below the minimum of 1" },
        { "{\"state\":\"ON\",\"pulse_ms\":-1}", 0, -ERANGE, "pulse_ms -1 is below the minimum of 1" },
        { "{\"state\":\"ON\",\"pulse_ms\":60001}", 0, -ERANGE, "pulse_ms 60001 exceeds the maximum of 60000" },
        { "{\"state\":\"OFF\",\"pulse_ms\":90000}", 0, -ERANGE, "pulse_ms 90000 exceeds the maximum of 60000" },
        { "{\"state\":\"ON\",\"pulse_ms\":9223372036854775807}", 0, -ERANGE, "pulse_ms exceeds the maximum of 60000" },
        { "{\"state\":\"ON\",\"pulse_ms\":9223372036854775808}", 0, -ERANGE, "pulse_ms exceeds the maximum of 60000" },
        { "{\"state\":\"ON\",\"pulse_ms\":18446744073709551616}", 0, -ERANGE, "pulse_ms exceeds the maximum of 60000" },
        { "{\"state\":\"ON\",\"pulse_ms\":99999999999999999999999999999}", 0, -ERANGE, "pulse_ms exceeds the maximum of 60000" },
        { "{\"state\":\"ON\",\"pulse_ms\":-9223372036854775808}", 0, -ERANGE, "pulse_ms is below the minimum of 1" },
        { "{\"state\":\"ON\",\"pulse_ms\":-99999999999999999999999999999}", 0, -ERANGE, "pulse_ms is below the minimum of 1" },
        /* a pulse needs a definite state to return from */
        { "{\"state\":\"TOGGLE\",\"pulse_ms\":500}", 0, -EINVAL, "a pulse needs state ON or OFF, not TOGGLE" },
};

START_TEST(test_rejected) {
        const char *p = rejected[_i].payload;
        size_t len = rejected[_i].len ?: strlen(p);
        struct command c;
        int r;

        r = parse_len(p, len, MAX_PULSE, &c);
        ck_assert_msg(r == rejected[_i].error, "#%d \"%s\": got %d (%s), expected %d",
                      _i, p, r, errbuf, rejected[_i].error);
        assert_untouched(&c);
        /* Every rejection says why, in a short sentence. */
        ck_assert_ptr_nonnull(memchr(errbuf, '\0', sizeof(errbuf)));
        ck_assert_uint_gt(strlen(errbuf), 10);
        if (rejected[_i].reason)
                ck_assert_str_eq(errbuf, rejected[_i].reason);
}
END_TEST

START_TEST(test_too_long) {
        char buf[100000];
        struct command c;

        memset(buf, ' ', sizeof(buf));
        memcpy(buf, "ON", 2);
        ck_assert_int_eq(parse_len(buf, COMMAND_MAX_PAYLOAD + 1, MAX_PULSE, &c), -EMSGSIZE);
        ck_assert_str_eq(errbuf, "payload is longer than 256 bytes");
        assert_untouched(&c);
        ck_assert_int_eq(parse_len(buf, sizeof(buf), MAX_PULSE, &c), -EMSGSIZE);
        assert_untouched(&c);
        /* Length wins over content: garbage that is too long is "too long". */
        memset(buf, 0xFF, sizeof(buf));
        ck_assert_int_eq(parse_len(buf, sizeof(buf), MAX_PULSE, &c), -EMSGSIZE);
}
END_TEST

START_TEST(test_errbuf) {
        struct command c;
        char small[8];

        /* No room for a reason is fine. */
        ck_assert_int_eq(command_parse("FLIP", 4, MAX_PULSE, &c, NULL, 0), -EINVAL);
        ck_assert_int_eq(command_parse("{\"state\":\"ON\",\"pulse_ms\":90000}", 31, MAX_PULSE,
                                       &c, NULL, 0), -ERANGE);

        /* A short buffer gets a truncated, terminated reason and nothing past its end. */
        memset(small, 'x', sizeof(small));
        ck_assert_int_eq(command_parse("", 0, MAX_PULSE, &c, small, 5), -EINVAL);
        ck_assert_str_eq(small, "payl");
        ck_assert_int_eq(small[5], 'x');

        memset(small, 'x', sizeof(small));
        ck_assert_int_eq(command_parse("{\"state\":\"ON\",\"pulse_ms\":90000}", 31, MAX_PULSE,
                                       &c, small, 6), -ERANGE);
        ck_assert_str_eq(small, "pulse");
        ck_assert_int_eq(small[6], 'x');
}
END_TEST

/* utf8_valid */

START_TEST(test_utf8_valid) {
        static const char *const good[] = {
                "", "plain ASCII", "\x7F",
                "\xC2\x80", "\xDF\xBF",                       /* U+0080, U+07FF */
                "\xE0\xA0\x80", "\xEF\xBF\xBF",               /* U+0800, U+FFFF */
                "\xED\x9F\xBF", "\xEE\x80\x80",               /* around the surrogates */
                "\xEF\xBB\xBF",                               /* BOM: valid, just not a command */
                "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",       /* U+10000, U+10FFFF */
                "\xC3\xA4\xE2\x82\xAC\xF0\x9F\x98\x80",       /* ä € 😀 */
        };
        static const char *const bad[] = {
                "\x80", "\xBF", "a\x80z",                     /* lone continuation bytes */
                "\xC0\x80", "\xC1\xBF",                       /* overlong 2-byte */
                "\xE0\x80\x80", "\xE0\x9F\xBF",               /* overlong 3-byte */
                "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF",       /* overlong 4-byte */
                "\xED\xA0\x80", "\xED\xAF\xBF", "\xED\xB0\x80", "\xED\xBF\xBF", /* surrogates */
                "\xED\xA0\xBD\xED\xB8\x80",                   /* CESU-8 pair */
                "\xF4\x90\x80\x80", "\xF7\xBF\xBF\xBF",       /* above U+10FFFF */
                "\xF8\x88\x80\x80\x80", "\xFC\x84\x80\x80\x80\x80", /* 5/6-byte forms */
                "\xFE", "\xFF",
                "\xC2", "\xE0\xA0", "\xF0\x90\x80",           /* truncated at the end */
                "\xC2" "A", "\xE0\xA0" "A", "\xF0\x90\x80" "A", /* truncated mid-string */
                "\xE2\x82\x28",                               /* bad third byte */
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ck_assert_msg(utf8_valid(good[i], strlen(good[i])), "good #%zu", i);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(!utf8_valid(bad[i], strlen(bad[i])), "bad #%zu", i);

        /* NUL is a valid character; the length, not a terminator, bounds the check. */
        ck_assert(utf8_valid("a\0b", 3));
        ck_assert(utf8_valid("\xE2\x82\xAC", 2) == false);
        ck_assert(utf8_valid("\xFF", 0));
}
END_TEST

/* Every code point from U+0000 to U+10FFFF, encoded by hand, is valid exactly when it is
 * not a surrogate; this catches a wrong boundary anywhere in the table. */
START_TEST(test_utf8_all_code_points) {
        for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
                uint8_t b[4];
                size_t n;

                if (cp < 0x80) {
                        b[0] = (uint8_t) cp;
                        n = 1;
                } else if (cp < 0x800) {
                        b[0] = (uint8_t) (0xC0 | (cp >> 6));
                        b[1] = (uint8_t) (0x80 | (cp & 0x3F));
                        n = 2;
                } else if (cp < 0x10000) {
                        b[0] = (uint8_t) (0xE0 | (cp >> 12));
                        b[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F));
                        b[2] = (uint8_t) (0x80 | (cp & 0x3F));
                        n = 3;
                } else {
                        b[0] = (uint8_t) (0xF0 | (cp >> 18));
                        b[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3F));
                        b[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F));
                        b[3] = (uint8_t) (0x80 | (cp & 0x3F));
                        n = 4;
                }
                /* Plain ifs: a Check assertion per code point would cost a syscall each. */
                if (utf8_valid(b, n) != !(cp >= 0xD800 && cp <= 0xDFFF))
                        ck_abort_msg("U+%04X", cp);
                /* Any proper prefix of a multi-byte character is truncated. */
                for (size_t k = 1; k < n; k++)
                        if (utf8_valid(b, k))
                                ck_abort_msg("U+%04X cut to %zu", cp, k);
        }
}
END_TEST

static Suite *command_suite(void) {
        Suite *s = suite_create("command");
        TCase *tc;

        tc = tcase_create("parse");
        tcase_add_loop_test(tc, test_accepted, 0, ELEMENTSOF(accepted));
        tcase_add_test(tc, test_exactly_max_length);
        tcase_add_test(tc, test_max_pulse_not_whole_ms);
        tcase_add_loop_test(tc, test_rejected, 0, ELEMENTSOF(rejected));
        tcase_add_test(tc, test_too_long);
        tcase_add_test(tc, test_errbuf);
        suite_add_tcase(s, tc);

        tc = tcase_create("utf8");
        tcase_add_test(tc, test_utf8_valid);
        tcase_add_test(tc, test_utf8_all_code_points);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(command_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
