/* JBD2 on-disk constants, for fs/journal.c and its tests only. The journal is big-endian
 * on disk (unlike the rest of ext4): decode it with bv_be32()/bv_be64() from fs/le.h.
 * Names are the kernel's (include/linux/jbd2.h) so both can be grepped side by side. */
#ifndef BV_FS_JOURNAL_H
#define BV_FS_JOURNAL_H

#define JBD2_MAGIC_NUMBER 0xC03B3998u

/* h_blocktype */
#define JBD2_DESCRIPTOR_BLOCK 1
#define JBD2_COMMIT_BLOCK 2
#define JBD2_SUPERBLOCK_V1 3
#define JBD2_SUPERBLOCK_V2 4
#define JBD2_REVOKE_BLOCK 5

/* journal_header_t: h_magic, h_blocktype, h_sequence */
#define JBD2_HEADER_SIZE 12

/* journal_superblock_t byte offsets (the structure is 1024 bytes) */
#define JBD2_SB_SIZE 1024
#define JBD2_SB_BLOCKSIZE 0x0C
#define JBD2_SB_MAXLEN 0x10
#define JBD2_SB_FIRST 0x14
#define JBD2_SB_SEQUENCE 0x18
#define JBD2_SB_START 0x1C
#define JBD2_SB_ERRNO 0x20
#define JBD2_SB_FEATURE_COMPAT 0x24
#define JBD2_SB_FEATURE_INCOMPAT 0x28
#define JBD2_SB_FEATURE_RO_COMPAT 0x2C
#define JBD2_SB_UUID 0x30
#define JBD2_SB_CHECKSUM_TYPE 0x50
#define JBD2_SB_NUM_FC_BLKS 0x54
#define JBD2_SB_CHECKSUM 0xFC

#define JBD2_FEATURE_COMPAT_CHECKSUM 0x00000001u

#define JBD2_FEATURE_INCOMPAT_REVOKE 0x00000001u
#define JBD2_FEATURE_INCOMPAT_64BIT 0x00000002u
#define JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT 0x00000004u
#define JBD2_FEATURE_INCOMPAT_CSUM_V2 0x00000008u
#define JBD2_FEATURE_INCOMPAT_CSUM_V3 0x00000010u
#define JBD2_FEATURE_INCOMPAT_FAST_COMMIT 0x00000020u
#define JBD2_KNOWN_INCOMPAT_FEATURES                                                       \
	(JBD2_FEATURE_INCOMPAT_REVOKE | JBD2_FEATURE_INCOMPAT_64BIT |                      \
	 JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT | JBD2_FEATURE_INCOMPAT_CSUM_V2 |              \
	 JBD2_FEATURE_INCOMPAT_CSUM_V3 | JBD2_FEATURE_INCOMPAT_FAST_COMMIT)
#define JBD2_KNOWN_ROCOMPAT_FEATURES 0u

/* s_checksum_type / h_chksum_type */
#define JBD2_CRC32_CHKSUM 1
#define JBD2_CRC32C_CHKSUM 4
#define JBD2_CRC32_CHKSUM_SIZE 4

/* Descriptor tag flags (t_flags; a be16 at byte 6 of either tag layout) */
#define JBD2_FLAG_ESCAPE 1
#define JBD2_FLAG_SAME_UUID 2
#define JBD2_FLAG_DELETED 4
#define JBD2_FLAG_LAST_TAG 8

/* journal_block_tag3_t (csum v3): t_blocknr, t_flags (be32), t_blocknr_high, t_checksum */
#define JBD2_TAG3_SIZE 16
/* journal_block_tag_t: t_blocknr, t_checksum (be16), t_flags (be16), t_blocknr_high */
#define JBD2_TAG_SIZE 12
#define JBD2_TAG_FLAGS 6
#define JBD2_TAG_BLOCKNR_HIGH 8
#define JBD2_TAG3_CHECKSUM 12
#define JBD2_TAG_CHECKSUM 4
#define JBD2_UUID_SIZE 16

/* struct jbd2_journal_block_tail: the be32 checksum closing descriptor and revoke blocks */
#define JBD2_BLOCK_TAIL_SIZE 4

/* jbd2_journal_revoke_header_t: header then r_count (bytes used, header included) */
#define JBD2_REVOKE_HEADER_SIZE 16
#define JBD2_REVOKE_R_COUNT 12

/* struct commit_header */
#define JBD2_COMMIT_CHKSUM_TYPE 12
#define JBD2_COMMIT_CHKSUM_SIZE 13
#define JBD2_COMMIT_CHKSUM 16
#define JBD2_COMMIT_SEC 48

/* Fast commit blocks reserved at the end of the log when s_num_fc_blks is 0 */
#define JBD2_DEFAULT_FAST_COMMIT_BLOCKS 256
#define JBD2_MIN_JOURNAL_BLOCKS 1024

#endif
