#include "util/report.h"

#include <stdio.h>

#include "util/log.h"

int bv_fail(char *errbuf, size_t size, int err, const char *fmt, ...)
{
	va_list ap;

	if (errbuf && size) {
		va_start(ap, fmt);
		vsnprintf(errbuf, size, fmt, ap);
		va_end(ap);
	}
	return err;
}

void bv_say(char *errbuf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (errbuf && size) {
		va_start(ap, fmt);
		vsnprintf(errbuf, size, fmt, ap);
		va_end(ap);
	}
}

int bv_report_capped(atomic_uint *counter, unsigned cap, const char *source, char *last,
		     size_t last_size, int err, const char *fmt, va_list ap)
{
	char msg[512];
	unsigned n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(last, last_size, "%s", msg);
	/* Count without wrapping: once past the cap the counter stays put. */
	n = atomic_load(counter);
	do {
		if (n > cap)
			return err;
	} while (!atomic_compare_exchange_weak(counter, &n, n + 1));
	if (n == cap)
		bv_warn("%s: further corruption reports suppressed", source);
	else
		bv_warn("%s: %s", source, msg);
	return err;
}
