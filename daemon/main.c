/* iotgwd entry point (placeholder while the manager is written). */
#include <stdio.h>

int main(void) {
        fputs("iotgwd: not yet\n", stderr);
        return 1;
}
