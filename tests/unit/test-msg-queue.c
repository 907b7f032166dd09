/* Unit tests for the link's bounded queue: order, limits, drop policy, in-flight
 * protection, requeue after a disconnect, byte accounting and arena wrap-around. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg-queue.h"

static struct msg_queue *q;

static void teardown(void)
{
        q = msg_queue_free(q);
}

static void setup_queue(size_t n, size_t bytes)
{
        ck_assert_int_eq(msg_queue_new(n, bytes, &q), 0);
}

static int push(enum mqtt_msg_class cls, const char *topic, const char *payload)
{
        return msg_queue_push(q, cls, 1, false, topic, payload, strlen(payload));
}

/* Marks the next unsent message in flight with `mid` and checks its payload. */
static void send_next(const char *payload, int mid)
{
        const struct msg_queue_entry *e = msg_queue_peek_unsent(q);

        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(e->len, strlen(payload));
        ck_assert(memcmp(e->payload, payload, e->len) == 0);
        msg_queue_mark_in_flight(q, e, mid);
}

static void expect_next(const char *topic, const char *payload)
{
        const struct msg_queue_entry *e = msg_queue_peek_unsent(q);

        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->topic, topic);
        ck_assert_uint_eq(e->len, strlen(payload));
        ck_assert(memcmp(e->payload, payload, e->len) == 0);
}

START_TEST(test_fifo_across_classes)
{
        const struct msg_queue_entry *e;
        uint64_t last_seq = 0;

        setup_queue(10, 1000);
        ck_assert_int_eq(push(MQTT_MSG_READING, "a/r", "1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "a/s", "2"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "a/r", "3"), 0);
        ck_assert_int_eq(msg_queue_push(q, MQTT_MSG_STATE, 0, true, "a/s", "4", 1), 0);
        ck_assert_uint_eq(msg_queue_count(q), 4);

        for (int i = 1; i <= 4; i++) {
                char p[2] = { (char) ('0' + i), 0 };

                e = msg_queue_peek_unsent(q);
                ck_assert_ptr_nonnull(e);
                ck_assert(memcmp(e->payload, p, 1) == 0);
                ck_assert_int_eq(e->cls, i % 2 ? MQTT_MSG_READING : MQTT_MSG_STATE);
                if (i > 1)
                        ck_assert_uint_gt(e->seq, last_seq);
                last_seq = e->seq;
                if (i == 4) {
                        ck_assert_int_eq(e->qos, 0);
                        ck_assert(e->retain);
                }
                msg_queue_mark_in_flight(q, e, 100 + i);
        }
        ck_assert_ptr_null(msg_queue_peek_unsent(q));
        ck_assert_uint_eq(msg_queue_in_flight(q), 4);

        /* Acks may come in any order. */
        ck_assert_int_eq(msg_queue_ack(q, 103), 0);
        ck_assert_int_eq(msg_queue_ack(q, 103), -ENOENT);
        ck_assert_int_eq(msg_queue_ack(q, 101), 0);
        ck_assert_int_eq(msg_queue_ack(q, 104), 0);
        ck_assert_int_eq(msg_queue_ack(q, 102), 0);
        ck_assert_uint_eq(msg_queue_count(q), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 0);
        ck_assert_uint_eq(msg_queue_in_flight(q), 0);
}
END_TEST

START_TEST(test_rejects)
{
        setup_queue(4, 10);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "t", "x"), -EINVAL);
        ck_assert_int_eq(push(MQTT_MSG_READING, "topic", "123456"), -EMSGSIZE);
        ck_assert_int_eq(push(MQTT_MSG_READING, "topic", "12345"), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 10);
        ck_assert_int_eq(msg_queue_new(0, 10, &(struct msg_queue *){ NULL }), -EINVAL);
}
END_TEST

START_TEST(test_drop_readings_first)
{
        setup_queue(4, 1000);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s2"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r2"), 0);

        /* Full by count: r1 goes, then r2, then the oldest STATE. */
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s3"), 1);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s4"), 1);
        ck_assert_uint_eq(msg_queue_dropped(q), 2);
        expect_next("s", "s1");
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r3"), 1);
        ck_assert_uint_eq(msg_queue_dropped(q), 3);

        send_next("s2", 1);
        send_next("s3", 2);
        send_next("s4", 3);
        send_next("r3", 4);
        ck_assert_uint_eq(msg_queue_count(q), 4);
}
END_TEST

START_TEST(test_drop_by_bytes)
{
        setup_queue(100, 12);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "aaa"), 0);    /* 4 bytes */
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "bbb"), 0);      /* 8 */
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "ccc"), 0);    /* 12 */
        ck_assert_uint_eq(msg_queue_bytes(q), 12);

        /* Needs 6 bytes: both readings go, the state stays. */
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "ddddd"), 2);
        ck_assert_uint_eq(msg_queue_bytes(q), 10);
        expect_next("s", "bbb");
        send_next("bbb", 7);
        expect_next("r", "ddddd");
}
END_TEST

START_TEST(test_in_flight_never_dropped)
{
        setup_queue(3, 1000);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r2"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r3"), 0);
        send_next("r1", 11);
        send_next("r2", 12);

        /* r3 is the only unsent one. */
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r4"), 1);
        expect_next("r", "r4");
        send_next("r4", 14);

        /* Everything in flight: nothing may be dropped, nothing changes. */
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s1"), -ENOBUFS);
        ck_assert_uint_eq(msg_queue_count(q), 3);
        ck_assert_uint_eq(msg_queue_dropped(q), 1);

        ck_assert_int_eq(msg_queue_ack(q, 12), 0);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s1"), 0);
        ck_assert_int_eq(msg_queue_ack(q, 11), 0);
        ck_assert_int_eq(msg_queue_ack(q, 14), 0);
        expect_next("s", "s1");
}
END_TEST

START_TEST(test_in_flight_bytes_never_dropped)
{
        setup_queue(10, 10);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "1234"), 0);
        send_next("1234", 1);
        /* 5 in flight + 6 > 10 even with every unsent message gone. */
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "12345"), -ENOBUFS);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "1234"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "1"), 1);
        ck_assert_uint_eq(msg_queue_bytes(q), 7);
}
END_TEST

START_TEST(test_requeue)
{
        setup_queue(10, 1000);
        for (int i = 0; i < 5; i++) {
                char p[8];

                snprintf(p, sizeof(p), "m%d", i);
                ck_assert_int_eq(push(i == 2 ? MQTT_MSG_STATE : MQTT_MSG_READING, "t", p), 0);
        }
        send_next("m0", 1);
        send_next("m1", 2);
        send_next("m2", 3);
        ck_assert_int_eq(msg_queue_ack(q, 2), 0);

        /* Disconnect: m0 and m2 are unsent again, ahead of m3, in their old order. */
        msg_queue_requeue(q);
        ck_assert_uint_eq(msg_queue_in_flight(q), 0);
        ck_assert_uint_eq(msg_queue_count(q), 4);
        ck_assert_int_eq(msg_queue_ack(q, 1), -ENOENT);

        send_next("m0", 1);
        send_next("m2", 2);
        send_next("m3", 3);
        send_next("m4", 4);
        ck_assert_ptr_null(msg_queue_peek_unsent(q));

        /* Requeued messages are droppable again. */
        msg_queue_requeue(q);
        for (int i = 0; i < 6; i++)
                ck_assert_int_eq(push(MQTT_MSG_READING, "t", "x"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "t", "y"), 1);
        expect_next("t", "m2");
}
END_TEST

START_TEST(test_wrap_around)
{
        char topic[32], payload[64];
        int next_push = 0;

        /* Tiny arena, many messages of varying sizes, acks out of order: data must
         * survive compaction byte for byte. */
        setup_queue(8, 200);
        for (int round = 0; round < 2000; round++) {
                int r;

                snprintf(topic, sizeof(topic), "t/%d", next_push);
                memset(payload, 'a' + next_push % 26, sizeof(payload));
                r = msg_queue_push(q, MQTT_MSG_STATE, 1, false, topic, payload,
                                   (size_t) (next_push * 7) % 40);
                if (r == -ENOBUFS) {
                        /* All in flight: a disconnect makes them droppable again. */
                        msg_queue_requeue(q);
                        continue;
                }
                ck_assert_int_ge(r, 0);
                next_push++;

                if (round % 3 == 0) {
                        const struct msg_queue_entry *e = msg_queue_peek_unsent(q);
                        int n;

                        ck_assert_ptr_nonnull(e);
                        ck_assert_int_eq(sscanf(e->topic, "t/%d", &n), 1);
                        ck_assert_uint_eq(e->len, (size_t) (n * 7) % 40);
                        for (size_t k = 0; k < e->len; k++)
                                ck_assert_int_eq(((const char *) e->payload)[k], 'a' + n % 26);
                        msg_queue_mark_in_flight(q, e, n);
                        /* Ack every other one right away, the rest later. */
                        if (n % 2 == 0)
                                ck_assert_int_eq(msg_queue_ack(q, n), 0);
                }
                if (round % 50 == 0)
                        msg_queue_requeue(q);
                ck_assert_uint_le(msg_queue_bytes(q), 200);
                ck_assert_uint_le(msg_queue_count(q), 8);
        }
        ck_assert_uint_gt(msg_queue_dropped(q), 0);
}
END_TEST

START_TEST(test_byte_accounting)
{
        setup_queue(10, 1000);
        ck_assert_int_eq(msg_queue_push(q, MQTT_MSG_READING, 0, false, "abc", NULL, 0), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 3);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "de", "12345"), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 10);
        send_next("", 1);
        ck_assert_int_eq(msg_queue_ack(q, 1), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 7);
        ck_assert_uint_eq(msg_queue_count(q), 1);
}
END_TEST

static Suite *msg_queue_suite(void)
{
        Suite *s = suite_create("msg-queue");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_add_test(tc, test_fifo_across_classes);
        tcase_add_test(tc, test_rejects);
        tcase_add_test(tc, test_drop_readings_first);
        tcase_add_test(tc, test_drop_by_bytes);
        tcase_add_test(tc, test_in_flight_never_dropped);
        tcase_add_test(tc, test_in_flight_bytes_never_dropped);
        tcase_add_test(tc, test_requeue);
        tcase_add_test(tc, test_wrap_around);
        tcase_add_test(tc, test_byte_accounting);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(msg_queue_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
