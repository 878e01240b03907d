/* libFuzzer target: the XFS reader. The input is a squeezed image (fuzz.h): an XFS
 * filesystem's non-zero parts, so that mutations land on its metadata rather than on the
 * tens of MiB of zeros an allocation group needs. Expanded, opened and walked as fuzz_fs
 * does. Seeds: scripts/fuzz.sh makes them with mkfs.xfs, metadata only (xfs_metadump),
 * one image per directory, attribute-fork and data-fork format. */
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bv_source *src;

	if (fuzz_unsqueeze(data, size, &src))
		return 0;
	fuzz_image(src, size, fuzz_walk);
	fuzz_unsqueeze_done(data, size, src);
	return 0;
}
