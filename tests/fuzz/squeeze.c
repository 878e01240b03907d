/* Squeezed images (see fuzz.h): only the non-zero parts of a large image, expanded into
 * one zero-filled mapping made once per process. */
#include <string.h>
#include <sys/mman.h>

#include "tests/fuzz/fuzz.h"
#include "util/le.h"

#define MAX_MIB 1024 /* sizes are taken modulo this */
#define MIN_MIB 16   /* one allocation group, the least XFS accepts */
#define HEADER 4
#define RECORD_HEADER 6

static uint8_t *image;

static uint64_t image_size(const uint8_t *data)
{
	uint32_t mib = bv_le32(data) % MAX_MIB;

	return (uint64_t)(mib < MIN_MIB ? MIN_MIB : mib) << 20;
}

/* Calls FN for each record's part inside the image: offset and length clipped to it. */
static void for_each_record(const uint8_t *data, size_t size, uint64_t limit,
			    void (*fn)(uint64_t off, const uint8_t *bytes, size_t len))
{
	for (size_t at = HEADER; size - at >= RECORD_HEADER;) {
		uint64_t off = (uint64_t)bv_le32(data + at) * 512;
		size_t len = bv_le16(data + at + 4);

		at += RECORD_HEADER;
		if (len > size - at)
			len = size - at;
		if (off < limit)
			fn(off, data + at, len < limit - off ? len : (size_t)(limit - off));
		at += len;
	}
}

static void put(uint64_t off, const uint8_t *bytes, size_t len)
{
	memcpy(image + off, bytes, len);
}

static void wipe(uint64_t off, const uint8_t *bytes, size_t len)
{
	(void)bytes;
	memset(image + off, 0, len);
}

int fuzz_unsqueeze(const uint8_t *data, size_t size, struct bv_source **src)
{
	uint64_t limit;

	if (size < HEADER)
		return -1;
	if (!image) {
		/* Untouched pages read as the shared zero page: the mapping costs only what
		 * records write. */
		void *m = mmap(NULL, (size_t)MAX_MIB << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			return -1;
		image = m;
	}
	limit = image_size(data);
	for_each_record(data, size, limit, put);
	if (bv_source_open_mem(image, (size_t)limit, src)) {
		for_each_record(data, size, limit, wipe);
		return -1;
	}
	return 0;
}

void fuzz_unsqueeze_done(const uint8_t *data, size_t size, struct bv_source *src)
{
	bv_source_close(src);
	for_each_record(data, size, image_size(data), wipe);
}
