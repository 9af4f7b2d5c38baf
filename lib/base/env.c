/* env.c - DT_* settings (env.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dtask.h"
#include "base/env.h"

int dt__env_bad(const char *var, const char *val, const char *want)
{
    /* always said: a silently ignored setting is worse than a noisy start */
    fprintf(stderr, "dtask: dt_init: bad %s='%s' (expected %s)\n", var, val, want);
    return DT_ECONFIG;
}

int dt__env_long(const char *var, long lo, long hi, long *out)
{
    const char *v = getenv(var);
    if (!v) return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    /* strtol skips leading blanks and takes a '+': " 2" is as wrong as "2x" */
    if (errno || end == v || *end || !(isdigit((unsigned char)v[0]) || v[0] == '-') || x < lo || x > hi) {
        char want[64];
        snprintf(want, sizeof want, "an integer in %ld..%ld", lo, hi);
        return dt__env_bad(var, v, want);
    }
    *out = x;
    return 1;
}

int dt__env_size(const char *var, size_t *out)
{
    const char *v = getenv(var);
    if (!v) return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    unsigned shift = 0;
    const char *units = "KMGT", *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (u) shift = 10 * (unsigned)(u - units + 1), end++;
    /* strtoull also skips blanks and takes signs: only digits may start */
    if (errno || end == v || *end || !isdigit((unsigned char)v[0]) || x == 0 || x > (1ull << 46) >> shift)
        return dt__env_bad(var, v, "a size in bytes, 1 to 64T, with an optional K, M, G or T suffix (either case)");
    *out = (size_t)(x << shift);
    return 1;
}

int dt__env_choice(const char *var, const char *const *choices, int *out)
{
    const char *v = getenv(var);
    if (!v) return 0;
    char want[128] = "";
    for (int i = 0; choices[i]; i++) {
        if (strcmp(v, choices[i]) == 0) { *out = i; return 1; }
        strcat(want, i ? "|" : "");
        strcat(want, choices[i]);
    }
    return dt__env_bad(var, v, want);
}

int dt__env_bool(const char *var, int *out)
{
    static const char *const bools[] = { "0", "1", NULL };
    return dt__env_choice(var, bools, out);
}
