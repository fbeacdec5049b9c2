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
#include <stdint.h>

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
/* Bytes the allocator really gave p (its size class); 0 for NULL. */
size_t flow__mem_usable(const void *p);

/* Per-executor jemalloc arenas, so that each executor's memory can be read
 * from jemalloc's own statistics. Arenas come from a process-wide pool (an
 * arena cannot be destroyed while anything allocated in it lives, and a
 * process has at most a few thousand): acquire takes a free one or makes a
 * new one (-1 with the system allocator or when none can be made); release
 * gives its unused pages back to the system and returns it to the pool. */
int flow__mem_arena_acquire(void);
void flow__mem_arena_release(int arena);
/* Make the calling thread allocate from arena (no-op for -1). */
void flow__mem_thread_arena(int arena);
/* Bytes allocated from arena now, from jemalloc's statistics (0 when
 * unknown: the system allocator, or jemalloc built without statistics). */
uint64_t flow__mem_arena_allocated(int arena);

#endif
