/* On-disk inode layout constants and flags (kernel names). Decoding is in inode.c; the
 * decoded struct bv_ext4_inode is in fs/ext4.h. */
#ifndef BV_FS_INODE_H
#define BV_FS_INODE_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/ext4/ext4.h"

/* i_flags */
#define EXT4_SECRM_FL 0x00000001
#define EXT4_COMPR_FL 0x00000004
#define EXT4_SYNC_FL 0x00000008
#define EXT4_IMMUTABLE_FL 0x00000010
#define EXT4_APPEND_FL 0x00000020
#define EXT4_NODUMP_FL 0x00000040
#define EXT4_NOATIME_FL 0x00000080
#define EXT4_INDEX_FL 0x00001000
#define EXT4_JOURNAL_DATA_FL 0x00004000
#define EXT4_DIRSYNC_FL 0x00010000
#define EXT4_HUGE_FILE_FL 0x00040000
#define EXT4_EXTENTS_FL 0x00080000
#define EXT4_VERITY_FL 0x00100000
#define EXT4_EA_INODE_FL 0x00200000
#define EXT4_INLINE_DATA_FL 0x10000000
#define EXT4_PROJINHERIT_FL 0x20000000
#define EXT4_CASEFOLD_FL 0x40000000
#define EXT4_ENCRYPT_FL 0x00000800

#define EXT4_N_BLOCKS 15
#define EXT4_INODE_BLOCK_BYTES 60
#define EXT4_MIN_INLINE_DATA_SIZE 60

/* Byte offsets in the raw inode. */
#define EXT4_INODE_I_MODE 0x00
#define EXT4_INODE_I_UID 0x02
#define EXT4_INODE_I_SIZE_LO 0x04
#define EXT4_INODE_I_ATIME 0x08
#define EXT4_INODE_I_CTIME 0x0C
#define EXT4_INODE_I_MTIME 0x10
#define EXT4_INODE_I_DTIME 0x14
#define EXT4_INODE_I_GID 0x18
#define EXT4_INODE_I_LINKS_COUNT 0x1A
#define EXT4_INODE_I_BLOCKS_LO 0x1C
#define EXT4_INODE_I_FLAGS 0x20
#define EXT4_INODE_I_BLOCK 0x28
#define EXT4_INODE_I_GENERATION 0x64
#define EXT4_INODE_I_FILE_ACL_LO 0x68
#define EXT4_INODE_I_SIZE_HIGH 0x6C
#define EXT4_INODE_L_I_BLOCKS_HIGH 0x74
#define EXT4_INODE_L_I_FILE_ACL_HIGH 0x76
#define EXT4_INODE_L_I_UID_HIGH 0x78
#define EXT4_INODE_L_I_GID_HIGH 0x7A
#define EXT4_INODE_L_I_CHECKSUM_LO 0x7C
#define EXT4_INODE_I_EXTRA_ISIZE 0x80
#define EXT4_INODE_I_CHECKSUM_HI 0x82
#define EXT4_INODE_I_CTIME_EXTRA 0x84
#define EXT4_INODE_I_MTIME_EXTRA 0x88
#define EXT4_INODE_I_ATIME_EXTRA 0x8C
#define EXT4_INODE_I_CRTIME 0x90
#define EXT4_INODE_I_CRTIME_EXTRA 0x94
#define EXT4_INODE_I_PROJID 0x9C

/* Decodes the raw inode at RAW (INODE_SIZE bytes) for inode INO; pure, for tests and
 * inode.c. Validates extra_isize, the checksum when CSUM_SEED is non-zero (metadata_csum),
 * the mode, size against the file type, and fast-symlink and inline-data constraints.
 * Returns 0, -ENOENT (unused inode), -EUCLEAN or -EBADMSG. */
struct bv_ext4_sb;
int bv_ext4_inode_decode(const struct bv_ext4_sb *sb, uint32_t ino, const uint8_t *raw,
			 bool verify_csum, struct bv_ext4_inode *out);

/* True when symlink INODE keeps its target in i_block (the kernel's
 * ext4_inode_is_fast_symlink): no blocks of its own and no inline data. */
bool bv_ext4_inode_is_fast_symlink(const struct bv_ext4_sb *sb,
				   const struct bv_ext4_inode *inode);

#endif
