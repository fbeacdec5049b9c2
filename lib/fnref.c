/* fnref.c - portable function references by build-id and offset (see fnref.h)
 * Both directions walk the loaded modules with dl_iterate_phdr: making a
 * reference finds the module whose executable segment holds the address and
 * reads its NT_GNU_BUILD_ID note; resolving finds the module with the same
 * build-id and checks that the offset falls in one of its executable
 * segments. */
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "fnref.h"

/* Read the GNU build-id of a module from its PT_NOTE segments. */
static int module_build_id(struct dl_phdr_info *info, uint8_t *out, size_t cap)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const uint8_t *name = p + sizeof *nh;
            const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
            if (desc + nh->n_descsz > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(name, "GNU", 4) == 0 && nh->n_descsz <= cap) {
                memcpy(out, desc, nh->n_descsz);
                return (int)nh->n_descsz;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return 0;
}

/* True when [addr] lies in an executable PT_LOAD segment of the module. */
static int in_code(struct dl_phdr_info *info, uintptr_t addr)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && addr >= lo &&
            addr < lo + ph->p_memsz)
            return 1;
    }
    return 0;
}

static void module_name(struct dl_phdr_info *info, char *out, size_t cap)
{
    const char *n = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "(main program)";
    const char *slash = strrchr(n, '/');
    snprintf(out, cap, "%s", slash ? slash + 1 : n);
}

typedef struct make_walk {
    uintptr_t addr;      /* Function address to place. */
    flow__fnref_t *out;  /* Reference being filled. */
    int found;           /* 1: module found, 2: found but it has no build-id. */
} make_walk_t;

static int make_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    make_walk_t *w = data;
    if (!in_code(info, w->addr))
        return 0;
    module_name(info, w->out->module, sizeof w->out->module);
    int n = module_build_id(info, w->out->build_id, sizeof w->out->build_id);
    w->out->idlen = (uint8_t)n;
    w->out->offset = w->addr - info->dlpi_addr;
    w->found = n > 0 ? 1 : 2;
    return 1;
}

int flow__fnref_make(const void *fn, flow__fnref_t *out, flow__err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!fn)
        return FLOW_OK;
    make_walk_t w = {(uintptr_t)fn, out, 0};
    dl_iterate_phdr(make_cb, &w);
    if (w.found == 0)
        return flow__err_set(err, FLOW_EINVAL,
                             "function %p is not in the code of any loaded module", fn);
    if (w.found == 2)
        return flow__err_set(err, FLOW_EINVAL,
                             "module %s has no build-id (link it with -Wl,--build-id)",
                             out->module);
    return FLOW_OK;
}

typedef struct resolve_walk {
    const flow__fnref_t *ref; /* Reference to resolve. */
    uintptr_t addr;           /* Result, or 0. */
    int module_found;         /* The build-id matched but the offset did not. */
} resolve_walk_t;

static int resolve_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    resolve_walk_t *w = data;
    uint8_t id[FLOW_BUILD_ID_MAX];
    int n = module_build_id(info, id, sizeof id);
    if (n != w->ref->idlen || memcmp(id, w->ref->build_id, (size_t)n) != 0)
        return 0;
    w->module_found = 1;
    uintptr_t addr = info->dlpi_addr + w->ref->offset;
    if (!in_code(info, addr))
        return 0;
    w->addr = addr;
    return 1;
}

void *flow__fnref_resolve(const flow__fnref_t *ref, flow__err_t *err)
{
    if (ref->idlen == 0)
        return NULL;
    resolve_walk_t w = {ref, 0, 0};
    dl_iterate_phdr(resolve_cb, &w);
    if (w.addr)
        return (void *)w.addr;
    char hex[2 * FLOW_BUILD_ID_MAX + 1];
    for (int i = 0; i < ref->idlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", ref->build_id[i]);
    flow__err_set(err, FLOW_EINVAL,
                  w.module_found
                      ? "function at offset 0x%llx of %s (build-id %s) is outside its code"
                      : "function at offset 0x%llx of %s: no loaded module has build-id %s"
                        " (the executor runs a different build)",
                  (unsigned long long)ref->offset, ref->module, hex);
    if (err)
        err->permanent = 1;
    return NULL;
}

void flow__fnref_encode(flow__wbuf_t *b, const flow__fnref_t *ref)
{
    flow__wbuf_u8(b, ref->idlen);
    if (!ref->idlen)
        return;
    flow__wbuf_put(b, ref->build_id, ref->idlen);
    flow__wbuf_u64(b, ref->offset);
    flow__wbuf_str(b, ref->module);
}

void flow__fnref_decode(flow__rbuf_t *r, flow__fnref_t *out)
{
    memset(out, 0, sizeof *out);
    out->idlen = flow__rbuf_u8(r);
    if (!out->idlen)
        return;
    if (out->idlen > FLOW_BUILD_ID_MAX) {
        r->failed = 1;
        out->idlen = 0;
        return;
    }
    const void *id = flow__rbuf_raw(r, out->idlen);
    if (id)
        memcpy(out->build_id, id, out->idlen);
    out->offset = flow__rbuf_u64(r);
    size_t n;
    const void *name = flow__rbuf_bytes(r, &n);
    if (n >= sizeof out->module)
        n = sizeof out->module - 1;
    if (name)
        memcpy(out->module, name, n);
    out->module[n] = '\0';
}
