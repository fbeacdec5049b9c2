/* log.h - leveled logging to a handler (default: stderr for warnings and up)
 * lib/ never prints to stdout. FLOW_LOG checks the level before formatting. */
#ifndef FLOW_LOG_H
#define FLOW_LOG_H

#include "conf.h"

void flow__log(int level, const char *who, const char *fmt, ...) FLOW_PRINTF(3, 4);

#define FLOW_LOG(lvl, threshold, who, ...)                                                \
    do {                                                                                  \
        if ((lvl) <= (threshold))                                                         \
            flow__log((lvl), (who), __VA_ARGS__);                                         \
    } while (0)

#endif
