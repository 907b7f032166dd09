/* SPDX-License-Identifier: MIT */
/* The bounded message queue of the MQTT link.
 *
 * Entries live in a table allocated once; they are chained twice by index: one list in
 * sending order (all classes, by sequence number) and one list per class, so that the
 * oldest message of a class is found without scanning the others. Messages go out in
 * order and go back to "unsent" all together on a disconnect, so the in-flight ones are
 * always a prefix of both lists: finding the oldest droppable entry only skips the
 * in-flight ones, which the link caps at a few dozen, and finding an unsent message to
 * coalesce with walks a class list back from its end and stops at the in-flight part.
 *
 * Topic, correlation data and payload bytes are stored in one arena, appended at its
 * end; holes left by acked, dropped or shrunk messages are squeezed out by moving the
 * live data down when the end is reached, so memory stays bounded without any
 * allocation per message. A coalesced message is rewritten in place only when it fits
 * in its old space, which keeps arena order equal to sending order. */
#include "msg-queue.h"

#include <errno.h>
#include <string.h>

#include "macro.h"

#define NIL UINT32_MAX
#define N_CLASSES 4

/* Dropped first to last; a class's position here is its rank. */
static const enum mqtt_msg_class drop_order[N_CLASSES] = {
        MQTT_MSG_VOLATILE, MQTT_MSG_REFRESH, MQTT_MSG_READING, MQTT_MSG_STATE,
};

struct slot {
        struct msg_queue_entry e;       /* first: the public view converts back to the slot */
        size_t off;                     /* in the arena: topic, NUL, correlation data, payload */
        size_t size;
        uint32_t hash;                  /* of topic and correlation data, for coalescing */
        uint32_t prev, next;            /* sending order; next also chains free slots */
        uint32_t cprev, cnext;          /* order within the class */
        int mid;
        bool in_flight;
};

struct class_count {
        size_t count, bytes;            /* including in flight */
        size_t in_flight, in_flight_bytes;
};

struct msg_queue {
        size_t max_messages;
        size_t max_bytes;

        struct slot *slots;
        uint32_t free_head;
        uint32_t head, tail;
        uint32_t chead[N_CLASSES], ctail[N_CLASSES];
        struct class_count ccount[N_CLASSES];
        uint32_t first_unsent;

        uint8_t *arena;
        size_t arena_size;
        size_t arena_end;

        size_t count;
        size_t bytes;
        size_t in_flight;
        size_t in_flight_bytes;
        uint64_t dropped;
        uint64_t next_seq;
};

int msg_queue_new(size_t max_messages, size_t max_bytes, struct msg_queue **ret) {
        _cleanup_(msg_queue_freep) struct msg_queue *q = NULL;

        if (max_messages < 1 || max_bytes < 1 || max_messages >= NIL)
                return -EINVAL;
        /* The arena also holds one NUL per topic. */
        if (max_bytes > SIZE_MAX - max_messages)
                return -EINVAL;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;

        q->max_messages = max_messages;
        q->max_bytes = max_bytes;
        q->arena_size = max_bytes + max_messages;
        q->slots = calloc(max_messages, sizeof(struct slot));
        q->arena = malloc(q->arena_size);
        if (!q->slots || !q->arena)
                return -ENOMEM;

        for (size_t i = 0; i < max_messages; i++)
                q->slots[i].next = i + 1 < max_messages ? (uint32_t) (i + 1) : NIL;
        q->free_head = 0;
        q->head = q->tail = q->first_unsent = NIL;
        for (size_t c = 0; c < N_CLASSES; c++)
                q->chead[c] = q->ctail[c] = NIL;

        *ret = TAKE_PTR(q);
        return 0;
}

struct msg_queue *msg_queue_free(struct msg_queue *q) {
        if (!q)
                return NULL;
        free(q->slots);
        free(q->arena);
        return mfree(q);
}

static unsigned class_rank(enum mqtt_msg_class cls) {
        for (unsigned k = 0; k < N_CLASSES; k++)
                if (drop_order[k] == cls)
                        return k;
        return N_CLASSES;
}

static bool class_coalesces(enum mqtt_msg_class cls) {
        return cls == MQTT_MSG_VOLATILE || cls == MQTT_MSG_REFRESH;
}

/* FNV-1a over the topic and the correlation data. */
static uint32_t message_hash(const char *topic, size_t tlen, const void *corr, size_t clen) {
        const uint8_t *p = (const uint8_t *) topic, *c = corr;
        uint32_t h = 2166136261u;

        for (size_t i = 0; i < tlen; i++)
                h = (h ^ p[i]) * 16777619u;
        h = (h ^ 0xffu) * 16777619u;
        for (size_t i = 0; i < clen; i++)
                h = (h ^ c[i]) * 16777619u;
        return h;
}

static uint32_t slot_index(const struct msg_queue *q, const struct slot *s) {
        return (uint32_t) (s - q->slots);
}

static size_t slot_topic_len(const struct slot *s) {
        return s->size - 1 - s->e.correlation_len - s->e.len;
}

static void slot_set_pointers(struct msg_queue *q, struct slot *s) {
        size_t tlen = slot_topic_len(s);

        s->e.topic = (const char *) q->arena + s->off;
        s->e.correlation_data = s->e.correlation_len > 0 ? q->arena + s->off + tlen + 1 : NULL;
        s->e.payload = q->arena + s->off + tlen + 1 + s->e.correlation_len;
}

/* Moves the live data to the start of the arena, in sending order (which is also
 * arena order, since data is only ever appended or rewritten in place). */
static void arena_compact(struct msg_queue *q) {
        size_t w = 0;

        for (uint32_t i = q->head; i != NIL; i = q->slots[i].next) {
                struct slot *s = &q->slots[i];

                if (s->off != w)
                        memmove(q->arena + w, q->arena + s->off, s->size);
                s->off = w;
                slot_set_pointers(q, s);
                w += s->size;
        }
        q->arena_end = w;
}

static void slot_unlink(struct msg_queue *q, struct slot *s) {
        uint32_t i = slot_index(q, s);
        int c = s->e.cls;

        if (q->first_unsent == i)
                q->first_unsent = s->next;

        if (s->prev != NIL)
                q->slots[s->prev].next = s->next;
        else
                q->head = s->next;
        if (s->next != NIL)
                q->slots[s->next].prev = s->prev;
        else
                q->tail = s->prev;

        if (s->cprev != NIL)
                q->slots[s->cprev].cnext = s->cnext;
        else
                q->chead[c] = s->cnext;
        if (s->cnext != NIL)
                q->slots[s->cnext].cprev = s->cprev;
        else
                q->ctail[c] = s->cprev;

        q->count--;
        q->bytes -= s->size - 1;
        q->ccount[c].count--;
        q->ccount[c].bytes -= s->size - 1;
        if (s->in_flight) {
                q->in_flight--;
                q->in_flight_bytes -= s->size - 1;
                q->ccount[c].in_flight--;
                q->ccount[c].in_flight_bytes -= s->size - 1;
        }

        s->next = q->free_head;
        q->free_head = i;

        /* Cheap reset while nothing is queued: no compaction needed afterwards. */
        if (q->count == 0)
                q->arena_end = 0;
}

/* The oldest message of the class that is not in flight. */
static struct slot *oldest_droppable(struct msg_queue *q, int c) {
        for (uint32_t i = q->chead[c]; i != NIL; i = q->slots[i].cnext)
                if (!q->slots[i].in_flight)
                        return &q->slots[i];
        return NULL;
}

/* An unsent message of the class with the same topic and correlation data. */
static struct slot *find_coalescable(struct msg_queue *q, int c, uint32_t hash, const char *topic,
                                     size_t tlen, const void *corr, size_t clen) {
        for (uint32_t i = q->ctail[c]; i != NIL && !q->slots[i].in_flight; i = q->slots[i].cprev) {
                struct slot *s = &q->slots[i];

                if (s->hash == hash && slot_topic_len(s) == tlen && s->e.correlation_len == clen &&
                    memcmp(s->e.topic, topic, tlen) == 0 &&
                    (clen == 0 || memcmp(s->e.correlation_data, corr, clen) == 0))
                        return s;
        }
        return NULL;
}

static void slot_write(struct msg_queue *q, struct slot *s, const char *topic, size_t tlen,
                       const void *corr, size_t clen, const void *payload, size_t len) {
        uint8_t *p = q->arena + s->off;

        memcpy(p, topic, tlen + 1);
        if (clen > 0)
                memcpy(p + tlen + 1, corr, clen);
        if (len > 0)
                memcpy(p + tlen + 1 + clen, payload, len);
        slot_set_pointers(q, s);
}

int msg_queue_push(struct msg_queue *q, enum mqtt_msg_class cls, int qos, bool retain,
                   const char *topic, const void *payload, size_t len) {
        return msg_queue_push_correlated(q, cls, qos, retain, topic, payload, len, NULL, 0);
}

int msg_queue_push_correlated(struct msg_queue *q, enum mqtt_msg_class cls, int qos, bool retain,
                              const char *topic, const void *payload, size_t len,
                              const void *correlation_data, size_t correlation_len) {
        size_t tlen, need, keep_count, keep_bytes;
        struct slot *s, *old = NULL;
        unsigned rank;
        uint32_t i, hash = 0;
        int dropped = 0;

        rank = class_rank(cls);
        if (rank >= N_CLASSES || !topic || (len > 0 && !payload) ||
            (correlation_len > 0 && !correlation_data))
                return -EINVAL;

        tlen = strlen(topic);
        if (tlen > q->max_bytes || correlation_len > q->max_bytes - tlen ||
            len > q->max_bytes - tlen - correlation_len) {
                q->dropped++;
                return -EMSGSIZE;
        }
        need = tlen + correlation_len + len;

        if (class_coalesces(cls)) {
                hash = message_hash(topic, tlen, correlation_data, correlation_len);
                old = find_coalescable(q, cls, hash, topic, tlen, correlation_data, correlation_len);
        }

        if (old && old->size >= need + 1) {
                /* Same topic and correlation data: only the payload changes, in place. */
                size_t freed = old->size - 1 - need;

                q->bytes -= freed;
                q->ccount[cls].bytes -= freed;
                old->size = need + 1;
                old->e.len = len;
                old->e.qos = qos;
                old->e.retain = retain;
                if (len > 0)
                        memcpy(q->arena + old->off + tlen + 1 + correlation_len, payload, len);
                slot_set_pointers(q, old);
                return 0;
        }

        /* What stays whatever we drop: in-flight messages and the classes dropped after
         * this one. Refuse before dropping anything if that leaves no room. */
        keep_count = q->count;
        keep_bytes = q->bytes;
        for (unsigned k = 0; k <= rank; k++) {
                const struct class_count *cc = &q->ccount[drop_order[k]];

                keep_count -= cc->count - cc->in_flight;
                keep_bytes -= cc->bytes - cc->in_flight_bytes;
        }
        if (keep_count + 1 > q->max_messages || keep_bytes + need > q->max_bytes) {
                q->dropped++;
                return -ENOBUFS;
        }

        /* Replaced, not dropped: the new version goes to the end of the line. */
        if (old)
                slot_unlink(q, old);

        while (q->count + 1 > q->max_messages || q->bytes + need > q->max_bytes) {
                struct slot *victim = NULL;

                for (unsigned k = 0; k <= rank && !victim; k++)
                        victim = oldest_droppable(q, drop_order[k]);
                if (!victim)            /* cannot happen after the check above */
                        return -ENOBUFS;
                slot_unlink(q, victim);
                q->dropped++;
                dropped++;
        }

        if (q->arena_end + need + 1 > q->arena_size)
                arena_compact(q);

        i = q->free_head;
        s = &q->slots[i];
        q->free_head = s->next;

        *s = (struct slot) {
                .e = {
                        .seq = q->next_seq++,
                        .cls = cls,
                        .qos = qos,
                        .retain = retain,
                        .len = len,
                        .correlation_len = correlation_len,
                },
                .off = q->arena_end,
                .size = need + 1,
                .hash = hash,
                .prev = q->tail,
                .next = NIL,
                .cprev = q->ctail[cls],
                .cnext = NIL,
        };
        slot_write(q, s, topic, tlen, correlation_data, correlation_len, payload, len);
        q->arena_end += s->size;

        if (q->tail != NIL)
                q->slots[q->tail].next = i;
        else
                q->head = i;
        q->tail = i;
        if (q->ctail[cls] != NIL)
                q->slots[q->ctail[cls]].cnext = i;
        else
                q->chead[cls] = i;
        q->ctail[cls] = i;

        if (q->first_unsent == NIL)
                q->first_unsent = i;
        q->count++;
        q->bytes += need;
        q->ccount[cls].count++;
        q->ccount[cls].bytes += need;

        return dropped;
}

const struct msg_queue_entry *msg_queue_peek_unsent(const struct msg_queue *q) {
        if (q->first_unsent == NIL)
                return NULL;
        return &q->slots[q->first_unsent].e;
}

void msg_queue_mark_in_flight(struct msg_queue *q, const struct msg_queue_entry *e, int mid) {
        struct slot *s = (struct slot *) e;

        /* Only the first unsent message may go out: that keeps in-flight a prefix. */
        if (slot_index(q, s) != q->first_unsent)
                return;

        s->in_flight = true;
        s->mid = mid;
        q->in_flight++;
        q->in_flight_bytes += s->size - 1;
        q->ccount[s->e.cls].in_flight++;
        q->ccount[s->e.cls].in_flight_bytes += s->size - 1;
        q->first_unsent = s->next;
}

const struct msg_queue_entry *msg_queue_find_in_flight(const struct msg_queue *q, int mid) {
        for (uint32_t i = q->head; i != NIL && q->slots[i].in_flight; i = q->slots[i].next)
                if (q->slots[i].mid == mid)
                        return &q->slots[i].e;
        return NULL;
}

int msg_queue_ack(struct msg_queue *q, int mid) {
        for (uint32_t i = q->head; i != NIL && q->slots[i].in_flight; i = q->slots[i].next)
                if (q->slots[i].mid == mid) {
                        slot_unlink(q, &q->slots[i]);
                        return 0;
                }
        return -ENOENT;
}

void msg_queue_requeue(struct msg_queue *q) {
        for (uint32_t i = q->head; i != NIL && q->slots[i].in_flight; i = q->slots[i].next)
                q->slots[i].in_flight = false;
        q->in_flight = 0;
        q->in_flight_bytes = 0;
        for (size_t c = 0; c < N_CLASSES; c++)
                q->ccount[c].in_flight = q->ccount[c].in_flight_bytes = 0;
        q->first_unsent = q->head;
}

size_t msg_queue_drop_class(struct msg_queue *q, enum mqtt_msg_class cls) {
        struct slot *s;
        size_t n = 0;

        if (class_rank(cls) >= N_CLASSES)
                return 0;
        while ((s = oldest_droppable(q, cls))) {
                slot_unlink(q, s);
                n++;
        }
        q->dropped += n;
        return n;
}

size_t msg_queue_count(const struct msg_queue *q) {
        return q->count;
}

size_t msg_queue_bytes(const struct msg_queue *q) {
        return q->bytes;
}

size_t msg_queue_in_flight(const struct msg_queue *q) {
        return q->in_flight;
}

uint64_t msg_queue_dropped(const struct msg_queue *q) {
        return q->dropped;
}
