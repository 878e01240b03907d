/* The XFS reader's entry point and ops table. (Placeholder until the reader lands: every
 * source is "not xfs", so bv_fs_open says what it holds.) */
#include <errno.h>

#include "fs/fs_ops.h"
#include "fs/xfs/xfs_priv.h"

_Static_assert(sizeof(struct bv_xfs_inode) <= BV_INODE_PRIV_BYTES,
	       "the decoded XFS inode must fit in struct bv_inode");

int bv_xfs_fs_open(struct bv_source *src, const struct bv_fs_opts *opts, void **impl,
		   const struct bv_fs_ops **ops, char *errbuf, size_t errbuf_size)
{
	(void)src, (void)opts, (void)impl, (void)ops, (void)errbuf, (void)errbuf_size;
	return -EMEDIUMTYPE;
}
