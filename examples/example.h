/* example.h - the few helpers every example shares: stop on a libdtask
 * error, a wall clock, and parsing a positive size from the command line.
 * Each example defines EXAMPLE_NAME (its name in messages) before including. */
#ifndef DTASK_EXAMPLE_H
#define DTASK_EXAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <dtask.h>

#define CHECK(call)                                                                  \
    do {                                                                             \
        int rc_ = (call);                                                            \
        if (rc_ != DT_OK) {                                                          \
            fprintf(stderr, EXAMPLE_NAME ": %s: %s\n", #call, dt_strerror(rc_));     \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* a positive integer up to 2^20, digits only: 0 on success */
static inline int parse(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || v == 0 || v > 1u << 20)
        return -1;
    *out = v;
    return 0;
}

#endif
