/* Runs a fuzz target's LLVMFuzzerTestOneInput() once over each file named on the command
 * line, without libFuzzer: `make check` replays every committed corpus this way, with
 * whatever compiler and sanitizers the build uses. A crash fails the run; so does a file
 * that cannot be read. Prints how many inputs ran. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *bigger = realloc(data, cap = cap ? cap * 2 : 65536);
			if (!bigger) {
				fprintf(stderr, "replay: %s: out of memory\n", path);
				free(data);
				fclose(f);
				return -1;
			}
			data = bigger;
		}
		size_t n = fread(data + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++)
		if (replay(argv[i]))
			failed = 1;
	printf("replay: %d inputs\n", argc - 1);
	return failed;
}
