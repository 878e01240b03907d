/* How a reader reports what is wrong with an image: the one sentence an open fails with, and
 * corruption warnings capped per filesystem so that a crafted image cannot flood the log. */
#ifndef BV_UTIL_REPORT_H
#define BV_UTIL_REPORT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Formats the sentence into ERRBUF (SIZE bytes; nothing when ERRBUF is NULL or SIZE is 0)
 * and returns ERR, so that a failing check reads `return bv_fail(...)`. */
int bv_fail(char *errbuf, size_t size, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The same without an error to return. */
void bv_say(char *errbuf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Logs "SOURCE: <message>" as a warning, at most CAP times per COUNTER (the next one logs
 * that further reports are suppressed, later ones nothing), and always leaves the message
 * in LAST (LAST_SIZE bytes, the caller's per-thread buffer, which an open quotes in its
 * sentence). Thread safe: COUNTER is the only shared state. Returns ERR. */
int bv_report_capped(atomic_uint *counter, unsigned cap, const char *source, char *last,
		     size_t last_size, int err, const char *fmt, va_list ap)
	__attribute__((format(printf, 7, 0)));

static inline bool bv_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

#endif
