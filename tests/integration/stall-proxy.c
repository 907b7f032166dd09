/* SPDX-License-Identifier: MIT */
/* The stalling TCP proxy of the integration tests (see stall-proxy.h).
 *
 * One thread, one poll() loop over the listening socket, a control pipe and both sockets
 * of every connection. Each direction has a buffer; client-to-broker data is cut into
 * whole MQTT packets (fixed header, remaining length) and only whole packets are
 * forwarded, so that a PINGREQ can be slipped in between two while a connection is
 * stalled. */
#include "stall-proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 8
#define BUF_SIZE (1024 * 1024)
#define PING_INTERVAL_MS 1000
/* Small, so that a stalled connection fills up quickly. */
#define CLIENT_RCVBUF 32768

struct conn {
        int cfd, ufd;                   /* client side, broker side; -1: slot free */
        bool stalled;
        uint8_t *c2u;                   /* from the client; [0, c2u_whole) holds whole packets */
        size_t c2u_len, c2u_whole;
        uint8_t *u2c;
        size_t u2c_len;
        long long last_ping_ms;
};

struct stall_proxy {
        int listen_fd;
        unsigned port, upstream_port;
        int ctl[2];                     /* commands to the thread */
        int ack[2];                     /* its answers */
        pthread_t thread;
        bool thread_started;
        unsigned accepted;              /* atomic */
        struct conn conns[MAX_CONNS];
};

static long long mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_close(struct conn *c) {
        if (c->cfd >= 0)
                close(c->cfd);
        if (c->ufd >= 0)
                close(c->ufd);
        free(c->c2u);
        free(c->u2c);
        *c = (struct conn) { .cfd = -1, .ufd = -1 };
}

/* Extends the prefix of whole MQTT packets as far as the data goes. */
static void conn_find_packets(struct conn *c) {
        for (;;) {
                size_t o = c->c2u_whole, rl = 0, n = 0, total;
                unsigned shift = 0;
                bool done = false;

                while (o + 1 + n < c->c2u_len && n < 4) {
                        uint8_t b = c->c2u[o + 1 + n];

                        rl |= (size_t) (b & 0x7f) << shift;
                        shift += 7;
                        n++;
                        if (!(b & 0x80)) {
                                done = true;
                                break;
                        }
                }
                if (!done)
                        return;
                total = 1 + n + rl;
                if (o + total > c->c2u_len)
                        return;
                c->c2u_whole += total;
        }
}

static void proxy_accept(struct stall_proxy *p) {
        struct sockaddr_in up = { .sin_family = AF_INET, .sin_port = htons((uint16_t) p->upstream_port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct conn *c = NULL;
        int cfd, ufd, one = 1;

        cfd = accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return;
        for (size_t i = 0; i < MAX_CONNS; i++)
                if (p->conns[i].cfd < 0) {
                        c = &p->conns[i];
                        break;
                }
        ufd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (!c || ufd < 0 || connect(ufd, (struct sockaddr *) &up, sizeof(up)) < 0) {
                if (ufd >= 0)
                        close(ufd);
                close(cfd);
                return;
        }
        (void) fcntl(ufd, F_SETFL, O_NONBLOCK);
        (void) setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void) setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        *c = (struct conn) { .cfd = cfd, .ufd = ufd, .c2u = malloc(BUF_SIZE), .u2c = malloc(BUF_SIZE) };
        if (!c->c2u || !c->u2c) {
                conn_close(c);
                return;
        }
        __atomic_add_fetch(&p->accepted, 1, __ATOMIC_SEQ_CST);
}

/* false: the connection is gone. */
static bool conn_io(struct conn *c, short crev, short urev) {
        ssize_t n;

        /* Reported whatever we asked for: a stalled side that went away must not spin. */
        if ((crev | urev) & (POLLHUP | POLLERR))
                return false;
        if ((crev & POLLIN) && !c->stalled && c->c2u_len < BUF_SIZE) {
                n = read(c->cfd, c->c2u + c->c2u_len, BUF_SIZE - c->c2u_len);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        return false;
                if (n > 0) {
                        c->c2u_len += (size_t) n;
                        conn_find_packets(c);
                }
        }
        if ((urev & POLLIN) && c->u2c_len < BUF_SIZE) {
                n = read(c->ufd, c->u2c + c->u2c_len, BUF_SIZE - c->u2c_len);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        return false;
                if (n > 0)
                        c->u2c_len += (size_t) n;
        }
        if ((urev & POLLOUT) && c->c2u_whole > 0) {
                n = send(c->ufd, c->c2u, c->c2u_whole, MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return false;
                if (n > 0) {
                        memmove(c->c2u, c->c2u + n, c->c2u_len - (size_t) n);
                        c->c2u_len -= (size_t) n;
                        c->c2u_whole -= (size_t) n;
                }
        }
        if ((crev & POLLOUT) && c->u2c_len > 0) {
                n = send(c->cfd, c->u2c, c->u2c_len, MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return false;
                if (n > 0) {
                        memmove(c->u2c, c->u2c + n, c->u2c_len - (size_t) n);
                        c->u2c_len -= (size_t) n;
                }
        }
        return true;
}

/* A PINGREQ of our own, between two whole packets, keeps the broker side alive. */
static void conn_ping(struct conn *c, long long now) {
        if (!c->stalled || now - c->last_ping_ms < PING_INTERVAL_MS || c->c2u_len + 2 > BUF_SIZE)
                return;
        memmove(c->c2u + c->c2u_whole + 2, c->c2u + c->c2u_whole, c->c2u_len - c->c2u_whole);
        c->c2u[c->c2u_whole] = 0xc0;
        c->c2u[c->c2u_whole + 1] = 0x00;
        c->c2u_whole += 2;
        c->c2u_len += 2;
        c->last_ping_ms = now;
}

static void *proxy_thread(void *userdata) {
        struct stall_proxy *p = userdata;

        for (;;) {
                struct pollfd fds[2 + 2 * MAX_CONNS];
                int idx[MAX_CONNS];
                size_t n = 0;
                bool any_stalled = false;
                long long now;

                fds[n++] = (struct pollfd) { .fd = p->ctl[0], .events = POLLIN };
                fds[n++] = (struct pollfd) { .fd = p->listen_fd, .events = POLLIN };
                for (size_t i = 0; i < MAX_CONNS; i++) {
                        struct conn *c = &p->conns[i];

                        idx[i] = -1;
                        if (c->cfd < 0)
                                continue;
                        idx[i] = (int) n;
                        fds[n++] = (struct pollfd) { .fd = c->cfd,
                                .events = (short) ((!c->stalled && c->c2u_len < BUF_SIZE ? POLLIN : 0) |
                                                   (c->u2c_len > 0 ? POLLOUT : 0)) };
                        fds[n++] = (struct pollfd) { .fd = c->ufd,
                                .events = (short) ((c->u2c_len < BUF_SIZE ? POLLIN : 0) |
                                                   (c->c2u_whole > 0 ? POLLOUT : 0)) };
                        any_stalled |= c->stalled;
                }

                if (poll(fds, n, any_stalled ? 100 : -1) < 0 && errno != EINTR)
                        break;

                if (fds[0].revents & POLLIN) {
                        char cmd, reply = 'k';

                        if (read(p->ctl[0], &cmd, 1) != 1 || cmd == 'q')
                                break;
                        now = mono_ms();
                        for (size_t i = 0; i < MAX_CONNS; i++)
                                if (p->conns[i].cfd >= 0) {
                                        p->conns[i].stalled = cmd == 's';
                                        p->conns[i].last_ping_ms = now;
                                }
                        if (write(p->ack[1], &reply, 1) != 1)
                                break;
                        continue;
                }
                if (fds[1].revents & POLLIN)
                        proxy_accept(p);

                now = mono_ms();
                for (size_t i = 0; i < MAX_CONNS; i++) {
                        struct conn *c = &p->conns[i];

                        if (idx[i] < 0 || c->cfd < 0)
                                continue;
                        if (!conn_io(c, fds[idx[i]].revents, fds[idx[i] + 1].revents)) {
                                conn_close(c);
                                continue;
                        }
                        conn_ping(c, now);
                }
        }
        return NULL;
}

int stall_proxy_start(unsigned upstream_port, struct stall_proxy **ret) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t alen = sizeof(a);
        struct stall_proxy *p;
        int rcvbuf = CLIENT_RCVBUF, r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->upstream_port = upstream_port;
        p->ctl[0] = p->ctl[1] = p->ack[0] = p->ack[1] = -1;
        for (size_t i = 0; i < MAX_CONNS; i++)
                p->conns[i] = (struct conn) { .cfd = -1, .ufd = -1 };

        p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->listen_fd < 0 ||
            setsockopt(p->listen_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0 ||
            bind(p->listen_fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
            listen(p->listen_fd, 8) < 0 ||
            getsockname(p->listen_fd, (struct sockaddr *) &a, &alen) < 0 ||
            pipe2(p->ctl, O_CLOEXEC) < 0 || pipe2(p->ack, O_CLOEXEC) < 0) {
                r = -errno;
                stall_proxy_free(p);
                return r;
        }
        p->port = ntohs(a.sin_port);

        r = pthread_create(&p->thread, NULL, proxy_thread, p);
        if (r != 0) {
                stall_proxy_free(p);
                return -r;
        }
        p->thread_started = true;
        *ret = p;
        return 0;
}

unsigned stall_proxy_port(const struct stall_proxy *p) {
        return p->port;
}

int stall_proxy_stall(struct stall_proxy *p, bool stall) {
        char cmd = stall ? 's' : 'r', reply;

        if (write(p->ctl[1], &cmd, 1) != 1)
                return -errno;
        /* The thread answers once every open connection has the new setting. */
        if (read(p->ack[0], &reply, 1) != 1)
                return -EIO;
        return 0;
}

unsigned stall_proxy_accepted(struct stall_proxy *p) {
        return __atomic_load_n(&p->accepted, __ATOMIC_SEQ_CST);
}

struct stall_proxy *stall_proxy_free(struct stall_proxy *p) {
        char cmd = 'q';

        if (!p)
                return NULL;
        if (p->thread_started) {
                if (write(p->ctl[1], &cmd, 1) == 1)
                        pthread_join(p->thread, NULL);
        }
        for (size_t i = 0; i < MAX_CONNS; i++)
                conn_close(&p->conns[i]);
        if (p->listen_fd >= 0)
                close(p->listen_fd);
        for (size_t i = 0; i < 2; i++) {
                if (p->ctl[i] >= 0)
                        close(p->ctl[i]);
                if (p->ack[i] >= 0)
                        close(p->ack[i]);
        }
        free(p);
        return NULL;
}
