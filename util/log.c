#include "util/log.h"

#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum bv_log_level log_level = BV_LOG_WARN; /* guarded by log_lock */
static bv_log_sink_fn log_sink;                   /* guarded by log_lock */
static void *log_ctx;                             /* guarded by log_lock */

void bv_log_set_level(enum bv_log_level level)
{
	pthread_mutex_lock(&log_lock);
	log_level = level;
	pthread_mutex_unlock(&log_lock);
}

enum bv_log_level bv_log_get_level(void)
{
	pthread_mutex_lock(&log_lock);
	enum bv_log_level level = log_level;
	pthread_mutex_unlock(&log_lock);
	return level;
}

void bv_log_set_sink(bv_log_sink_fn sink, void *ctx)
{
	pthread_mutex_lock(&log_lock);
	log_sink = sink;
	log_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

void bv_log(enum bv_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > bv_log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	/* The lock also keeps lines from different threads whole. */
	pthread_mutex_lock(&log_lock);
	if (log_sink)
		log_sink(level, msg, log_ctx);
	else
		fprintf(stderr, "bootviewfs: %s\n", msg);
	pthread_mutex_unlock(&log_lock);
}
