/* env.h - reading DT_* settings from the environment.  Each module reads its
 * own; a bad value is refused with a line on stderr, never replaced by a
 * default. */
#ifndef DT__ENV_H
#define DT__ENV_H

#include <stddef.h>

/* Each returns 0 when the variable is unset (*out untouched), 1 when it was
 * read into *out, DT_ECONFIG (with a message) when its value is bad. */
int dt__env_long(const char *var, long lo, long hi, long *out);
/* A size in bytes, 1 to 64T, with an optional K, M, G or T suffix (either case). */
int dt__env_size(const char *var, size_t *out);
/* One of the NULL-terminated choices: *out is its index. */
int dt__env_choice(const char *var, const char *const *choices, int *out);
/* Says that var=val is not `want`: DT_ECONFIG. */
int dt__env_bad(const char *var, const char *val, const char *want);
/* "0" or "1". */
int dt__env_bool(const char *var, int *out);

#endif
