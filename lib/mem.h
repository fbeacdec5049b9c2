/* mem.h - allocation for lib/
 * Everything in libflow allocates through these. The release build uses
 * jemalloc's mallocx/dallocx; FLOW_SYSTEM_MALLOC builds (sanitizers, valgrind)
 * use the system allocator, because jemalloc's own calls are invisible to them.
 * Bookkeeping allocations abort with a message when the machine itself is out
 * of memory (the one abort in the library); partition data goes through
 * arenas (rec.h), which are counted against a budget. */
#ifndef FLOW_MEM_H
#define FLOW_MEM_H

#include <stddef.h>

void *flow__malloc(size_t n);
void *flow__calloc(size_t n, size_t size);
void *flow__realloc(void *p, size_t n);
void flow__free(void *p);
char *flow__strdup(const char *s);
char *flow__strndup(const char *s, size_t n);
/* A printf into a new string. */
char *flow__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Name of the allocator in use: "jemalloc" or "system". */
const char *flow__mem_allocator(void);

#endif
