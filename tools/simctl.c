/* SPDX-License-Identifier: MIT */
/* iotgwd-simctl: sends commands to the simulated board's control socket, one per
 * argument (or one per line of standard input), and prints each reply.
 * Used by tools/demo; handy for poking the demo by hand:
 *   iotgwd-simctl /run/iotgwd/sim.sock "set gpiochip0 GPIO17 1" */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int send_line(int fd, FILE *in, const char *line) {
        char reply[512];

        if (dprintf(fd, "%s\n", line) < 0)
                return -errno;
        if (!fgets(reply, sizeof(reply), in))
                return -EPIPE;
        fputs(reply, stdout);
        return strncmp(reply, "error", 5) == 0 ? 1 : 0;
}

int main(int argc, char *argv[]) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char line[512];
        int fd, status = 0, r;
        FILE *in;

        if (argc < 2 || strcmp(argv[1], "--help") == 0) {
                fprintf(stderr, "Usage: iotgwd-simctl SOCKET [COMMAND...]\n"
                                "Commands: set CHIP LINE 0|1, get CHIP LINE, sensor NAME QUANTITY VALUE,\n"
                                "          fail NAME on|off, fail CHIP LINE on|off, power NAME off|on,\n"
                                "          hold CHIP LINE CONSUMER, release CHIP LINE, i2c smbus-only on|off,\n"
                                "          help.\n"
                                "Without COMMAND, reads lines from stdin.\n");
                return argc < 2 ? 2 : 0;
        }
        if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "iotgwd-simctl: socket path too long\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "iotgwd-simctl: cannot connect to %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        in = fdopen(dup(fd), "r");
        if (!in)
                return 1;

        if (argc > 2) {
                for (int i = 2; i < argc; i++) {
                        r = send_line(fd, in, argv[i]);
                        if (r < 0) {
                                fprintf(stderr, "iotgwd-simctl: %s\n", strerror(-r));
                                return 1;
                        }
                        status |= r;
                }
        } else
                while (fgets(line, sizeof(line), stdin)) {
                        line[strcspn(line, "\n")] = '\0';
                        if (line[0] == '\0')
                                continue;
                        r = send_line(fd, in, line);
                        if (r < 0) {
                                fprintf(stderr, "iotgwd-simctl: %s\n", strerror(-r));
                                return 1;
                        }
                        status |= r;
                }
        fclose(in);
        close(fd);
        return status;
}
