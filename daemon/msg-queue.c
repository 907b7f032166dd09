/* The bounded message queue of the MQTT link.
 *
 * Entries live in a table allocated once; they are chained twice by index: one list in
 * sending order (all classes, by sequence number) and one list per droppable class, so
 * that the oldest READING or STATE is found without scanning the others. Messages go out
 * in order and go back to "unsent" all together on a disconnect, so the in-flight ones
 * are always a prefix of both lists: finding the oldest droppable entry only skips the
 * in-flight ones, which the link caps at a few dozen.
 *
 * Topic and payload bytes are stored in one arena, appended at its end; holes left by
 * acked or dropped messages are squeezed out by moving the live data down when the end
 * is reached, so memory stays bounded without any allocation per message. */
#include "msg-queue.h"

#include <errno.h>
#include <string.h>

#include "macro.h"

#define NIL UINT32_MAX
#define N_CLASSES 2                     /* READING and STATE are queued */

struct slot {
        struct msg_queue_entry e;       /* first: the public view converts back to the slot */
        size_t off;                     /* in the arena: topic, NUL, payload */
        size_t size;
        uint32_t prev, next;            /* sending order; next also chains free slots */
        uint32_t cprev, cnext;          /* order within the class */
        int mid;
        bool in_flight;
};

struct msg_queue {
        size_t max_messages;
        size_t max_bytes;

        struct slot *slots;
        uint32_t free_head;
        uint32_t head, tail;
        uint32_t chead[N_CLASSES], ctail[N_CLASSES];
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

int msg_queue_new(size_t max_messages, size_t max_bytes, struct msg_queue **ret)
{
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

struct msg_queue *msg_queue_free(struct msg_queue *q)
{
        if (!q)
                return NULL;
        free(q->slots);
        free(q->arena);
        return mfree(q);
}

static uint32_t slot_index(const struct msg_queue *q, const struct slot *s)
{
        return (uint32_t) (s - q->slots);
}

static void slot_set_pointers(struct msg_queue *q, struct slot *s)
{
        size_t tlen = s->size - s->e.len - 1;

        s->e.topic = (const char *) q->arena + s->off;
        s->e.payload = q->arena + s->off + tlen + 1;
}

/* Moves the live data to the start of the arena, in sending order (which is also
 * arena order, since data is only ever appended). */
static void arena_compact(struct msg_queue *q)
{
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

static void slot_unlink(struct msg_queue *q, struct slot *s)
{
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
        if (s->in_flight) {
                q->in_flight--;
                q->in_flight_bytes -= s->size - 1;
        }

        s->next = q->free_head;
        q->free_head = i;

        /* Cheap reset while nothing is queued: no compaction needed afterwards. */
        if (q->count == 0)
                q->arena_end = 0;
}

/* The oldest message of the class that is not in flight. */
static struct slot *oldest_droppable(struct msg_queue *q, int c)
{
        for (uint32_t i = q->chead[c]; i != NIL; i = q->slots[i].cnext)
                if (!q->slots[i].in_flight)
                        return &q->slots[i];
        return NULL;
}

int msg_queue_push(struct msg_queue *q, enum mqtt_msg_class cls, int qos, bool retain,
                   const char *topic, const void *payload, size_t len)
{
        static const enum mqtt_msg_class drop_order[] = { MQTT_MSG_READING, MQTT_MSG_STATE };
        size_t tlen, need;
        struct slot *s;
        uint32_t i;
        int dropped = 0;

        if ((unsigned) cls >= N_CLASSES || !topic || (len > 0 && !payload))
                return -EINVAL;

        tlen = strlen(topic);
        if (tlen > q->max_bytes || len > q->max_bytes - tlen)
                return -EMSGSIZE;
        need = tlen + len;

        /* Refuse before dropping anything if even an empty unsent part cannot make room. */
        if (q->in_flight + 1 > q->max_messages || q->in_flight_bytes + need > q->max_bytes)
                return -ENOBUFS;

        while (q->count + 1 > q->max_messages || q->bytes + need > q->max_bytes) {
                struct slot *victim = NULL;

                for (size_t k = 0; k < ELEMENTSOF(drop_order) && !victim; k++)
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
                },
                .off = q->arena_end,
                .size = need + 1,
                .prev = q->tail,
                .next = NIL,
                .cprev = q->ctail[cls],
                .cnext = NIL,
        };
        memcpy(q->arena + s->off, topic, tlen + 1);
        if (len > 0)
                memcpy(q->arena + s->off + tlen + 1, payload, len);
        q->arena_end += s->size;
        slot_set_pointers(q, s);

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

        return dropped;
}

const struct msg_queue_entry *msg_queue_peek_unsent(const struct msg_queue *q)
{
        if (q->first_unsent == NIL)
                return NULL;
        return &q->slots[q->first_unsent].e;
}

void msg_queue_mark_in_flight(struct msg_queue *q, const struct msg_queue_entry *e, int mid)
{
        struct slot *s = (struct slot *) e;

        /* Only the first unsent message may go out: that keeps in-flight a prefix. */
        if (slot_index(q, s) != q->first_unsent)
                return;

        s->in_flight = true;
        s->mid = mid;
        q->in_flight++;
        q->in_flight_bytes += s->size - 1;
        q->first_unsent = s->next;
}

int msg_queue_ack(struct msg_queue *q, int mid)
{
        for (uint32_t i = q->head; i != NIL && q->slots[i].in_flight; i = q->slots[i].next)
                if (q->slots[i].mid == mid) {
                        slot_unlink(q, &q->slots[i]);
                        return 0;
                }
        return -ENOENT;
}

void msg_queue_requeue(struct msg_queue *q)
{
        for (uint32_t i = q->head; i != NIL && q->slots[i].in_flight; i = q->slots[i].next)
                q->slots[i].in_flight = false;
        q->in_flight = 0;
        q->in_flight_bytes = 0;
        q->first_unsent = q->head;
}

size_t msg_queue_count(const struct msg_queue *q)
{
        return q->count;
}

size_t msg_queue_bytes(const struct msg_queue *q)
{
        return q->bytes;
}

size_t msg_queue_in_flight(const struct msg_queue *q)
{
        return q->in_flight;
}

uint64_t msg_queue_dropped(const struct msg_queue *q)
{
        return q->dropped;
}
