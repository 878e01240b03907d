/* libFuzzer target: state.json as `stop` and `status` parse it. The state directory is
 * untrusted to whoever reads it back (the shim runs stop as root). */
#include "state/state.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bv_state st;
	char err[512];

	bv_state_parse((const char *)data, size, &st, err, sizeof(err));
	return 0;
}
