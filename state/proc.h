/* Identity of processes: start time and boot id, so a pid is trusted only with both. */
#ifndef BV_STATE_PROC_H
#define BV_STATE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to SIZE-1 bytes of a small file (a /proc one), NUL-terminated. 0 or -errno. */
int bv_proc_read_small(const char *path, char *buf, size_t size);

/* Start time of PID in clock ticks since boot (field 22 of /proc/PID/stat). */
int bv_proc_start_time(pid_t pid, uint64_t *out);

/* The kernel's boot id (/proc/sys/kernel/random/boot_id), 36 characters and a NUL. */
int bv_proc_boot_id(char out[40]);

#endif
