/* check.h - the multi-rank test programs' soft assertion: a failed check is
 * reported with its place and counted, and the program goes on (the other
 * ranks must still be served to the end); it exits non-zero if any failed. */
#ifndef DT_TEST_MPI_CHECK_H
#define DT_TEST_MPI_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: FAILED: ", __FILE__, __LINE__);              \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            failures++;                                                          \
        }                                                                        \
    } while (0)

#endif
