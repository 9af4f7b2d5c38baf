/*
 * nbody.c - the n-body of OmpSs-2@Cluster's benchmarks, with the libdtask
 * C API: each step, a parent task holding every force and position weakly
 * creates one child per pair of blocks (i, j) (forces of i += the pull of
 * j's particles, a chain on i's forces), then a parent holding positions,
 * speeds and forces weakly creates an update task per block.  No task carries a node
 * hint: where the children run is the runtime's choice (DT_NESTED).
 * Timed from the first dt_task_create to the return of the last
 * dt_taskwait; the final positions are compared, bit for bit, with a
 * sequential run of the same kernels in the same order.
 *
 *   nbody NP BS STEPS [skip]          (1 rank)
 *   mpiexec.mpich -n 2 nbody NP BS STEPS [skip]
 *
 * skip: leave out the last block's update, so the check must fail (exit
 * status 1; bench-cluster-quick uses it to prove the check can fail).
 */
#include <dtask.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CHECK(call)                                                       \
    do {                                                                  \
        int rc_ = (call);                                                 \
        if (rc_ != DT_OK) {                                               \
            fprintf(stderr, "nbody: %s: %s\n", #call, dt_strerror(rc_));  \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

typedef struct { double x, y, z, m; } particle;
typedef struct { double x, y, z; } vec3;

static size_t NP, BS, NB;
static int steps, skip;
static dt_type_t T_FORCES, T_BLOCK, T_UPDATE, T_UPDATES;

/* forces on block f's particles (p) += the pull of q's */
static void force_block(vec3 *f, const particle *p, const particle *q)
{
    for (size_t i = 0; i < BS; i++) {
        double fx = 0, fy = 0, fz = 0;
        for (size_t j = 0; j < BS; j++) {
            double dx = q[j].x - p[i].x, dy = q[j].y - p[i].y, dz = q[j].z - p[i].z;
            double d2 = dx * dx + dy * dy + dz * dz + 1e-3;
            double s = q[j].m / (d2 * sqrt(d2));
            fx += dx * s, fy += dy * s, fz += dz * s;
        }
        f[i].x += fx * p[i].m, f[i].y += fy * p[i].m, f[i].z += fz * p[i].m;
    }
}

static void update_block(particle *p, vec3 *v, vec3 *f)
{
    const double dt = 1e-4;
    for (size_t i = 0; i < BS; i++) {
        v[i].x += f[i].x / p[i].m * dt, v[i].y += f[i].y / p[i].m * dt, v[i].z += f[i].z / p[i].m * dt;
        p[i].x += v[i].x * dt, p[i].y += v[i].y * dt, p[i].z += v[i].z * dt;
        f[i] = (vec3){ 0, 0, 0 };
    }
}

typedef struct { vec3 *f; const particle *p, *q; } block_t;
static void t_block(void *a)
{
    block_t *b = a;
    force_block(b->f, b->p, b->q);
}

typedef struct { vec3 *F; particle *P; vec3 *V; int last; } step_t;
static void t_forces(void *a)
{
    step_t *t = a;
    for (size_t i = 0; i < NB; i++)
        for (size_t j = 0; j < NB; j++) {
            block_t b = { t->F + i * BS, t->P + i * BS, t->P + j * BS };
            dt_access_t acc[3] = { { DT_INOUT, b.f, sizeof(vec3) * BS, 0, 0 },
                                   { DT_IN, t->P + i * BS, sizeof(particle) * BS, 0, 0 },
                                   { DT_IN, t->P + j * BS, sizeof(particle) * BS, 0, 0 } };
            dt_task_attr_t at = { 0, DT_NODE_ANY, "block", 0 };
            CHECK(dt_task_create(T_BLOCK, &b, sizeof b, acc, j == i ? 2 : 3, &at));
        }
}

typedef struct { particle *p; vec3 *v, *f; } update_t;
static void t_update(void *a)
{
    update_t *u = a;
    update_block(u->p, u->v, u->f);
}

static void t_updates(void *a)
{
    step_t *t = a;
    for (size_t i = 0; i < NB; i++) {
        if (skip && t->last && i == NB - 1) continue;
        update_t u = { t->P + i * BS, t->V + i * BS, t->F + i * BS };
        dt_access_t acc[3] = { { DT_INOUT, u.p, sizeof(particle) * BS, 0, 0 },
                               { DT_INOUT, u.v, sizeof(vec3) * BS, 0, 0 },
                               { DT_INOUT, u.f, sizeof(vec3) * BS, 0, 0 } };
        dt_task_attr_t at = { 0, DT_NODE_ANY, "update", 0 };
        CHECK(dt_task_create(T_UPDATE, &u, sizeof u, acc, 3, &at));
    }
}

static void init(particle *P, vec3 *V, vec3 *F)
{
    for (size_t i = 0; i < NP; i++) {
        uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15ull;
        P[i] = (particle){ (double)(h & 0xFFFF) / 65536.0, (double)((h >> 16) & 0xFFFF) / 65536.0,
                           (double)((h >> 32) & 0xFFFF) / 65536.0, 1.0 + (double)(h >> 56) / 256.0 };
        V[i] = F[i] = (vec3){ 0, 0, 0 };
    }
}

static void sequential(particle *P, vec3 *V, vec3 *F)
{
    for (int s = 0; s < steps; s++) {
        for (size_t i = 0; i < NB; i++)
            for (size_t j = 0; j < NB; j++) force_block(F + i * BS, P + i * BS, P + j * BS);
        for (size_t i = 0; i < NB; i++) update_block(P + i * BS, V + i * BS, F + i * BS);
    }
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    particle *P = dt_dmalloc(sizeof(particle) * NP), *RP = malloc(sizeof(particle) * NP);
    vec3 *V = dt_dmalloc(sizeof(vec3) * NP), *F = dt_dmalloc(sizeof(vec3) * NP);
    vec3 *RV = malloc(sizeof(vec3) * NP), *RF = malloc(sizeof(vec3) * NP);
    if (!P || !V || !F || !RP || !RV || !RF) {
        fprintf(stderr, "nbody: out of memory for NP=%zu (DT_DMEM_SIZE?)\n", NP);
        return 1;
    }
    init(P, V, F);
    init(RP, RV, RF);
    long tasks = 0;
    double t0 = now_s();
    for (int s = 0; s < steps; s++) {
        step_t t = { F, P, V, s == steps - 1 };
        dt_access_t acc[3] = { { DT_INOUT | DT_WEAK, F, sizeof(vec3) * NP, 0, 0 },
                               { DT_IN | DT_WEAK, P, sizeof(particle) * NP, 0, 0 },
                               { DT_INOUT | DT_WEAK, V, sizeof(vec3) * NP, 0, 0 } };
        dt_task_attr_t at = { 0, DT_NODE_ANY, "forces", 0 };
        CHECK(dt_task_create(T_FORCES, &t, sizeof t, acc, 2, &at));
        at.label = "updates";
        acc[1].mode = DT_INOUT | DT_WEAK;
        CHECK(dt_task_create(T_UPDATES, &t, sizeof t, acc, 3, &at));
        tasks += 2 + (long)(NB * NB + NB);
    }
    CHECK(dt_taskwait());
    double t = now_s() - t0;
    sequential(RP, RV, RF);
    int bad = memcmp(P, RP, sizeof(particle) * NP) != 0 || memcmp(V, RV, sizeof(vec3) * NP) != 0;
    if (bad) fprintf(stderr, "nbody: the positions differ from the sequential run\n");
    const char *nested = getenv("DT_NESTED");
    printf("bench=nbody system=dtask ranks=%d workers=%d NP=%zu BS=%zu steps=%d nested=%s tasks=%ld time=%.4f %s\n",
           dt_num_ranks(), dt_num_workers(), NP, BS, steps, nested ? nested : "default", tasks, t,
           bad ? "FAILED" : "verified");
    CHECK(dt_dfree(F));
    CHECK(dt_dfree(V));
    CHECK(dt_dfree(P));
    free(RP);
    free(RV);
    free(RF);
    return bad;
}

int main(int argc, char **argv)
{
    char *e1 = NULL, *e2 = NULL, *e3 = NULL;
    if (argc >= 4) {
        NP = strtoul(argv[1], &e1, 10);
        BS = strtoul(argv[2], &e2, 10);
        steps = (int)strtol(argv[3], &e3, 10);
    }
    if (argc == 5 && !strcmp(argv[4], "skip")) skip = 1;
    if (argc < 4 || argc > 4 + skip || *e1 || *e2 || *e3 || !BS || NP % BS || !NP || steps < 1 || steps > 1000) {
        fprintf(stderr, "usage: nbody NP BS STEPS [skip]   (BS divides NP)\n");
        return 2;
    }
    NB = NP / BS;
    CHECK(dt_type_register("forces", t_forces, &T_FORCES));
    CHECK(dt_type_register("block", t_block, &T_BLOCK));
    CHECK(dt_type_register("update", t_update, &T_UPDATE));
    CHECK(dt_type_register("updates", t_updates, &T_UPDATES));
    int rc = dt_main(argc, argv, app);
    if (rc < 0) {
        fprintf(stderr, "nbody: dt_main: %s\n", dt_strerror(rc));
        return 1;
    }
    return rc;
}
