/* SPDX-License-Identifier: MIT */
/* Unit tests for the topic helpers: level validation, building topics, and routing
 * incoming command topics back to an entity and a verb. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "topic.h"

START_TEST(test_level_valid) {
        static const char *const good[] = {
                "a", "Z", "0", "_", "-", "lamp", "living_room-1", "ABCxyz019_-",
                "1234567890123456789012345678901234567890123456789012345678901234", /* 64 */
        };
        static const char *const bad[] = {
                "", "a/b", "/", "a+", "#", "a b", " a", "a\n", "lämp", "a.b", "a$", "a\"",
                "12345678901234567890123456789012345678901234567890123456789012345", /* 65 */
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ck_assert_msg(topic_level_valid(good[i]), "\"%s\"", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(!topic_level_valid(bad[i]), "\"%s\"", bad[i]);
        ck_assert(!topic_level_valid(NULL));
}
END_TEST

START_TEST(test_build) {
        _cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

        ck_assert_int_eq(topic_build(&a, "iotgwd", "lamp", "set", NULL), 0);
        ck_assert_str_eq(a, "iotgwd/lamp/set");
        ck_assert_int_eq(topic_build(&b, "home/gw1", "climate", NULL), 0);
        ck_assert_str_eq(b, "home/gw1/climate");
        ck_assert_int_eq(topic_build(&c, "iotgwd", "", "state", NULL), 0);
        ck_assert_str_eq(c, "iotgwd/state");
        ck_assert_int_eq(topic_build(&d, "", "lamp", NULL), 0);
        ck_assert_str_eq(d, "lamp");
        ck_assert_int_eq(topic_build(&e, "homeassistant", "binary_sensor", "iotgwd_gw1",
                                     "door", "config", NULL), 0);
        ck_assert_str_eq(e, "homeassistant/binary_sensor/iotgwd_gw1/door/config");
}
END_TEST

START_TEST(test_build_nothing) {
        char *t = (char *) "untouched";

        ck_assert_int_eq(topic_build(&t, NULL, NULL), -EINVAL);    /* first NULL: empty list */
        ck_assert_str_eq(t, "untouched");
        ck_assert_int_eq(topic_build(&t, "", "", NULL), -EINVAL);
        ck_assert_str_eq(t, "untouched");
}
END_TEST

START_TEST(test_build_long) {
        _cleanup_(freep) char *t = NULL;
        char level[1001];

        memset(level, 'x', sizeof(level) - 1);
        level[sizeof(level) - 1] = '\0';
        ck_assert_int_eq(topic_build(&t, level, level, level, NULL), 0);
        ck_assert_uint_eq(strlen(t), 3 * 1000 + 2);
        ck_assert_int_eq(t[1000], '/');
        ck_assert_int_eq(t[2001], '/');
}
END_TEST

static const struct {
        const char *base;
        const char *topic;
        const char *entity;             /* NULL: -EINVAL expected */
        const char *verb;
} splits[] = {
        { "iotgwd", "iotgwd/lamp/set", "lamp", "set" },
        { "home/gw1", "home/gw1/relay_2/set", "relay_2", "set" },
        { "iotgwd", "iotgwd/a/b", "a", "b" },
        { "", "lamp/set", "lamp", "set" },
        { "iotgwd", "iotgwd/lamp-1/pulse", "lamp-1", "pulse" },
        { "iotgwd", "iotgwd/1234567890123456789012345678901234567890123456789012345678901234/set",
          "1234567890123456789012345678901234567890123456789012345678901234", "set" },
        /* refused */
        { "iotgwd", "iotgwd/12345678901234567890123456789012345678901234567890123456789012345/set", NULL, NULL },
        { "iotgwd", "iotgwd/lamp", NULL, NULL },
        { "iotgwd", "iotgwd/lamp/", NULL, NULL },
        { "iotgwd", "iotgwd//set", NULL, NULL },
        { "iotgwd", "iotgwd/lamp/set/x", NULL, NULL },
        { "iotgwd", "iotgwd/lamp/set/", NULL, NULL },
        { "iotgwd", "iotgwd/la mp/set", NULL, NULL },
        { "iotgwd", "iotgwd/lamp/se t", NULL, NULL },
        { "iotgwd", "iotgwd/+/set", NULL, NULL },
        { "iotgwd", "iotgwd/lamp/#", NULL, NULL },
        { "iotgwd", "iotgwdx/lamp/set", NULL, NULL },
        { "iotgwd", "iotgwd-lamp/set", NULL, NULL },     /* base must end at a '/' */
        { "iotgwd", "iotgwdxlamp/set", NULL, NULL },
        { "iotgwd", "iotgw/lamp/set", NULL, NULL },
        { "iotgwd", "iotgwd", NULL, NULL },
        { "iotgwd", "iotgwd/", NULL, NULL },
        { "iotgwd", "", NULL, NULL },
        { "iotgwd", "/iotgwd/lamp/set", NULL, NULL },
        { "iotgwd", "other/lamp/set", NULL, NULL },
        { "home/gw1", "home/gw2/lamp/set", NULL, NULL },
        { "home/gw1", "home/gw1/x/lamp/set", NULL, NULL },
        { "", "/lamp/set", NULL, NULL },
        { "", "lamp", NULL, NULL },
        { "", "", NULL, NULL },
};

START_TEST(test_split) {
        const char *base = splits[_i].base, *topic = splits[_i].topic;
        const char *entity = (const char *) 1, *verb = (const char *) 2;
        size_t entity_len = 3;
        int r;

        r = topic_split_command(base, topic, &entity, &entity_len, &verb);
        if (!splits[_i].entity) {
                ck_assert_msg(r == -EINVAL, "\"%s\" under \"%s\": %d", topic, base, r);
                ck_assert_ptr_eq(entity, (const char *) 1);
                ck_assert_ptr_eq(verb, (const char *) 2);
                ck_assert_uint_eq(entity_len, 3);
                return;
        }

        ck_assert_msg(r == 0, "\"%s\" under \"%s\": %d", topic, base, r);
        /* Pointers into the topic itself: routing needs no copy. */
        ck_assert(entity >= topic && entity < topic + strlen(topic));
        ck_assert(verb > entity && verb < topic + strlen(topic));
        ck_assert_uint_eq(entity_len, strlen(splits[_i].entity));
        ck_assert_mem_eq(entity, splits[_i].entity, entity_len);
        ck_assert_str_eq(verb, splits[_i].verb);
}
END_TEST

START_TEST(test_build_then_split) {
        _cleanup_(freep) char *t = NULL;
        const char *entity, *verb;
        size_t len;

        ck_assert_int_eq(topic_build(&t, "site/gw", "pump", "set", NULL), 0);
        ck_assert_int_eq(topic_split_command("site/gw", t, &entity, &len, &verb), 0);
        ck_assert_uint_eq(len, 4);
        ck_assert_mem_eq(entity, "pump", 4);
        ck_assert_str_eq(verb, "set");
}
END_TEST

static Suite *topic_suite(void) {
        Suite *s = suite_create("topic");
        TCase *tc = tcase_create("topic");

        tcase_add_test(tc, test_level_valid);
        tcase_add_test(tc, test_build);
        tcase_add_test(tc, test_build_nothing);
        tcase_add_test(tc, test_build_long);
        tcase_add_loop_test(tc, test_split, 0, ELEMENTSOF(splits));
        tcase_add_test(tc, test_build_then_split);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(topic_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
