/* c-ares on sd-event. c-ares tells us through its socket-state callback which sockets
 * it wants watched; each gets an I/O source. After every call into c-ares the single
 * timer is re-armed from ares_timeout(), which is how c-ares retries and gives up. */
#include "resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "log.h"

/* c-ares opens one UDP and at most one TCP socket per name server. */
#define RESOLVER_MAX_SOCKETS 16

struct resolver_socket {
        int fd;                         /* -1: unused */
        sd_event_source *source;
};

struct resolver {
        sd_event *event;
        ares_channel channel;
        sd_event_source *timer;
        struct resolver_socket sockets[RESOLVER_MAX_SOCKETS];

        /* A query is in progress; a cancelled query's late answer (ARES_ECANCELLED,
         * ARES_EDESTRUCTION) finds it false and is dropped. */
        bool busy;
        resolver_callback_t cb;
        void *userdata;

        char addresses[RESOLVER_MAX_ADDRESSES][INET6_ADDRSTRLEN];
};

static void resolver_rearm_timer(struct resolver *r);

static int ares_status_to_errno(int status)
{
        switch (status) {
        case ARES_ENOTFOUND:
        case ARES_ENODATA:
                return -ENXIO;
        case ARES_ENOMEM:
                return -ENOMEM;
        case ARES_ETIMEOUT:
                return -ETIMEDOUT;
        case ARES_ECANCELLED:
        case ARES_EDESTRUCTION:
                return -ECANCELED;
        case ARES_ECONNREFUSED:
                return -ECONNREFUSED;
        default:
                return -EHOSTUNREACH;
        }
}

static int resolver_io_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct resolver *r = userdata;

        ares_process_fd(r->channel,
                        revents & (EPOLLIN | EPOLLERR | EPOLLHUP) ? fd : ARES_SOCKET_BAD,
                        revents & EPOLLOUT ? fd : ARES_SOCKET_BAD);
        resolver_rearm_timer(r);
        return 0;
}

static int resolver_timer_handler(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct resolver *r = userdata;

        ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        resolver_rearm_timer(r);
        return 0;
}

static void resolver_rearm_timer(struct resolver *r)
{
        struct timeval tv, *t;
        uint64_t now;
        int q;

        if (!r->busy) {
                (void) sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
                return;
        }

        t = ares_timeout(r->channel, NULL, &tv);
        if (!t) {
                (void) sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
                return;
        }

        q = sd_event_now(r->event, CLOCK_MONOTONIC, &now);
        if (q < 0) {
                log_warning_errno(q, "resolver: cannot read the clock: %m, ignoring");
                return;
        }
        now += (uint64_t) t->tv_sec * USEC_PER_SEC + (uint64_t) t->tv_usec;
        q = sd_event_source_set_time(r->timer, now);
        if (q >= 0)
                q = sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
        if (q < 0)
                log_warning_errno(q, "resolver: cannot arm timer: %m, ignoring");
}

/* c-ares: start, change or stop watching one of its sockets. */
static void resolver_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
        struct resolver *r = data;
        struct resolver_socket *slot = NULL, *free_slot = NULL;
        uint32_t events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
        int q;

        for (size_t i = 0; i < RESOLVER_MAX_SOCKETS; i++) {
                if (r->sockets[i].fd == fd)
                        slot = &r->sockets[i];
                else if (r->sockets[i].fd < 0 && !free_slot)
                        free_slot = &r->sockets[i];
        }

        if (events == 0) {
                if (slot) {
                        slot->source = sd_event_source_disable_unref(slot->source);
                        slot->fd = -1;
                }
                return;
        }

        if (slot) {
                q = sd_event_source_set_io_events(slot->source, events);
                if (q < 0)
                        log_warning_errno(q, "resolver: cannot watch socket: %m, ignoring");
                return;
        }

        if (!free_slot) {
                /* The query then fails by timeout, which is logged by the caller. */
                log_warning("resolver: too many sockets, ignoring one");
                return;
        }

        q = sd_event_add_io(r->event, &free_slot->source, fd, events, resolver_io_handler, r);
        if (q < 0) {
                log_warning_errno(q, "resolver: cannot watch socket: %m, ignoring");
                return;
        }
        free_slot->fd = fd;
}

int resolver_new(sd_event *event, struct resolver **ret)
{
        _cleanup_(resolver_freep) struct resolver *r = NULL;
        struct ares_options options = {};
        int status, q;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        for (size_t i = 0; i < RESOLVER_MAX_SOCKETS; i++)
                r->sockets[i].fd = -1;
        r->event = sd_event_ref(event);

        status = ares_library_init(ARES_LIB_INIT_ALL);
        if (status != ARES_SUCCESS)
                return -ENOMEM;

        options.sock_state_cb = resolver_sock_state_cb;
        options.sock_state_cb_data = r;
        status = ares_init_options(&r->channel, &options, ARES_OPT_SOCK_STATE_CB);
        if (status != ARES_SUCCESS) {
                r->channel = NULL;
                ares_library_cleanup();
                return status == ARES_ENOMEM ? -ENOMEM : -EIO;
        }

        q = sd_event_add_time(event, &r->timer, CLOCK_MONOTONIC, UINT64_MAX, 0,
                              resolver_timer_handler, r);
        if (q < 0)
                return q;
        (void) sd_event_source_set_description(r->timer, "resolver-timer");

        *ret = TAKE_PTR(r);
        return 0;
}

struct resolver *resolver_free(struct resolver *r)
{
        if (!r)
                return NULL;

        r->busy = false;
        if (r->channel) {
                /* Calls the pending callback with ARES_EDESTRUCTION and closes the
                 * sockets through sock_state_cb, so the sources go first below. */
                ares_destroy(r->channel);
                ares_library_cleanup();
        }
        for (size_t i = 0; i < RESOLVER_MAX_SOCKETS; i++)
                r->sockets[i].source = sd_event_source_disable_unref(r->sockets[i].source);
        r->timer = sd_event_source_disable_unref(r->timer);
        sd_event_unref(r->event);
        return mfree(r);
}

static void resolver_addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *result)
{
        struct resolver *r = arg;
        size_t n = 0;
        int error = 0;

        /* A cancelled or superseded query: its owner no longer waits for it. */
        if (!r->busy || status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) {
                ares_freeaddrinfo(result);
                return;
        }
        r->busy = false;

        if (status != ARES_SUCCESS)
                error = ares_status_to_errno(status);
        else {
                for (struct ares_addrinfo_node *node = result ? result->nodes : NULL;
                     node && n < RESOLVER_MAX_ADDRESSES; node = node->ai_next) {
                        const void *a;

                        if (node->ai_family == AF_INET)
                                a = &((const struct sockaddr_in *) node->ai_addr)->sin_addr;
                        else if (node->ai_family == AF_INET6)
                                a = &((const struct sockaddr_in6 *) node->ai_addr)->sin6_addr;
                        else
                                continue;
                        if (inet_ntop(node->ai_family, a, r->addresses[n], INET6_ADDRSTRLEN))
                                n++;
                }
                if (n == 0)
                        error = -ENXIO;
        }
        ares_freeaddrinfo(result);

        r->cb(r, error, (const char (*)[INET6_ADDRSTRLEN]) r->addresses, n, r->userdata);
}

int resolver_resolve(struct resolver *r, const char *host, resolver_callback_t cb, void *userdata)
{
        struct ares_addrinfo_hints hints = {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
        };

        resolver_cancel(r);

        r->busy = true;
        r->cb = cb;
        r->userdata = userdata;

        /* May answer at once (numeric host, /etc/hosts); the callback then runs from
         * within this call, which the caller must be ready for. */
        ares_getaddrinfo(r->channel, host, NULL, &hints, resolver_addrinfo_cb, r);
        resolver_rearm_timer(r);
        return 0;
}

void resolver_cancel(struct resolver *r)
{
        if (!r || !r->busy)
                return;
        r->busy = false;
        ares_cancel(r->channel);
        resolver_rearm_timer(r);
}
