/* log.c - log lines to stderr, prefixed with the level and the role (see log.h) */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void flow__log(int level, const char *who, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "libflow %s [%s]: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level],
            who, line);
}
