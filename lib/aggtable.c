/* aggtable.c - open-addressing hash table for aggregation (see aggtable.h) */
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <xxhash.h>

#include "aggtable.h"
#include "mem.h"

#define INITIAL_CAP 1024

#define INITIAL_SHIFT 54 /* 64 - log2(INITIAL_CAP). */

/* The home slot of a hash: multiplicative hashing of the salted hash, top bits. */
static inline size_t slot_of(const flow__aggtable_t *t, uint64_t h)
{
    return (size_t)(((h ^ t->salt) * 0x9E3779B97F4A7C15ull) >> t->shift);
}

/* Big tables are probed at random: ask for huge pages, so that a probe costs
 * a cache miss but not also a TLB miss (a no-op where the kernel says no). */
static void advise_huge(void *p, size_t bytes)
{
    uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
    if (bytes >= (2u << 20) && hi > lo)
        madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

/* The slot array of the last big table freed on this thread, kept for the
 * next task: a fresh array costs a page fault per 4 KiB (the kernel zeroing
 * it at a tenth of memset's speed), and a word count's map table grows to
 * tens of MiB in every task. One per executor thread, at most SPARE_MAX. */
#define SPARE_MAX (64u << 20)
static __thread flow__agg_entry_t *spare;
static __thread size_t spare_cap;

static unsigned log2_of(size_t n)
{
    unsigned b = 0;
    while ((1ull << b) < n)
        b++;
    return b;
}

/* Zeroed slots, written before they are read: calloc's fresh pages would be
 * mapped to the zero page on the first read (probing) and copied on the
 * first write, a second fault with a TLB flush across CPUs. */
static flow__agg_entry_t *new_slots(size_t cap)
{
    flow__agg_entry_t *s = flow__malloc(cap * sizeof *s);
    advise_huge(s, cap * sizeof *s);
    memset(s, 0, cap * sizeof *s);
    return s;
}

void flow__agg_init(flow__aggtable_t *t, uint64_t salt, size_t limit)
{
    t->cap = INITIAL_CAP;
    t->shift = INITIAL_SHIFT;
    t->salt = salt;
    t->limit = limit;
    t->count = 0;
    if (spare && spare_cap * sizeof *spare <= limit / 2) {
        /* Start at the size the last table reached. */
        t->slots = spare;
        t->cap = spare_cap;
        t->shift = 64 - log2_of(spare_cap);
        spare = NULL;
        memset(t->slots, 0, t->cap * sizeof *t->slots);
        flow__arena_init(&t->arena, 64u << 10);
        return;
    }
    t->slots = new_slots(t->cap);
    flow__arena_init(&t->arena, 64u << 10);
}

void flow__agg_release_spare(void)
{
    flow__free(spare);
    spare = NULL;
    spare_cap = 0;
}

void flow__agg_free(flow__aggtable_t *t)
{
    size_t bytes = t->cap * sizeof *t->slots;
    if (t->slots && t->cap > INITIAL_CAP && bytes <= SPARE_MAX && t->cap > spare_cap) {
        flow__free(spare);
        spare = t->slots;
        spare_cap = t->cap;
    } else {
        flow__free(t->slots);
    }
    t->slots = NULL;
    t->cap = t->count = 0;
    flow__arena_free(&t->arena);
}

void flow__agg_clear_only(flow__aggtable_t *t, flow__agg_entry_t *e)
{
    memset(e, 0, sizeof *e);
    t->count = 0;
    flow__arena_reset(&t->arena);
}

void flow__agg_clear(flow__aggtable_t *t)
{
    if (t->cap > INITIAL_CAP && t->cap * sizeof *t->slots > t->limit / 2) {
        /* A table whose slots alone take half the memory starts small again
         * after a spill; a smaller one keeps its size (regrowing costs). */
        flow__free(t->slots);
        t->cap = INITIAL_CAP;
        t->shift = INITIAL_SHIFT;
        t->slots = flow__malloc(t->cap * sizeof *t->slots);
    }
    memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->count = 0;
    flow__arena_reset(&t->arena);
}

uint64_t flow__agg_hash(const void *key, size_t klen)
{
    uint64_t h = XXH3_64bits(key, klen);
    return h ? h : 1;
}

static void grow(flow__aggtable_t *t)
{
    size_t ocap = t->cap;
    flow__agg_entry_t *old = t->slots;
    t->cap = ocap * 2;
    t->shift--;
    t->slots = new_slots(t->cap);
    for (size_t i = 0; i < ocap; i++) {
        flow__agg_entry_t *e = &old[i];
        if (!e->hash)
            continue;
        size_t j = slot_of(t, e->hash);
        while (t->slots[j].hash)
            j = (j + 1) & (t->cap - 1);
        t->slots[j] = *e;
    }
    flow__free(old);
}

void flow__agg_prefetch(const flow__aggtable_t *t, uint64_t hash)
{
    __builtin_prefetch(&t->slots[slot_of(t, hash)], 1);
}

flow__agg_entry_t *flow__agg_upsert(flow__aggtable_t *t, const void *key, size_t klen,
                                    uint64_t hash, int *isnew)
{
    if ((t->count + 1) * 10 > t->cap * 7)
        grow(t);
    size_t mask = t->cap - 1, i = slot_of(t, hash);
    /* Short keys compare as two words against a zero-padded copy (inline
     * keys are zero-padded in their entries). */
    uint64_t kw[2] = {0, 0};
    int short_key = klen <= FLOW_AGG_INLINE_KEY;
    if (short_key && klen)
        memcpy(kw, key, klen);
    for (;; i = (i + 1) & mask) {
        flow__agg_entry_t *e = &t->slots[i];
        if (!e->hash)
            break;
        if (e->hash != hash || e->klen != klen)
            continue;
        if (short_key ? (memcmp(e->key.inl, kw, 16) == 0)
                      : memcmp(e->key.ptr, key, klen) == 0) {
            *isnew = 0;
            return e;
        }
    }
    flow__agg_entry_t *e = &t->slots[i];
    memset(e, 0, sizeof *e);
    e->hash = hash;
    e->klen = (uint32_t)klen;
    e->keyed = 1;
    if (klen <= FLOW_AGG_INLINE_KEY) {
        if (klen)
            memcpy(e->key.inl, key, klen);
    } else {
        uint8_t *k = flow__arena_alloc(&t->arena, klen);
        memcpy(k, key, klen);
        e->key.ptr = k;
    }
    t->count++;
    *isnew = 1;
    return e;
}

void flow__agg_set_val(flow__aggtable_t *t, flow__agg_entry_t *e, const void *v, size_t vlen)
{
    void *dst;
    if (e->vcap && e->vcap >= vlen)
        dst = e->val.ptr;
    else if (!e->vcap && vlen <= 8)
        dst = &e->val.inl;
    else
        dst = flow__arena_alloc(&t->arena, vlen < 16 ? 16 : vlen + vlen / 2);
    /* Copy before touching the union: v may be the entry's own inline value. */
    if (vlen && dst != v)
        memmove(dst, v, vlen);
    if (dst != e->val.ptr && dst != (void *)&e->val.inl) {
        e->vcap = (uint32_t)(vlen < 16 ? 16 : vlen + vlen / 2);
        e->val.ptr = dst;
    }
    e->vlen = (uint32_t)vlen;
}

flow_rec_t flow__agg_rec(flow__agg_entry_t *e)
{
    flow_rec_t r = {flow__agg_key(e), e->klen, flow__agg_val(e), e->vlen};
    return r;
}

size_t flow__agg_bytes(const flow__aggtable_t *t)
{
    return t->cap * sizeof *t->slots + t->arena.allocated;
}

typedef struct sort_ctx {
    uint32_t (*part)(uint64_t, void *); /* Partition of a hash, or NULL. */
    void *ud;                           /* Its argument. */
} sort_ctx_t;

static int entry_cmp(const void *pa, const void *pb, void *arg)
{
    const sort_ctx_t *sc = arg;
    const flow__agg_entry_t *a = *(flow__agg_entry_t *const *)pa;
    const flow__agg_entry_t *b = *(flow__agg_entry_t *const *)pb;
    if (sc->part) {
        uint32_t x = sc->part(a->hash, sc->ud), y = sc->part(b->hash, sc->ud);
        if (x != y)
            return x < y ? -1 : 1;
    }
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n ? memcmp(flow__agg_key(a), flow__agg_key(b), n) : 0;
    if (c)
        return c;
    return (a->klen > b->klen) - (a->klen < b->klen);
}

flow__agg_entry_t **flow__agg_sorted(flow__aggtable_t *t, uint32_t (*part)(uint64_t, void *),
                                     void *ud)
{
    flow__agg_entry_t **v = flow__malloc(sizeof *v * (t->count ? t->count : 1));
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].hash)
            v[n++] = &t->slots[i];
    sort_ctx_t sc = {part, ud};
    qsort_r(v, n, sizeof *v, entry_cmp, &sc);
    return v;
}
