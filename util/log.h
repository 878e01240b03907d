/* Logging. Messages go to stderr by default; the daemon points them at a log file or
 * syslog with bv_log_set_sink(). Thread safe. */
#ifndef BV_FS_LOG_H
#define BV_FS_LOG_H

#include <stdarg.h>

enum bv_log_level { BV_LOG_ERR, BV_LOG_WARN, BV_LOG_INFO, BV_LOG_DEBUG };

typedef void (*bv_log_sink_fn)(enum bv_log_level level, const char *msg, void *ctx);

/* Messages above LEVEL are dropped. Default BV_LOG_WARN. */
void bv_log_set_level(enum bv_log_level level);
enum bv_log_level bv_log_get_level(void);

/* SINK receives each formatted message (no trailing newline); NULL restores stderr. */
void bv_log_set_sink(bv_log_sink_fn sink, void *ctx);

void bv_log(enum bv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define bv_err(...) bv_log(BV_LOG_ERR, __VA_ARGS__)
#define bv_warn(...) bv_log(BV_LOG_WARN, __VA_ARGS__)
#define bv_info(...) bv_log(BV_LOG_INFO, __VA_ARGS__)
#define bv_debug(...) bv_log(BV_LOG_DEBUG, __VA_ARGS__)

#endif
