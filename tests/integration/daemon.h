/* SPDX-License-Identifier: MIT */
/* Runs the real iotgwd binary for integration tests: writes its configuration into a
 * private directory, receives its sd_notify messages on a datagram socket of the
 * test's own, talks to its simulated board, and cleans up even when a test fails. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct daemon_proc {
        pid_t pid;
        char dir[64];                  /* private directory, removed by daemon_stop() */
        char conf_path[PATH_MAX];      /* DIR/iotgwd.conf */
        char sim_socket[PATH_MAX];     /* DIR/sim.sock */
        char log_path[PATH_MAX];       /* DIR/iotgwd.log: the daemon's stderr */
        char notify_path[PATH_MAX];    /* DIR/notify */
        int notify_fd;
        char notify_seen[8192];        /* every notify message so far, concatenated */
        unsigned broker_port;
};

/** Prepares DIR and the notify socket; nothing runs yet. */
int daemon_init(struct daemon_proc *d, unsigned broker_port);
/** Writes DIR/iotgwd.conf from `text`, replacing @PORT@ with the broker port and
 * @SIMSOCK@ with the sim socket path. Also used before a reload. */
int daemon_write_conf(struct daemon_proc *d, const char *text);
/** Writes DIR/conf.d/NAME. */
int daemon_write_dropin(struct daemon_proc *d, const char *name, const char *text);
/** Starts iotgwd (binary from $IOTGWD_BINARY, default ./iotgwd) with NOTIFY_SOCKET set
 * and waits for READY=1 (up to timeout_ms). -ETIMEDOUT, or -ECHILD if it exited. */
int daemon_start(struct daemon_proc *d, int timeout_ms);
/** Starts it without waiting for READY=1. */
int daemon_spawn(struct daemon_proc *d, char *const extra_args[]);
/** Waits until a notify message containing `needle` has arrived since the last call
 * to daemon_notify_reset() (up to timeout_ms): 0, or -ETIMEDOUT. */
int daemon_wait_notify(struct daemon_proc *d, const char *needle, int timeout_ms);
void daemon_notify_reset(struct daemon_proc *d);
/** One command to the simulated board; the reply line (without newline) in reply. */
int daemon_sim(struct daemon_proc *d, const char *command, char *reply, size_t size);
int daemon_signal(struct daemon_proc *d, int sig);
/** Waits for the daemon to exit (up to timeout_ms); its wait status in *status. */
int daemon_wait_exit(struct daemon_proc *d, int timeout_ms, int *status);
/** True if the daemon's log contains `needle`. */
bool daemon_log_contains(struct daemon_proc *d, const char *needle);
/** How many lines of the log contain `needle`. */
unsigned daemon_log_count(struct daemon_proc *d, const char *needle);
/** Waits (up to timeout_ms) for at least `n` lines of the log to contain `needle`,
 * reading the notify socket meanwhile (a full one would block the daemon). */
int daemon_wait_log_count(struct daemon_proc *d, const char *needle, unsigned n, int timeout_ms);
/** Waits (up to timeout_ms) for the log to contain `needle`. */
int daemon_wait_log(struct daemon_proc *d, const char *needle, int timeout_ms);
/** The daemon's resident set size in KiB (VmRSS in /proc/PID/status), or a negative errno. */
long daemon_rss_kib(const struct daemon_proc *d);
/** SIGTERM (SIGKILL after 10 s), reaps, prints the log on failure, removes DIR. */
void daemon_stop(struct daemon_proc *d);
/** Prints the daemon's log on stderr. */
void daemon_dump_log(const struct daemon_proc *d);
/* A check that prints the daemon's log before failing the test. */
#define daemon_assert(d, expr) do {                                     \
                if (!(expr)) {                                          \
                        daemon_dump_log(d);                             \
                        ck_abort_msg("Assertion '%s' failed", #expr);   \
                }                                                       \
        } while (0)
/** Monotonic milliseconds, for deadlines. */
long long now_ms(void);
