/* A bad command line, said the same way by every command: one line naming what is wrong,
 * then where the help is. The whole usage is never dumped: the one line would drown in it.
 */
#include "cmd/cmd.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void bv_cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("bootviewfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'bootviewfs %s --help'\n", cmd);
}

void bv_cmd_option_describe(int c, char **argv, int at, char *buf, size_t len)
{
	/* A long option always consumes its word; a short one may be the first of a cluster
	 * (-zl) whose word getopt_long has not left yet. optopt names a short letter, or the
	 * known long option that failed (0 for an unknown one). */
	const char *word = optind > at ? argv[optind - 1] : argv[at];
	bool is_long = strncmp(word, "--", 2) == 0;
	char name[64];

	if (is_long)
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(word, "="), word);
	else
		snprintf(name, sizeof(name), "-%c", optopt > ' ' && optopt < 0x7f ? optopt : '?');

	if (c == ':')
		snprintf(buf, len, "option %s needs an argument", name);
	else if (is_long && optopt)
		/* A known long option given "=VALUE", which it does not take. */
		snprintf(buf, len, "option %s takes no argument", name);
	else
		snprintf(buf, len, "unknown option '%s'", name);
}

void bv_cmd_option_error(const char *cmd, int c, char **argv, int at)
{
	char what[128];

	bv_cmd_option_describe(c, argv, at, what, sizeof(what));
	bv_cmd_usage_error(cmd, "%s: %s", cmd, what);
}
