/* mem.c - the allocator of lib/ (see mem.h)
 * The only file that calls jemalloc's own API. Out of memory here means the
 * machine itself is out of memory (the budget of partition data is enforced
 * by the arenas before this point), so it prints a message and aborts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FLOW_SYSTEM_MALLOC
#include <jemalloc/jemalloc.h>
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
