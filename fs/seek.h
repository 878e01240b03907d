/* SEEK_DATA and SEEK_HOLE answers, the same for every reader: each walks its file's
 * mappings from the asked offset and stops at the first run of the kind asked for, at
 * i_size, or at its cap of runs looked at (the rest of the file then taken to be data,
 * always a correct answer: the generic llseek gives it for every file). */
#ifndef BV_FS_SEEK_H
#define BV_FS_SEEK_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* The answer when the run that starts at byte POS is of the kind asked for: POS, or OFF
 * when the run began before it. */
static inline uint64_t bv_seek_found(uint64_t pos, uint64_t off)
{
	return pos > off ? pos : off;
}

/* The answer when the walk found no run of its kind below SIZE (GAVE_UP false), or gave up
 * at its cap with the next run starting at byte POS (GAVE_UP true). For SEEK_DATA: -ENXIO
 * (only holes up to i_size), or POS when it gave up. For SEEK_HOLE: SIZE, the end of the
 * file being a hole. */
static inline int bv_seek_end(bool data, bool gave_up, uint64_t pos, uint64_t off,
			      uint64_t size, uint64_t *out)
{
	if (!data)
		*out = size;
	else if (gave_up)
		*out = bv_seek_found(pos, off);
	else
		return -ENXIO;
	return 0;
}

#endif
