/* err.c - status codes and lib/'s error records (see err.h) */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

const char *flow_strerror(int code)
{
    switch (code) {
    case FLOW_OK: return "FLOW_OK: success";
    case FLOW_EINVAL: return "FLOW_EINVAL: invalid argument, configuration or input";
    case FLOW_ENOMEM: return "FLOW_ENOMEM: out of memory";
    case FLOW_EIO: return "FLOW_EIO: input/output error";
    case FLOW_ETASK: return "FLOW_ETASK: a user function failed";
    case FLOW_ENET: return "FLOW_ENET: executor or transport lost";
    case FLOW_ETIMEDOUT: return "FLOW_ETIMEDOUT: executor timed out";
    case FLOW_ECANCELED: return "FLOW_ECANCELED: cancelled";
    case FLOW_EEXIST: return "FLOW_EEXIST: already exists";
    case FLOW_ENOENT: return "FLOW_ENOENT: does not exist";
    case FLOW_EPROTO: return "FLOW_EPROTO: malformed message, task or block";
    default: return "unknown libflow status";
    }
}

int flow__err_set(flow__err_t *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void flow__err_prefix(flow__err_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    char old[FLOW_ERRMSG_MAX];
    memcpy(old, err->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof err->msg - 2)
        return;
    size_t at = (size_t)n;
    memcpy(err->msg + at, ": ", 2);
    at += 2;
    size_t room = sizeof err->msg - at - 1, len = strnlen(old, sizeof old - 1);
    if (len > room)
        len = room;
    memcpy(err->msg + at, old, len);
    err->msg[at + len] = '\0';
}

void flow__err_clear(flow__err_t *err)
{
    if (!err)
        return;
    err->code = FLOW_OK;
    err->permanent = 0;
    err->dataset = 0;
    err->msg[0] = '\0';
}
