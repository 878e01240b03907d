/* Directory entries and the htree index: on-disk layout (kernel names) and the dirent
 * validator dir.c uses, exported for tests. The directory API itself (lookup, iterate) is
 * in fs/ext4.h. */
#ifndef BV_FS_DIR_H
#define BV_FS_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "fs/ext4/superblock.h"

/* ext4_dir_entry_2: inode le32, rec_len le16, name_len u8, file_type u8, name. */
#define EXT4_DIRENT_INODE 0
#define EXT4_DIRENT_REC_LEN 4
#define EXT4_DIRENT_NAME_LEN 6
#define EXT4_DIRENT_FILE_TYPE 7
#define EXT4_DIRENT_NAME 8
#define EXT4_NAME_LEN 255

/* Smallest record holding a name of LEN bytes: 8-byte header, name, rounded up to 4. */
#define EXT4_DIR_REC_LEN(len) ((((uint32_t)(len)) + 8 + 3) & ~3U)

/* dirent file_type */
#define EXT4_FT_UNKNOWN 0
#define EXT4_FT_REG_FILE 1
#define EXT4_FT_DIR 2
#define EXT4_FT_CHRDEV 3
#define EXT4_FT_BLKDEV 4
#define EXT4_FT_FIFO 5
#define EXT4_FT_SOCK 6
#define EXT4_FT_SYMLINK 7
#define EXT4_FT_MAX 8
#define EXT4_FT_DIR_CSUM 0xDE

/* ext4_dir_entry_tail: the 12 bytes at the end of a leaf block with metadata_csum. */
#define EXT4_DIRENT_TAIL_SIZE 12
#define EXT4_DIRENT_TAIL_CSUM 8

/* dx_root: "." (12 bytes), ".." (rec_len to the block end), then dx_root_info at 24:
 * reserved_zero le32, hash_version u8, info_length u8, indirect_levels u8, unused_flags
 * u8; then the dx_countlimit and entries. A dx_node is a fake empty dirent of 8 bytes
 * covering the block, then the dx_countlimit. */
#define EXT4_DX_ROOT_INFO 24
#define EXT4_DX_ROOT_INFO_LEN 8
#define EXT4_DX_ROOT_ENTRIES 32
#define EXT4_DX_NODE_ENTRIES 8
#define EXT4_DX_ENTRY_SIZE 8     /* hash le32, block le32; entry 0 holds limit, count */
#define EXT4_DX_TAIL_SIZE 8      /* dt_reserved le32, dt_checksum le32 */
#define EXT4_HTREE_LEVEL_COMPAT 2
#define EXT4_HTREE_LEVEL 3       /* with largedir */

/* One decoded directory entry. NAME points into the checked buffer. */
struct bv_ext4_dirent {
	uint32_t inode;
	uint32_t rec_len;
	uint8_t name_len;
	uint8_t file_type;
	const char *name;
};

/* Decodes rec_len as the kernel does: 64 KiB blocks store 65536 as 0 or 65535. */
uint32_t bv_ext4_rec_len_decode(uint16_t raw, uint32_t block_size);

/* Checks the entry at OFF of BUF (SIZE bytes: a block, or an inline data region) as the
 * kernel's ext4_check_dir_entry does: rec_len >= 12, a multiple of 4, large enough for
 * name_len, inside SIZE and not leaving a gap smaller than a record before the end;
 * name_len > 0 for a live entry; inode <= s_inodes_count. Returns 0 and *OUT, or
 * -EUCLEAN with a short reason in *WHY (not logged: the caller knows the inode/block). */
int bv_ext4_dirent_check(const struct bv_ext4_sb *sb, const uint8_t *buf, size_t size,
			 size_t off, struct bv_ext4_dirent *out, const char **why);

#endif
