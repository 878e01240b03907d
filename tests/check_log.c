/* The logging module: level filtering and the sink. */
#include <string.h>

#include "util/log.h"
#include "tests/testutil.h"

static char last[256];
static int calls;

static void capture(enum bv_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)ctx;
	calls++;
	strncpy(last, msg, sizeof(last) - 1);
}

START_TEST(test_log_sink_receives_formatted_message)
{
	bv_log_set_sink(capture, NULL);
	bv_log_set_level(BV_LOG_INFO);
	bv_info("inode %u: %s", 12u, "bad");
	ck_assert_int_eq(calls, 1);
	ck_assert_str_eq(last, "inode 12: bad");
}
END_TEST

START_TEST(test_log_drops_messages_above_level)
{
	bv_log_set_sink(capture, NULL);
	bv_log_set_level(BV_LOG_WARN);
	bv_debug("hidden");
	bv_info("hidden");
	ck_assert_int_eq(calls, 0);
	bv_err("shown");
	ck_assert_int_eq(calls, 1);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_log_sink_receives_formatted_message);
	tcase_add_test(tc, test_log_drops_messages_above_level);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(log_suite)
