/* libFuzzer target: the mounts JSON (--mounts-json), what containerd's snapshotter
 * returns for a View and the shim passes on. */
#include "blockio/mounts.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bv_mount_spec spec;
	char err[512];

	bv_mounts_parse((const char *)data, size, &spec, err, sizeof(err));
	return 0;
}
