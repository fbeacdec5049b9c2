/* gentext.h - deterministic Zipf text (see gentext.c) */
#ifndef FB_GENTEXT_H
#define FB_GENTEXT_H

#include "flowbench.h"

#define FB_VOCAB 1000000u

/* Write exactly size bytes of text to path (the last line may be cut). */
int fb_gen_text(const char *path, uint64_t size, uint64_t seed, char *err, size_t errlen);

#endif
