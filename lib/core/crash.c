/* crash.c - one line of ours when a process dies inside a task body: a
 * fatal signal, or exit() called by the task.  Without it, a rank that died
 * in a job left only the launcher's "signal 9" or a transport's backtrace.
 *
 * The handlers are installed at dt_init over whatever was there (MPI's
 * transports install theirs first) and chain to it: after our line, the
 * previous handler runs, or the previous disposition is restored and the
 * signal raised again.  Only async-signal-safe calls are made in them. */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/crash.h"
#include "core/runtime.h"

static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NSIGS (sizeof sigs / sizeof sigs[0])
static struct sigaction old[NSIGS];
static bool installed, exit_hooked;
static atomic_flag said = ATOMIC_FLAG_INIT;   /* one line per process */

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (invalid memory access)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGFPE: return "SIGFPE (arithmetic exception)";
    case SIGILL: return "SIGILL (illegal instruction)";
    case SIGABRT: return "SIGABRT (abort)";
    default: return "a signal";
    }
}

typedef struct line { char b[512]; size_t n; } line;

static void put(line *l, const char *s)
{
    while (*s && l->n < sizeof l->b - 1) l->b[l->n++] = *s++;
}

static void put_int(line *l, long v)
{
    char d[24];
    int n = 0;
    unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
    do d[n++] = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) d[n++] = '-';
    while (n && l->n < sizeof l->b - 1) l->b[l->n++] = d[--n];
}

/* "dtask: rank R: task 'L' (type T) " and the event; nothing outside a task */
static void say(const char *what, const char *detail, bool with_status, long status)
{
    dt__task *t = dt__current();
    if (t == &dt__root || atomic_load_explicit(&dt__rt.state, memory_order_relaxed) != DT__STATE_RUNNING)
        return;
    if (atomic_flag_test_and_set(&said)) return;
    line l = { .n = 0 };
    put(&l, "dtask: rank ");
    put_int(&l, dt__rt.rank);
    put(&l, ": task '");
    put(&l, t->label ? t->label : "-");
    put(&l, "' (type ");
    put(&l, t->type >= 0 && t->type < DT__MAX_TYPES ? dt__types[t->type].name : "internal");
    put(&l, ") ");
    put(&l, what);
    put(&l, detail);
    if (with_status) {
        put_int(&l, status);
        put(&l, ") inside the task; the process ends");
    }
    put(&l, "\n");
    ssize_t w = write(STDERR_FILENO, l.b, l.n);
    (void)w;
}

static void on_signal(int sig, siginfo_t *info, void *ctx)
{
    size_t i = 0;
    while (i < NSIGS && sigs[i] != sig) i++;
    say("died of ", sig_name(sig), false, 0);
    if (i == NSIGS) return;
    const struct sigaction *o = &old[i];
    if ((o->sa_flags & SA_SIGINFO) && o->sa_sigaction) {
        o->sa_sigaction(sig, info, ctx);
    } else if (!(o->sa_flags & SA_SIGINFO) && o->sa_handler != SIG_DFL && o->sa_handler != SIG_IGN) {
        o->sa_handler(sig);
    } else {
        /* the default action: restored, and the signal raised again (it is
           blocked until this handler returns; a fault would recur anyway) */
        sigaction(sig, o, NULL);
        raise(sig);
    }
}

static void on_exit_hook(int status, void *arg)
{
    (void)arg;
    say("called exit(", "", true, status);
}

void dt__crash_install(void)
{
    if (!exit_hooked) exit_hooked = on_exit(on_exit_hook, NULL) == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NSIGS; i++) sigaction(sigs[i], &sa, &old[i]);
    installed = true;
}

void dt__crash_uninstall(void)
{
    if (!installed) return;
    for (size_t i = 0; i < NSIGS; i++) {
        struct sigaction cur;
        /* a handler installed after ours stays */
        if (sigaction(sigs[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal)
            sigaction(sigs[i], &old[i], NULL);
    }
    installed = false;
}
