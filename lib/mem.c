/* mem.c - the allocator of lib/ (see mem.h)
 * The only file that calls jemalloc's own API. Out of memory here means the
 * machine itself is out of memory (the budget of partition data is enforced
 * by the arenas before this point), so it prints a message and aborts. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FLOW_SYSTEM_MALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif

#include "flow.h"
#include "mem.h"

static void out_of_memory(size_t n)
{
    fprintf(stderr, "libflow: out of memory allocating %zu bytes\n", n);
    abort();
}

#ifndef FLOW_SYSTEM_MALLOC
void *flow__malloc(size_t n)
{
    void *p = mallocx(n ? n : 1, 0);
    if (!p)
        out_of_memory(n);
    return p;
}

void *flow__calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        out_of_memory(SIZE_MAX);
    size_t total = n * size;
    void *p = mallocx(total ? total : 1, MALLOCX_ZERO);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *flow__realloc(void *p, size_t n)
{
    if (!p)
        return flow__malloc(n);
    void *q = rallocx(p, n ? n : 1, 0);
    if (!q)
        out_of_memory(n);
    return q;
}

void flow__free(void *p)
{
    if (p)
        dallocx(p, 0);
}

const char *flow__mem_allocator(void) { return "jemalloc"; }

size_t flow__mem_usable(const void *p) { return p ? sallocx((void *)p, 0) : 0; }

#define ARENA_POOL 256
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned pool[ARENA_POOL];
static int npool;

int flow__mem_arena_acquire(void)
{
    unsigned a;
    size_t len = sizeof a;
    pthread_mutex_lock(&pool_mu);
    int rc = npool > 0 ? (int)pool[--npool] : -1;
    pthread_mutex_unlock(&pool_mu);
    if (rc >= 0)
        return rc;
    if (mallctl("arenas.create", &a, &len, NULL, 0) != 0)
        return -1;
    /* An executor keeps the pages it frees (its budget bounds them) rather
     * than hand them back to the kernel within seconds and fault them in
     * again for its next task: a map task's buckets, freed as its output
     * goes to disk, are the next task's. flowbench's sort spent 30% of its
     * time in page faults. Release purges the arena. */
    ssize_t never = -1;
    char name[64];
    snprintf(name, sizeof name, "arena.%u.dirty_decay_ms", a);
    mallctl(name, NULL, NULL, &never, sizeof never);
    snprintf(name, sizeof name, "arena.%u.muzzy_decay_ms", a);
    mallctl(name, NULL, NULL, &never, sizeof never);
    return (int)a;
}

void flow__mem_arena_release(int arena)
{
    if (arena < 0)
        return;
    char name[64];
    snprintf(name, sizeof name, "arena.%d.purge", arena);
    mallctl(name, NULL, NULL, NULL, 0);
    pthread_mutex_lock(&pool_mu);
    if (npool < ARENA_POOL)
        pool[npool++] = (unsigned)arena;
    pthread_mutex_unlock(&pool_mu);
}

void flow__mem_thread_arena(int arena)
{
    if (arena < 0)
        return;
    unsigned a = (unsigned)arena;
    mallctl("thread.arena", NULL, NULL, &a, sizeof a);
}

uint64_t flow__mem_arena_allocated(int arena)
{
    if (arena < 0)
        return 0;
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    mallctl("epoch", &epoch, &len, &epoch, len);
    uint64_t total = 0;
    static const char *const parts[] = {"small", "large"};
    for (int i = 0; i < 2; i++) {
        char name[64];
        size_t v = 0;
        len = sizeof v;
        snprintf(name, sizeof name, "stats.arenas.%d.%s.allocated", arena, parts[i]);
        if (mallctl(name, &v, &len, NULL, 0) != 0)
            return 0;
        total += v;
    }
    return total;
}
#else
void *flow__malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *flow__calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *flow__realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

void flow__free(void *p) { free(p); }

const char *flow__mem_allocator(void) { return "system"; }

size_t flow__mem_usable(const void *p) { return p ? malloc_usable_size((void *)p) : 0; }
int flow__mem_arena_acquire(void) { return -1; }
void flow__mem_arena_release(int arena) { (void)arena; }
void flow__mem_thread_arena(int arena) { (void)arena; }
uint64_t flow__mem_arena_allocated(int arena)
{
    (void)arena;
    return 0;
}
#endif

char *flow__strndup(const char *s, size_t n)
{
    char *d = flow__malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *flow__strdup(const char *s) { return flow__strndup(s, strlen(s)); }

char *flow__asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = flow__malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void flow_free(void *p) { flow__free(p); }
