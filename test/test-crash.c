/* test-crash.c - a process that dies inside a task body says so in one line
 * naming the rank, the task's label and type, and what happened (the signal,
 * or exit called by the task), then ends as it would have without libdtask:
 * killed by the same signal, with the same exit status, or through the
 * handler the program had installed before dt_init.  Each case runs in a
 * child process whose stderr is read back; it must end within a bound. */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "test_util.h"

/* The sanitizers' own handlers (installed before dt_init, so chained to)
 * report a fault and exit with status 1 instead of dying of the signal. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* a real fault, on a page without access (UBSan would catch a NULL store) */
static void segv_task(void *a)
{
    (void)a;
    volatile char *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) *p = 1;
}
static void abort_task(void *a) { (void)a; abort(); }
static void fpe_task(void *a) { (void)a; raise(SIGFPE); }
static void exit_task(void *a) { (void)a; exit(7); }
static void bus_task(void *a) { (void)a; raise(SIGBUS); }

static void user_bus_handler(int sig)
{
    static const char msg[] = "the program's own handler\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(40 + (sig == SIGBUS));
}

/* Runs fn as a task "victim" in a child with 2 workers (on a worker thread,
 * or on the main thread when main_thread); returns its wait status and what
 * it wrote on stderr. */
static int run_child(dt_task_fn fn, const char *name, bool main_thread, bool user_handler, char **err)
{
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        if (user_handler) signal(SIGBUS, user_bus_handler);
        tu_workers(main_thread ? 1 : 2);
        if (dt_init(NULL, NULL)) _exit(90);
        dt_type_t t;
        if (dt_type_register(name, fn, &t)) _exit(91);
        dt_task_attr_t at = { 0, DT_NODE_ANY, "victim", 0 };
        static char x;
        dt_access_t a = { DT_INOUT, &x, 1, 0, 0 };
        dt_task_create(t, NULL, 0, &a, 1, &at);
        dt_taskwait();
        _exit(92);
    }
    close(fd[1]);
    uint64_t limit = tu_now_ms() + TU_PATIENCE_MS;
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && tu_now_ms() < limit) tu_sleep_ms(5);
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ck_abort_msg("the process that died in task '%s' did not end within %d ms", name, TU_PATIENCE_MS);
    }
    char *buf = calloc(1, 4096);
    ck_assert_ptr_nonnull(buf);
    size_t n = 0;
    ssize_t r;
    while (n < 4095 && (r = read(fd[0], buf + n, 4095 - n)) > 0) n += (size_t)r;
    close(fd[0]);
    *err = buf;
    return status;
}

static const struct death {
    dt_task_fn fn;
    const char *name, *says;
    int sig, code;              /* killed by sig, or exited with code */
    bool main_thread, user_handler;
} deaths[] = {
    { segv_task, "segv", "died of SIGSEGV", SIGSEGV, 0, false, false },
    { segv_task, "segv", "died of SIGSEGV", SIGSEGV, 0, true, false },
    { abort_task, "abort", "died of SIGABRT", SIGABRT, 0, false, false },
    { fpe_task, "fpe", "died of SIGFPE", SIGFPE, 0, false, false },
    { exit_task, "exit", "called exit(7) inside the task", 0, 7, false, false },
    { exit_task, "exit", "called exit(7) inside the task", 0, 7, true, false },
    { bus_task, "bus", "died of SIGBUS", 0, 41, false, true },
};

START_TEST(death)
{
    const struct death *d = &deaths[_i];
    char *err;
    int st = run_child(d->fn, d->name, d->main_thread, d->user_handler, &err);
    char want[128];
    snprintf(want, sizeof want, "dtask: rank 0: task 'victim' (type %s) %s", d->name, d->says);
    ck_assert_msg(strstr(err, want), "%s: stderr '%s' lacks '%s'", d->name, err, want);
    /* ours once (MPI's transport may add a backtrace after it) */
    ck_assert_ptr_null(strstr(strstr(err, "dtask: ") + 1, "dtask: "));
    if (d->sig && SANITIZED && d->sig != SIGABRT) {
        ck_assert_msg((WIFSIGNALED(st) && WTERMSIG(st) == d->sig) || (WIFEXITED(st) && WEXITSTATUS(st)),
                      "%s: status 0x%x", d->name, st);
    } else if (d->sig) {
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == d->sig, "%s: status 0x%x", d->name, st);
    } else {
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == d->code, "%s: status 0x%x", d->name, st);
    }
    if (d->user_handler) ck_assert_ptr_nonnull(strstr(err, "the program's own handler"));
    free(err);
}
END_TEST

/* Outside a task the handlers say nothing, and after dt_finalize the
 * program's dispositions are back. */
START_TEST(quiet_outside_tasks)
{
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        tu_workers(1);
        if (dt_init(NULL, NULL)) _exit(90);
        exit(3);                /* outside any task: no line */
    }
    close(fd[1]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status 0x%x", st);
    char c;
    ck_assert_int_eq(read(fd[0], &c, 1), 0);
    close(fd[0]);
    struct sigaction before, after;
    ck_assert_int_eq(sigaction(SIGSEGV, NULL, &before), 0);
    TU_INIT();
    tu_assert_alive();
    TU_FINI();
    ck_assert_int_eq(sigaction(SIGSEGV, NULL, &after), 0);
    ck_assert_ptr_eq((void *)after.sa_handler, (void *)before.sa_handler);
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tu_tcase(s, "death");
    tcase_add_loop_test(tc, death, 0, (int)(sizeof deaths / sizeof deaths[0]));
    tcase_add_test(tc, quiet_outside_tasks);
    return s;
}

TU_MAIN(crash_suite)
