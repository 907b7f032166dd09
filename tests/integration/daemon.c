/* SPDX-License-Identifier: MIT */
/* See daemon.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int daemon_init(struct daemon_proc *d, unsigned broker_port) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char conf_d[PATH_MAX + 16];

        memset(d, 0, sizeof(*d));
        d->pid = -1;
        d->notify_fd = -1;
        d->broker_port = broker_port;
        snprintf(d->dir, sizeof(d->dir), "/tmp/iotgwd-test-XXXXXX");
        if (!mkdtemp(d->dir))
                return -errno;
        snprintf(d->conf_path, sizeof(d->conf_path), "%s/iotgwd.conf", d->dir);
        snprintf(d->sim_socket, sizeof(d->sim_socket), "%s/sim.sock", d->dir);
        snprintf(d->log_path, sizeof(d->log_path), "%s/iotgwd.log", d->dir);
        snprintf(d->notify_path, sizeof(d->notify_path), "%s/notify", d->dir);
        snprintf(conf_d, sizeof(conf_d), "%s/conf.d", d->dir);
        if (mkdir(conf_d, 0755) < 0)
                return -errno;

        d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (d->notify_fd < 0)
                return -errno;
        if (strlen(d->notify_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, d->notify_path);
        if (bind(d->notify_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        return 0;
}

static int write_file(const char *path, const char *text, const struct daemon_proc *d) {
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        for (const char *p = text; *p; p++) {
                if (strncmp(p, "@PORT@", 6) == 0) {
                        fprintf(f, "%u", d->broker_port);
                        p += 5;
                } else if (strncmp(p, "@SIMSOCK@", 9) == 0) {
                        fputs(d->sim_socket, f);
                        p += 8;
                } else
                        fputc(*p, f);
        }
        return fclose(f) == 0 ? 0 : -errno;
}

int daemon_write_conf(struct daemon_proc *d, const char *text) {
        return write_file(d->conf_path, text, d);
}

int daemon_write_dropin(struct daemon_proc *d, const char *name, const char *text) {
        char path[PATH_MAX * 2];

        snprintf(path, sizeof(path), "%s/conf.d/%s", d->dir, name);
        return write_file(path, text, d);
}

int daemon_spawn(struct daemon_proc *d, char *const extra_args[]) {
        const char *binary = getenv("IOTGWD_BINARY") ?: "./iotgwd";
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char *argv[16] = { (char *) binary, (char *) "--config", d->conf_path,
                                   (char *) "--log-level", (char *) "debug" };
                size_t n = 5;
                int fd;

                for (size_t i = 0; extra_args && extra_args[i] && n < 15; i++)
                        argv[n++] = extra_args[i];
                argv[n] = NULL;
                /* A test that dies must not leave a daemon behind. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        dup2(fd, STDERR_FILENO);
                        dup2(fd, STDOUT_FILENO);
                }
                setenv("NOTIFY_SOCKET", d->notify_path, 1);
                /* Ask for WATCHDOG=1 pings, as WatchdogSec=2s would. */
                setenv("WATCHDOG_USEC", "2000000", 1);
                {
                        char pidbuf[32];

                        snprintf(pidbuf, sizeof(pidbuf), "%d", (int) getpid());
                        setenv("WATCHDOG_PID", pidbuf, 1);
                }
                unsetenv("JOURNAL_STREAM");
                execv(binary, argv);
                _exit(127);
        }
        d->pid = pid;
        return 0;
}

static void drain_notify(struct daemon_proc *d) {
        char buf[1024];
        ssize_t n;

        while ((n = recv(d->notify_fd, buf, sizeof(buf) - 1, 0)) > 0) {
                size_t used = strlen(d->notify_seen);

                buf[n] = '\0';
                /* Keep the newest messages when the record fills up. */
                if (used + (size_t) n + 2 >= sizeof(d->notify_seen)) {
                        memmove(d->notify_seen, d->notify_seen + used / 2, used - used / 2 + 1);
                        used = strlen(d->notify_seen);
                }
                snprintf(d->notify_seen + used, sizeof(d->notify_seen) - used, "%s\n", buf);
        }
}

void daemon_notify_reset(struct daemon_proc *d) {
        drain_notify(d);
        d->notify_seen[0] = '\0';
}

int daemon_wait_notify(struct daemon_proc *d, const char *needle, int timeout_ms) {
        long long deadline = now_ms() + timeout_ms;

        for (;;) {
                struct pollfd p = { .fd = d->notify_fd, .events = POLLIN };
                long long left;

                drain_notify(d);
                if (strstr(d->notify_seen, needle))
                        return 0;
                left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                if (d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == d->pid) {
                        d->pid = -1;
                        return -ECHILD;
                }
                (void) poll(&p, 1, (int) (left < 100 ? left : 100));
        }
}

int daemon_start(struct daemon_proc *d, int timeout_ms) {
        int r = daemon_spawn(d, NULL);

        if (r < 0)
                return r;
        return daemon_wait_notify(d, "READY=1", timeout_ms);
}

int daemon_sim(struct daemon_proc *d, const char *command, char *reply, size_t size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t got = 0;
        int fd, r = 0;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        strcpy(sa.sun_path, d->sim_socket);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            dprintf(fd, "%s\n", command) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        while (got + 1 < size) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;

                if (poll(&p, 1, 10000) <= 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                n = read(fd, reply + got, 1);
                if (n <= 0) {
                        r = -EPIPE;
                        break;
                }
                if (reply[got] == '\n')
                        break;
                got++;
        }
        reply[got] = '\0';
        close(fd);
        return r;
}

int daemon_signal(struct daemon_proc *d, int sig) {
        if (d->pid <= 0)
                return -ESRCH;
        return kill(d->pid, sig) < 0 ? -errno : 0;
}

int daemon_wait_exit(struct daemon_proc *d, int timeout_ms, int *status) {
        long long deadline = now_ms() + timeout_ms;

        while (d->pid > 0) {
                pid_t p = waitpid(d->pid, status, WNOHANG);

                if (p == d->pid) {
                        d->pid = -1;
                        drain_notify(d);
                        return 0;
                }
                if (now_ms() > deadline)
                        return -ETIMEDOUT;
                drain_notify(d);
                usleep(10000);  /* polling a child's exit: there is no fd for it here */
        }
        return -ECHILD;
}

bool daemon_log_contains(struct daemon_proc *d, const char *needle) {
        char buf[65536];
        size_t n;
        FILE *f = fopen(d->log_path, "re");
        bool found = false;

        if (!f)
                return false;
        /* Overlapping windows, so a needle split across two reads is still found. */
        while ((n = fread(buf, 1, sizeof(buf) - 1, f)) > 0) {
                buf[n] = '\0';
                if (strstr(buf, needle)) {
                        found = true;
                        break;
                }
                if (n == sizeof(buf) - 1)
                        fseek(f, -256, SEEK_CUR);
                else
                        break;
        }
        fclose(f);
        return found;
}

long daemon_rss_kib(const struct daemon_proc *d) {
        char path[64], line[256];
        long kib = -ENOENT;
        FILE *f;

        if (d->pid <= 0)
                return -ESRCH;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) d->pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

int daemon_wait_log(struct daemon_proc *d, const char *needle, int timeout_ms) {
        long long deadline = now_ms() + timeout_ms;

        while (!daemon_log_contains(d, needle)) {
                if (now_ms() > deadline)
                        return -ETIMEDOUT;
                /* sd_notify() blocks once the datagram queue is full (watchdog pings). */
                drain_notify(d);
                usleep(20000);  /* the log is a plain file: nothing to wait on */
        }
        return 0;
}

unsigned daemon_log_count(struct daemon_proc *d, const char *needle) {
        char line[4096];
        unsigned n = 0;
        FILE *f = fopen(d->log_path, "re");

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (strstr(line, needle))
                        n++;
        fclose(f);
        return n;
}

int daemon_wait_log_count(struct daemon_proc *d, const char *needle, unsigned n, int timeout_ms) {
        long long deadline = now_ms() + timeout_ms;

        while (daemon_log_count(d, needle) < n) {
                if (now_ms() > deadline)
                        return -ETIMEDOUT;
                /* A daemon that notifies often would block on a full socket. */
                drain_notify(d);
                usleep(20000);  /* the log is a plain file: nothing to wait on */
        }
        return 0;
}

void daemon_dump_log(const struct daemon_proc *d) {
        char line[1024];
        FILE *f = fopen(d->log_path, "re");

        if (!f)
                return;
        fprintf(stderr, "---- iotgwd log (%s) ----\n", d->log_path);
        while (fgets(line, sizeof(line), f))
                fputs(line, stderr);
        fprintf(stderr, "---- end of log ----\n");
        fclose(f);
}

void daemon_stop(struct daemon_proc *d) {
        char cmd[PATH_MAX + 16];
        int status = 0;

        if (d->pid > 0) {
                kill(d->pid, SIGTERM);
                if (daemon_wait_exit(d, 10000, &status) < 0) {
                        kill(d->pid, SIGKILL);
                        waitpid(d->pid, &status, 0);
                        d->pid = -1;
                }
        }
        if (getenv("IOTGWD_TEST_VERBOSE"))
                daemon_dump_log(d);
        if (d->notify_fd >= 0)
                close(d->notify_fd);
        d->notify_fd = -1;
        if (d->dir[0] && !getenv("IOTGWD_TEST_KEEP")) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
                if (system(cmd) != 0)
                        fprintf(stderr, "cannot remove %s\n", d->dir);
        }
        d->dir[0] = '\0';
}
