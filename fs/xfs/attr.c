/* Extended attributes: shortform (in the inode's attr fork), leaf (one block at attr fork
 * block 0), node (a dabtree from block 0 down to leaf blocks) and remote values (their own
 * blocks in the attr fork, one header per fs block on v5).
 *
 * Names carry their namespace in flags: XFS_ATTR_ROOT is trusted.*, XFS_ATTR_SECURE is
 * security.*, neither is user.*. POSIX ACLs are the root-namespace attrs SGI_ACL_FILE and
 * SGI_ACL_DEFAULT in XFS's own big-endian format; the kernel lists them as
 * system.posix_acl_access/_default to anyone, and also, to a caller allowed trusted.*,
 * under their own trusted.SGI_ACL_* names (measured: `getfattr -d -m -` as root on an xfs
 * loop mount, kernel 6.18). Listing order is on-disk order, as the kernel's.
 *
 * Every leaf block is checked in full before an entry is used (the kernel's leaf
 * verifier: entry table inside the block, every name and value inside it and clear of the
 * table), a shortform fork likewise. Get uses the hash: one dabtree walk (at most
 * XFS_DA_NODE_MAXDEPTH blocks) and the leaves holding that hash. List walks the leaves
 * left to right along their sibling links, each link checked and the walk capped by the
 * blocks the inode has.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/xattr_vfs.h"
#include "fs/xfs/xfs_priv.h"
#include "util/le.h"

#define XFS_ATTR_LEAF_MAGIC 0xfbee
#define XFS_ATTR3_LEAF_MAGIC 0x3bee
#define XFS_ATTR3_RMT_MAGIC 0x5841524du /* XARM */

/* xfs_attr_leaf_entry.flags */
#define XFS_ATTR_LOCAL 0x01
#define XFS_ATTR_ROOT 0x02
#define XFS_ATTR_SECURE 0x04
#define XFS_ATTR_PARENT 0x08 /* parent pointers (6.12): never listed, never got by name */
#define XFS_ATTR_INCOMPLETE 0x80
#define XFS_ATTR_NSP_MASK (XFS_ATTR_ROOT | XFS_ATTR_SECURE | XFS_ATTR_PARENT)

/* struct xfs_attr_leaf_hdr / xfs_attr3_leaf_hdr: count after the blkinfo, the entry table
 * after the whole header. */
#define LEAF_COUNT(crc) ((crc) ? 56u : 12u)
#define LEAF_HDR_SIZE(crc) ((crc) ? 80u : 32u)
/* struct xfs_attr_leaf_entry: hashval, nameidx, flags, pad. */
#define LEAF_ENTRY_SIZE 8
/* xfs_attr_leaf_name_local: valuelen (be16), namelen, name and value. */
#define LOCAL_FIXED 3
/* xfs_attr_leaf_name_remote: valueblk, valuelen (be32), namelen, name. */
#define REMOTE_FIXED 9
/* struct xfs_attr3_rmt_hdr: magic, offset, bytes, crc, uuid, owner, blkno, lsn. */
#define RMT_OFFSET 4
#define RMT_BYTES 8
#define RMT_HDR_SIZE 56
/* struct xfs_attr_sf_hdr: totsize (be16), count, pad; entries: namelen, valuelen, flags. */
#define SF_HDR_SIZE 4
#define SF_ENTRY_FIXED 3

/* struct xfs_acl: count (be32), then {tag, id (be32), perm (be16), pad}. */
#define SGI_ACL_FILE "SGI_ACL_FILE"
#define SGI_ACL_DEFAULT "SGI_ACL_DEFAULT"
#define XFS_ACL_ENTRY_SIZE 12

/* One attr fork being read. */
struct actx {
	struct bv_xfs *fs;
	const struct bv_xfs_inode *ip;
	uint32_t bs;
	bool crc;
	uint8_t *buf; /* one attr block */
	uint32_t budget; /* leaf blocks this request may still visit (bv_xfs_walk_budget) */
};

/* One more leaf along a chain: 0, or -EUCLEAN (reported) when the request's budget is
 * spent. A listing cannot be resumed, so there is no -EAGAIN here. */
static int spend(struct actx *a, uint64_t blk)
{
	if (a->budget == 0)
		return bv_xfs_corrupt(a->fs, "inode %" PRIu64 ": attr block %" PRIu64 ": the "
				      "leaf chain goes on past %" PRIu32 " blocks (the most one "
				      "request reads)", a->ip->ino, blk,
				      bv_xfs_walk_budget(a->bs));
	a->budget--;
	return 0;
}

/* One checked entry. NAME (and VALUE when local) point into the fork or the block. */
struct aent {
	const uint8_t *name;
	uint8_t namelen;
	uint8_t flags;
	bool local;
	const uint8_t *value;
	uint32_t valuelen;
	uint32_t valueblk;
	uint32_t hash;
};

/* Called per entry; a non-zero return stops the walk and is returned. */
typedef int (*aent_fn)(struct actx *a, const struct aent *e, void *arg);

static int acorrupt(const struct actx *a, uint64_t blk, unsigned idx, const char *why)
{
	if (blk == UINT64_MAX)
		return bv_xfs_corrupt(a->fs, "inode %" PRIu64 ": shortform attrs, entry %u: %s",
				      a->ip->ino, idx, why);
	return bv_xfs_corrupt(a->fs, "inode %" PRIu64 ": attr block %" PRIu64 ", entry %u: %s",
			      a->ip->ino, blk, idx, why);
}

/* xfs_attr_namecheck: 1..255 bytes and no NUL (a name must survive listxattr's format). */
static bool name_ok(const uint8_t *name, size_t len)
{
	return len >= 1 && len <= BV_XATTR_NAME_MAX && !memchr(name, 0, len);
}

/* Does the attr fork hold anything? As xfs_inode_hasattr: an extents fork with no extents
 * is empty. */
static bool has_attrs(const struct bv_xfs_inode *ip)
{
	if (ip->afork_size == 0)
		return false;
	return !(ip->aformat == BV_XFS_FMT_EXTENTS && ip->anextents == 0);
}

/* ---- shortform ---- */

/* Checks then walks the shortform attrs: every entry inside totsize, totsize inside the
 * fork. COUNT is a byte: at most 255 steps. */
static int sf_walk(struct actx *a, aent_fn fn, void *arg)
{
	struct bv_cache_ref ref;
	const uint8_t *fork;
	size_t len, total, pos;
	unsigned count, i;
	int ret, pass;

	ret = bv_xfs_fork_bytes(a->fs, a->ip, BV_XFS_ATTR_FORK, &ref, &fork, &len);
	if (ret)
		return ret == -ENODATA ? 0 : ret;
	ret = 0;
	if (len < SF_HDR_SIZE || (total = bv_be16(fork)) > len || total < SF_HDR_SIZE) {
		ret = acorrupt(a, UINT64_MAX, 0, "totsize does not fit the fork");
		goto out;
	}
	count = fork[2];
	/* Pass 0 checks everything, pass 1 hands the entries out. */
	for (pass = 0; pass < 2; pass++) {
		pos = SF_HDR_SIZE;
		for (i = 0; i < count; i++) {
			struct aent e = { 0 };

			if (!bv_in_bounds(pos, SF_ENTRY_FIXED, total) ||
			    !bv_in_bounds(pos + SF_ENTRY_FIXED, (size_t)fork[pos] + fork[pos + 1],
					  total)) {
				ret = acorrupt(a, UINT64_MAX, i, "entry runs past totsize");
				goto out;
			}
			e.namelen = fork[pos];
			e.valuelen = fork[pos + 1];
			e.flags = fork[pos + 2];
			e.name = fork + pos + SF_ENTRY_FIXED;
			e.value = e.name + e.namelen;
			e.local = true;
			if (!name_ok(e.name, e.namelen)) {
				ret = acorrupt(a, UINT64_MAX, i, "bad name");
				goto out;
			}
			pos += SF_ENTRY_FIXED + e.namelen + e.valuelen;
			if (pass == 1 && (ret = fn(a, &e, arg)) != 0)
				goto out;
		}
	}
out:
	bv_cache_put(a->fs->cache, &ref);
	return ret;
}

/* ---- leaf blocks ---- */

/* Decodes entry I of the leaf block in a->buf, checked by leaf_check. */
static void leaf_entry(const struct actx *a, unsigned i, struct aent *e)
{
	const uint8_t *t = a->buf + LEAF_HDR_SIZE(a->crc) + (size_t)i * LEAF_ENTRY_SIZE;
	const uint8_t *n = a->buf + bv_be16(t + 4);

	memset(e, 0, sizeof(*e));
	e->hash = bv_be32(t);
	e->flags = t[6];
	e->local = (e->flags & XFS_ATTR_LOCAL) != 0;
	if (e->local) {
		e->valuelen = bv_be16(n);
		e->namelen = n[2];
		e->name = n + LOCAL_FIXED;
		e->value = e->name + e->namelen;
	} else {
		e->valueblk = bv_be32(n);
		e->valuelen = bv_be32(n + 4);
		e->namelen = n[8];
		e->name = n + REMOTE_FIXED;
	}
}

/* The kernel's leaf verifier, less the free map: magic, the entry table inside the block,
 * each name/value record inside the block and after the table, names well formed, remote
 * values no longer than any value can be. Returns the entry count or -EUCLEAN. */
static int leaf_check(const struct actx *a, uint64_t blk)
{
	const uint8_t *b = a->buf;
	size_t table_end;
	unsigned count, i;

	if (bv_be16(b + XFS_DA_BLKINFO_MAGIC) !=
	    (a->crc ? XFS_ATTR3_LEAF_MAGIC : XFS_ATTR_LEAF_MAGIC))
		return acorrupt(a, blk, 0, "bad leaf magic");
	count = bv_be16(b + LEAF_COUNT(a->crc));
	table_end = LEAF_HDR_SIZE(a->crc) + (size_t)count * LEAF_ENTRY_SIZE;
	if (table_end > a->bs)
		return acorrupt(a, blk, 0, "entry count does not fit the block");
	for (i = 0; i < count; i++) {
		const uint8_t *t = b + LEAF_HDR_SIZE(a->crc) + (size_t)i * LEAF_ENTRY_SIZE;
		size_t idx = bv_be16(t + 4), need;
		const uint8_t *n = b + idx;
		struct aent e;

		if (idx < table_end || idx >= a->bs)
			return acorrupt(a, blk, i, "name offset outside the name area");
		if (t[6] & XFS_ATTR_LOCAL) {
			if (!bv_in_bounds(idx, LOCAL_FIXED, a->bs))
				return acorrupt(a, blk, i, "name runs past the block");
			need = LOCAL_FIXED + (size_t)n[2] + bv_be16(n);
		} else {
			if (!bv_in_bounds(idx, REMOTE_FIXED, a->bs))
				return acorrupt(a, blk, i, "name runs past the block");
			need = REMOTE_FIXED + (size_t)n[8];
		}
		if (!bv_in_bounds(idx, need, a->bs))
			return acorrupt(a, blk, i, "name or value runs past the block");
		leaf_entry(a, i, &e);
		if (!name_ok(e.name, e.namelen))
			return acorrupt(a, blk, i, "bad name");
		if (!e.local && !(e.flags & XFS_ATTR_INCOMPLETE) &&
		    (e.valuelen == 0 || e.valuelen > BV_XATTR_SIZE_MAX))
			return acorrupt(a, blk, i, "bad remote value length");
	}
	return (int)count;
}

/* Lists every entry: block 0 is a leaf, or the root of a dabtree whose leftmost leaf
 * starts a chain of siblings. */
static int leaves_walk(struct actx *a, aent_fn fn, void *arg)
{
	uint64_t blk = 0, steps = 0, max = bv_xfs_da_max_blocks(a->fs, a->ip);
	int ret, count;

	ret = bv_xfs_da_find_leaf(a->fs, a->ip, BV_XFS_ATTR_FORK, 0, true, 0, a->buf, a->bs,
				  &blk);
	if (ret)
		return ret;
	for (;;) {
		count = leaf_check(a, blk);
		if (count < 0)
			return count;
		for (int i = 0; i < count; i++) {
			struct aent e;

			leaf_entry(a, (unsigned)i, &e);
			if ((ret = fn(a, &e, arg)) != 0)
				return ret;
		}
		if (++steps > max)
			return acorrupt(a, blk, 0, "leaf chain longer than the attr fork");
		if ((ret = spend(a, blk)) != 0)
			return ret;
		ret = bv_xfs_da_next_leaf(a->fs, a->ip, BV_XFS_ATTR_FORK, blk, a->buf, a->bs,
					  &blk);
		if (ret)
			return ret > 0 ? 0 : ret;
	}
}

/* Hands FN the entries whose hash is HASH: from the leaf the dabtree leads to, on into
 * the next leaves while the hash runs on. */
static int leaves_find(struct actx *a, uint32_t hash, aent_fn fn, void *arg)
{
	uint64_t blk = 0, steps = 0, max = bv_xfs_da_max_blocks(a->fs, a->ip);
	int ret, count;

	ret = bv_xfs_da_find_leaf(a->fs, a->ip, BV_XFS_ATTR_FORK, 0, false, hash, a->buf,
				  a->bs, &blk);
	if (ret)
		return ret;
	for (;;) {
		unsigned lo = 0, hi, i;
		struct aent e;

		count = leaf_check(a, blk);
		if (count < 0)
			return count;
		/* Entries are sorted by hash: the first that is >= HASH. */
		hi = (unsigned)count;
		while (lo < hi) {
			unsigned mid = lo + (hi - lo) / 2;

			leaf_entry(a, mid, &e);
			if (e.hash < hash)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < (unsigned)count; i++) {
			leaf_entry(a, i, &e);
			if (e.hash != hash)
				return 0;
			if ((ret = fn(a, &e, arg)) != 0)
				return ret;
		}
		if (++steps > max)
			return acorrupt(a, blk, 0, "leaf chain longer than the attr fork");
		if ((ret = spend(a, blk)) != 0)
			return ret;
		ret = bv_xfs_da_next_leaf(a->fs, a->ip, BV_XFS_ATTR_FORK, blk, a->buf, a->bs,
					  &blk);
		if (ret)
			return ret > 0 ? 0 : ret;
	}
}

static int actx_init(struct actx *a, struct bv_xfs *fs, const struct bv_xfs_inode *ip)
{
	a->fs = fs;
	a->ip = ip;
	a->bs = fs->sb.blocksize;
	a->crc = fs->sb.crc;
	a->buf = NULL;
	a->budget = bv_xfs_walk_budget(a->bs);
	if (ip->aformat == BV_XFS_FMT_LOCAL)
		return 0;
	if (ip->aformat != BV_XFS_FMT_EXTENTS && ip->aformat != BV_XFS_FMT_BTREE) {
		return bv_xfs_corrupt(fs, "inode %" PRIu64 ": bad attr fork format %u", ip->ino,
				      ip->aformat);
	}
	a->buf = malloc(a->bs);
	return a->buf ? 0 : -ENOMEM;
}

/* All entries, or (FIND) those whose name hashes to HASH, in on-disk order. */
static int attr_walk(struct bv_xfs *fs, const struct bv_xfs_inode *ip, bool find, uint32_t hash,
		     aent_fn fn, void *arg)
{
	struct actx a;
	int ret;

	if (!has_attrs(ip))
		return 0;
	ret = actx_init(&a, fs, ip);
	if (ret)
		return ret;
	if (ip->aformat == BV_XFS_FMT_LOCAL)
		ret = sf_walk(&a, fn, arg); /* at most 255 entries: FN compares names */
	else if (find)
		ret = leaves_find(&a, hash, fn, arg);
	else
		ret = leaves_walk(&a, fn, arg);
	free(a.buf);
	return ret;
}

/* ---- remote values ---- */

/* Copies the remote value of E (E->valuelen bytes) into OUT, block by block: on v5 each
 * fs block has its own header naming its offset in the value, its byte count, the owner
 * and its own daddr, all checked with the CRC. */
static int remote_read(struct actx *a, const struct aent *e, uint8_t *out)
{
	const uint32_t per = a->crc ? a->bs - RMT_HDR_SIZE : a->bs;
	uint8_t *blk = malloc(a->bs);
	uint32_t done = 0;
	uint64_t i;
	int ret = 0;

	if (!blk)
		return -ENOMEM;
	/* valuelen <= 64 KiB (leaf_check): at most 64 KiB / per blocks. */
	for (i = 0; done < e->valuelen; i++) {
		uint32_t n = e->valuelen - done < per ? e->valuelen - done : per;
		const uint8_t *src = blk;

		ret = bv_xfs_da_blk_read(a->fs, a->ip, BV_XFS_ATTR_FORK, (uint64_t)e->valueblk + i,
					 blk, a->bs, BV_XFS_HDR_RMT);
		if (ret)
			break;
		if (a->crc) {
			if (bv_be32(blk) != XFS_ATTR3_RMT_MAGIC ||
			    bv_be32(blk + RMT_OFFSET) != done || bv_be32(blk + RMT_BYTES) != n) {
				ret = acorrupt(a, e->valueblk + i, 0, "remote value header does "
					       "not match the value");
				break;
			}
			src = blk + RMT_HDR_SIZE;
		}
		memcpy(out + done, src, n);
		done += n;
	}
	free(blk);
	return ret;
}

/* ---- get ---- */

struct getarg {
	const uint8_t *name;
	size_t len;
	uint8_t ns;     /* XFS_ATTR_ROOT, XFS_ATTR_SECURE or 0 */
	uint8_t *buf;   /* NULL: only the length */
	size_t size;
	ssize_t result; /* -ENODATA until found */
};

static int get_one(struct actx *a, const struct aent *e, void *arg)
{
	struct getarg *g = arg;
	int ret;

	/* xfs_attr_match: same namespace, same name, and not half-made. */
	if (e->flags & XFS_ATTR_INCOMPLETE)
		return 0;
	if ((e->flags & XFS_ATTR_NSP_MASK) != g->ns || e->namelen != g->len ||
	    memcmp(e->name, g->name, g->len) != 0)
		return 0;
	if (!g->buf) {
		g->result = e->valuelen;
		return 1;
	}
	if (e->valuelen > g->size) {
		g->result = -ERANGE;
		return 1;
	}
	if (e->local) {
		memcpy(g->buf, e->value, e->valuelen);
	} else {
		ret = remote_read(a, e, g->buf);
		if (ret)
			return ret;
	}
	g->result = e->valuelen;
	return 1;
}

/* The raw value of NAME (LEN bytes) in namespace NS: its length, -ENODATA, -ERANGE. */
static ssize_t get_raw(struct bv_xfs *fs, const struct bv_xfs_inode *ip, uint8_t ns,
		       const char *name, size_t len, void *buf, size_t size)
{
	struct getarg g = { (const uint8_t *)name, len, ns, size ? buf : NULL, size, -ENODATA };
	int ret;

	if (len == 0 || len > BV_XATTR_NAME_MAX)
		return -ENODATA;
	ret = attr_walk(fs, ip, true, bv_xfs_da_hashname((const uint8_t *)name, len), get_one, &g);
	if (ret < 0)
		return ret;
	return g.result;
}

/* Converts the xfs_acl in RAW (LEN bytes) to the Linux xattr form, as xfs_acl_from_disk()
 * then posix_acl_to_xattr(): a size that is not the count's is corruption, an unknown tag
 * -EINVAL. */
static ssize_t acl_to_xattr(struct bv_xfs *fs, const struct bv_xfs_inode *ip,
			    const uint8_t *raw, size_t len, uint8_t *buf, size_t size)
{
	size_t count, out_len, i;

	if (len < 4)
		goto corrupt;
	count = bv_be32(raw);
	if (count > (len - 4) / XFS_ACL_ENTRY_SIZE || 4 + count * XFS_ACL_ENTRY_SIZE != len)
		goto corrupt;
	out_len = 4 + 8 * count;
	if (size && out_len > size)
		buf = NULL; /* parse anyway: -EINVAL comes before -ERANGE */
	if (size == 0)
		buf = NULL;
	if (buf) {
		buf[0] = POSIX_ACL_XATTR_VERSION;
		buf[1] = buf[2] = buf[3] = 0;
	}
	for (i = 0; i < count; i++) {
		const uint8_t *ae = raw + 4 + i * XFS_ACL_ENTRY_SIZE;
		uint32_t tag = bv_be32(ae), id = ACL_UNDEFINED_ID;
		uint16_t perm = bv_be16(ae + 8);

		switch (tag) {
		case ACL_USER:
		case ACL_GROUP:
			id = bv_be32(ae + 4);
			break;
		case ACL_USER_OBJ:
		case ACL_GROUP_OBJ:
		case ACL_MASK:
		case ACL_OTHER:
			break;
		default:
			return -EINVAL;
		}
		if (buf)
			bv_acl_xattr_entry_put(buf, i, tag, perm, id);
	}
	if (size && out_len > size)
		return -ERANGE;
	return (ssize_t)out_len;
corrupt:
	return bv_xfs_corrupt(fs, "inode %" PRIu64 ": ACL of %zu bytes does not match its count",
			      ip->ino, len);
}

static ssize_t acl_get(struct bv_xfs *fs, const struct bv_xfs_inode *ip, const char *sgi_name,
		       void *buf, size_t size)
{
	uint8_t *raw;
	ssize_t len, ret;

	/* The VFS refuses ACLs on symlinks before asking the filesystem. */
	if (S_ISLNK(ip->mode))
		return -EOPNOTSUPP;
	len = get_raw(fs, ip, XFS_ATTR_ROOT, sgi_name, strlen(sgi_name), NULL, 0);
	if (len < 0)
		return len;
	raw = malloc(len ? (size_t)len : 1);
	if (!raw)
		return -ENOMEM;
	ret = get_raw(fs, ip, XFS_ATTR_ROOT, sgi_name, strlen(sgi_name), raw, (size_t)len);
	if (ret >= 0)
		ret = acl_to_xattr(fs, ip, raw, (size_t)ret, buf, size);
	free(raw);
	return ret;
}

ssize_t bv_xfs_xattr_get(struct bv_xfs *fs, const struct bv_xfs_inode *ip, const char *name,
			 void *buf, size_t size)
{
	static const struct {
		const char *prefix;
		uint8_t ns;
	} nss[] = {
		{ "user.", 0 },
		{ "trusted.", XFS_ATTR_ROOT },
		{ "security.", XFS_ATTR_SECURE },
	};
	ssize_t ret = -EOPNOTSUPP;
	size_t len;

	if (bv_xattr_get_begin(name, &size, &len))
		return -ERANGE;
	if (strcmp(name, "system.posix_acl_access") == 0) {
		ret = acl_get(fs, ip, SGI_ACL_FILE, buf, size);
	} else if (strcmp(name, "system.posix_acl_default") == 0) {
		ret = acl_get(fs, ip, SGI_ACL_DEFAULT, buf, size);
	} else {
		/* Other system.* names have no handler on xfs: EOPNOTSUPP, as unknown
		 * prefixes. Whether a caller may read trusted.* is the adapter's call. */
		for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
			size_t plen = strlen(nss[i].prefix);

			if (strncmp(name, nss[i].prefix, plen) != 0)
				continue;
			if (name[plen] == '\0')
				return -EINVAL;
			ret = get_raw(fs, ip, nss[i].ns, name + plen, len - plen, buf, size);
			break;
		}
	}
	return bv_xattr_get_end(ret, size);
}

/* ---- list ---- */

struct listarg {
	char *buf; /* NULL: count only */
	size_t size, pos;
	bool trusted;
};

static int put_name(struct listarg *l, const char *prefix, const uint8_t *name, size_t len)
{
	size_t plen = strlen(prefix), need = plen + len + 1;

	if (l->buf) {
		if (need > l->size - l->pos)
			return -ERANGE;
		memcpy(l->buf + l->pos, prefix, plen);
		memcpy(l->buf + l->pos + plen, name, len);
		l->buf[l->pos + need - 1] = '\0';
	}
	l->pos += need;
	return 0;
}

/* xfs_xattr_put_listent, as the kernel shows the entry. */
static int list_one(struct actx *a, const struct aent *e, void *arg)
{
	struct listarg *l = arg;
	int ret;

	if (e->flags & (XFS_ATTR_INCOMPLETE | XFS_ATTR_PARENT))
		return 0;
	if (e->flags & XFS_ATTR_ROOT) {
		/* The ACLs show under their Linux names to anyone... */
		if (e->namelen == strlen(SGI_ACL_FILE) &&
		    !memcmp(e->name, SGI_ACL_FILE, e->namelen))
			ret = put_name(l, "system.posix_acl_access", (const uint8_t *)"", 0);
		else if (e->namelen == strlen(SGI_ACL_DEFAULT) &&
			 !memcmp(e->name, SGI_ACL_DEFAULT, e->namelen))
			ret = put_name(l, "system.posix_acl_default", (const uint8_t *)"", 0);
		else
			ret = 0;
		/* ... and, like every root-namespace attr, as trusted.* to CAP_SYS_ADMIN. */
		if (ret || !l->trusted)
			return ret;
		return put_name(l, "trusted.", e->name, e->namelen);
	}
	return put_name(l, (e->flags & XFS_ATTR_SECURE) ? "security." : "user.", e->name,
			e->namelen);
}

ssize_t bv_xfs_xattr_list(struct bv_xfs *fs, const struct bv_xfs_inode *ip, char *buf,
			  size_t size, bool trusted)
{
	struct listarg l = { buf, size, 0, trusted };
	int ret;

	/* As the VFS: a buffer larger than BV_XATTR_LIST_MAX is used as that much. */
	if (l.size > BV_XATTR_LIST_MAX)
		l.size = BV_XATTR_LIST_MAX;
	if (l.size == 0)
		l.buf = NULL;
	ret = attr_walk(fs, ip, false, 0, list_one, &l);
	if (ret == -ERANGE && l.size == BV_XATTR_LIST_MAX)
		return -E2BIG;
	return ret < 0 ? ret : (ssize_t)l.pos;
}
