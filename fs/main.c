/* bootviewfs: argument dispatch only. Each command lives in its own fs/cmd_*.c. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("bootviewfs %s\n", BV_VERSION);
		return 0;
	}
	fprintf(stderr, "bootviewfs: not implemented yet\n");
	return 2;
}
