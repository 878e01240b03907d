/* Opening an image for a command: one place that turns every way a source can be wrong
 * into one clear sentence. */
#include "cmd/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blockio/probe.h"
#include "blockio/source.h"
#include "fs/fs.h"

int bv_cmd_open_image(const char *path, const struct bv_fs_opts *opts, struct bv_source **src,
		      struct bv_fs **fs)
{
	struct bv_probe_result probe;
	struct bv_source *s = NULL;
	struct bv_fs *f = NULL;
	char msg[512];
	int err;

	err = bv_source_open(path, &s);
	if (err) {
		fprintf(stderr, "bootviewfs: %s: %s\n", path,
			err == -EINVAL ? "not a block device or regular file" : strerror(-err));
		return err;
	}

	/* blkid first: it names what is there when it is not ext ("holds xfs"), which our
	 * own superblock check could only call a bad magic number. */
	err = bv_probe_source(s, &probe);
	if (err == 0 && bv_probe_check_supported(&probe, path, bv_source_size(s), msg, sizeof(msg))) {
		fprintf(stderr, "bootviewfs: %s\n", msg);
		err = -EMEDIUMTYPE;
		goto close_source;
	}

	msg[0] = '\0';
	err = bv_fs_open(s, opts, &f, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "bootviewfs: %s: %s\n", path, msg[0] ? msg : strerror(-err));
		goto close_source;
	}
	*src = s;
	*fs = f;
	return 0;

close_source:
	bv_source_close(s);
	return err;
}
