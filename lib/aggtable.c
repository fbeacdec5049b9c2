/* aggtable.c - open-addressing hash table for aggregation (see aggtable.h) */
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
/* Every record of a shuffle is hashed: inline XXH3 rather than call it. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "aggtable.h"
#include "mem.h"

#define INITIAL_CAP 1024

#define INITIAL_SHIFT 54 /* 64 - log2(INITIAL_CAP). */

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
        spare_cap = 0; /* Or the table, freed, would not be kept again. */
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
        if (!e->tag)
            continue;
        size_t j = flow__agg_slot(t, e->tag);
        while (t->slots[j].tag)
            j = (j + 1) & (t->cap - 1);
        t->slots[j] = *e;
    }
    flow__free(old);
}

uint64_t flow__agg_entry_hash(const flow__agg_entry_t *e)
{
    return flow__agg_hash(flow__agg_key(e), flow__agg_klen(e));
}

flow__agg_entry_t *flow__agg_upsert(flow__aggtable_t *t, const void *key, size_t klen,
                                    uint64_t hash, int *isnew)
{
    if ((t->count + 1) * 10 > t->cap * 7)
        grow(t);
    uint32_t tag = flow__agg_tag(hash);
    size_t mask = t->cap - 1, i = flow__agg_slot(t, tag);
    flow__agg_entry_t *e;
    if (klen <= FLOW_AGG_INLINE_KEY) {
        /* Short keys compare as two words against a zero-padded copy. */
        uint64_t kw[2] = {0, 0};
        if (klen)
            memcpy(kw, key, klen);
        for (;; i = (i + 1) & mask) {
            e = &t->slots[i];
            if (!e->tag)
                break;
            if (e->tag == tag && e->klen == klen && memcmp(e->key.inl, kw, 16) == 0) {
                *isnew = 0;
                return e;
            }
        }
        memcpy(e->key.inl, kw, 16);
        e->klen = (uint8_t)klen;
    } else {
        for (;; i = (i + 1) & mask) {
            e = &t->slots[i];
            if (!e->tag)
                break;
            if (e->tag == tag && e->klen == FLOW_AGG_EXT && e->key.ext.len == klen &&
                memcmp(e->key.ext.ptr, key, klen) == 0) {
                *isnew = 0;
                return e;
            }
        }
        uint8_t *k = flow__arena_alloc(&t->arena, klen);
        memcpy(k, key, klen);
        e->key.ext.ptr = k;
        e->key.ext.len = klen;
        e->klen = FLOW_AGG_EXT;
    }
    /* Empty slots are all zero: the value is inline and empty. */
    e->tag = tag;
    t->count++;
    *isnew = 1;
    return e;
}

void flow__agg_set_val(flow__aggtable_t *t, flow__agg_entry_t *e, const void *v, size_t vlen)
{
    if (e->vlen == FLOW_AGG_EXT) {
        flow__agg_vhdr_t *h = (flow__agg_vhdr_t *)e->val.ptr - 1;
        if (h->cap >= vlen) {
            if (vlen && v != e->val.ptr)
                memmove(e->val.ptr, v, vlen);
            h->len = (uint32_t)vlen;
            return;
        }
    } else if (vlen <= 8) {
        uint64_t w = 0; /* v may be the entry's own inline value. */
        if (vlen)
            memcpy(&w, v, vlen);
        e->val.inl = w;
        e->vlen = (uint8_t)vlen;
        return;
    }
    /* Room for growth (a concatenation grows one value at a time). */
    size_t cap = vlen < 16 ? 16 : vlen + vlen / 2;
    if (cap > FLOW_REC_MAX)
        cap = FLOW_REC_MAX;
    flow__agg_vhdr_t *h = flow__arena_alloc(&t->arena, sizeof *h + cap);
    if (vlen)
        memcpy(h + 1, v, vlen); /* v may be the old value: the arena keeps it. */
    h->len = (uint32_t)vlen;
    h->cap = (uint32_t)cap;
    e->val.ptr = (uint8_t *)(h + 1);
    e->vlen = FLOW_AGG_EXT;
}

void flow__agg_append_val(flow__aggtable_t *t, flow__agg_entry_t *e, const void *v,
                          size_t vlen)
{
    size_t old = flow__agg_vlen(e);
    if (e->vlen == FLOW_AGG_EXT) {
        flow__agg_vhdr_t *h = (flow__agg_vhdr_t *)e->val.ptr - 1;
        if (h->cap - old >= vlen) {
            memcpy(e->val.ptr + old, v, vlen);
            h->len = (uint32_t)(old + vlen);
            return;
        }
    }
    /* A new home half as big again as the value: appends cost amortized
     * constant time, and the arena holds at most about three times the
     * value. The old home stays in the arena (freed with the table). */
    size_t n = old + vlen, cap = n < 16 ? 16 : n + n / 2;
    if (cap > FLOW_REC_MAX)
        cap = FLOW_REC_MAX;
    flow__agg_vhdr_t *h = flow__arena_alloc(&t->arena, sizeof *h + cap);
    memcpy(h + 1, flow__agg_val(e), old);
    memcpy((uint8_t *)(h + 1) + old, v, vlen);
    h->len = (uint32_t)n;
    h->cap = (uint32_t)cap;
    e->val.ptr = (uint8_t *)(h + 1);
    e->vlen = FLOW_AGG_EXT;
}

flow_rec_t flow__agg_rec(flow__agg_entry_t *e)
{
    flow_rec_t r = {flow__agg_key(e), flow__agg_klen(e), flow__agg_val(e), flow__agg_vlen(e)};
    return r;
}

size_t flow__agg_bytes(const flow__aggtable_t *t)
{
    return t->cap * sizeof *t->slots + t->arena.allocated;
}

/* An entry with its partition, for sorting. */
typedef struct sort_item {
    flow__agg_entry_t *e; /* The entry. */
    uint32_t part;        /* Its partition (0 when unpartitioned). */
} sort_item_t;

static int item_cmp(const void *pa, const void *pb)
{
    const sort_item_t *a = pa, *b = pb;
    if (a->part != b->part)
        return a->part < b->part ? -1 : 1;
    size_t al = flow__agg_klen(a->e), bl = flow__agg_klen(b->e);
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(flow__agg_key(a->e), flow__agg_key(b->e), n) : 0;
    if (c)
        return c;
    return (al > bl) - (al < bl);
}

flow__agg_entry_t **flow__agg_sorted(flow__aggtable_t *t, uint32_t (*part)(uint64_t, void *),
                                     void *ud)
{
    size_t n = 0, max = t->count ? t->count : 1;
    sort_item_t *items = flow__malloc(sizeof *items * max);
    for (size_t i = 0; i < t->cap; i++) {
        flow__agg_entry_t *e = &t->slots[i];
        if (e->tag)
            items[n++] = (sort_item_t){e, part ? part(flow__agg_entry_hash(e), ud) : 0};
    }
    qsort(items, n, sizeof *items, item_cmp);
    flow__agg_entry_t **v = flow__malloc(sizeof *v * max);
    for (size_t i = 0; i < n; i++)
        v[i] = items[i].e;
    flow__free(items);
    return v;
}
