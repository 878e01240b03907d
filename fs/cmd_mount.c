/* STUB: replaced by the FUSE server's owner. */
#include <stdio.h>

#include "fs/cmd.h"

int bv_cmd_mount(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "bootviewfs: mounting is not implemented yet\n");
	return BV_EXIT_FAIL;
}
