/* blockio/mounts.c (containerd mounts JSON) and blockio/dm.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "blockio/dm.h"
#include "blockio/mounts.h"
#include "tests/testutil.h"

static int parse(const char *json, struct bv_mount_spec *m, char *err)
{
	return bv_mounts_parse(json, strlen(json), m, err, 512);
}

START_TEST(test_mounts_accepts_devmapper_view)
{
	struct bv_mount_spec m;
	char err[512] = "";

	ck_assert_int_eq(parse("[{\"type\":\"ext4\",\"source\":\"/dev/mapper/pool-snap-7\","
			       "\"options\":[\"ro\"]}]", &m, err), 0);
	ck_assert_str_eq(m.type, "ext4");
	ck_assert_str_eq(m.source, "/dev/mapper/pool-snap-7");
	ck_assert(!m.loop);
}
END_TEST

/* devmapper with fs_type xfs: containerd adds nouuid, since every snapshot of one base
 * device carries the same uuid. */
START_TEST(test_mounts_accepts_xfs_view_with_nouuid)
{
	struct bv_mount_spec m;
	char err[512] = "";

	ck_assert_int_eq(parse("[{\"type\":\"xfs\",\"source\":\"/dev/mapper/pool-snap-9\","
			       "\"options\":[\"ro\",\"nouuid\"]}]", &m, err), 0);
	ck_assert_str_eq(m.type, "xfs");
	ck_assert_str_eq(m.source, "/dev/mapper/pool-snap-9");
}
END_TEST

START_TEST(test_mounts_accepts_go_field_names_and_blockfile_loop)
{
	struct bv_mount_spec m;
	char err[512] = "";

	ck_assert_int_eq(parse("{\"mounts\":[{\"Type\":\"ext2\",\"Source\":\"/var/lib/snap/7\","
			       "\"Target\":\"\",\"Options\":[\"loop\",\"ro\"]}]}", &m, err), 0);
	ck_assert_str_eq(m.type, "ext2");
	ck_assert(m.loop);
}
END_TEST

START_TEST(test_mounts_refuses_what_it_does_not_understand)
{
	static const struct {
		const char *json, *says;
	} cases[] = {
		{ "[]", "0 mounts" },
		{ "[{\"type\":\"overlay\",\"source\":\"overlay\"}]", "\"overlay\" is not served" },
		{ "[{\"type\":\"btrfs\",\"source\":\"/dev/x\"}]", "\"btrfs\"" },
		{ "[{\"type\":\"ext4\",\"source\":\"/dev/x\",\"options\":[\"rw\"]}]", "\"rw\"" },
		{ "[{\"type\":\"ext4\",\"source\":\"/dev/x\",\"options\":[\"ro\",7]}]",
		  "not a string" },
		{ "[{\"type\":\"ext4\",\"source\":\"/dev/x\",\"flags\":1}]", "\"flags\"" },
		{ "[{\"type\":\"ext4\",\"source\":\"/dev/x\",\"target\":\"/mnt\"}]", "\"target\"" },
		{ "[{\"type\":\"ext4\"}]", "no source" },
		{ "[{\"type\":\"ext4\",\"source\":\"a\"},{\"type\":\"ext4\",\"source\":\"b\"}]",
		  "2 mounts" },
		{ "{\"type\":\"ext4\"}", "array" },
		{ "[{\"type\":\"ext4\",", "not valid" },
		{ "[{\"type\":\"ext4\",\"type\":\"ext2\",\"source\":\"a\"}]", "not valid" },
		/* Go's decoder keeps the last of keys equal ignoring case; we would take the
		 * first: refused, so the two can never disagree on the source. */
		{ "[{\"type\":\"ext4\",\"Source\":\"/dev/a\",\"source\":\"/dev/b\"}]",
		  "both \"Source\" and \"source\"" },
		{ "[{\"Type\":\"ext4\",\"TYPE\":\"xfs\",\"source\":\"/dev/a\"}]", "both" },
		{ "{\"mounts\":[],\"Mounts\":[{\"type\":\"ext4\",\"source\":\"/dev/a\"}]}",
		  "the mounts JSON has both" },
	};
	struct bv_mount_spec m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		ck_assert_int_eq(parse(cases[i].json, &m, err), -EINVAL);
		ck_assert_msg(strstr(err, cases[i].says), "case %zu: \"%s\" lacks \"%s\"", i, err,
			      cases[i].says);
	}
}
END_TEST

START_TEST(test_mounts_load_reads_file_and_refuses_missing)
{
	struct bv_mount_spec m;
	char path[4200], err[512] = "";

	snprintf(path, sizeof(path), "%s/mounts.json", bv_test_tmpdir());
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("[{\"type\":\"ext3\",\"source\":\"/img\",\"options\":[]}]\n", f);
	fclose(f);
	ck_assert_int_eq(bv_mounts_load(path, &m, err, sizeof(err)), 0);
	ck_assert_str_eq(m.type, "ext3");
	strcat(path, ".missing");
	ck_assert_int_eq(bv_mounts_load(path, &m, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "mounts.json.missing"));
}
END_TEST

START_TEST(test_dm_info_refuses_non_dm_device)
{
	struct bv_dm_info info;
	struct stat st;

	/* /dev/null is a character device and no dm device, with dm in the kernel or not. */
	ck_assert_int_eq(stat("/dev/null", &st), 0);
	ck_assert_int_eq(bv_dm_info_get(major(st.st_rdev), minor(st.st_rdev), &info), -ENODEV);
}
END_TEST

static Suite *mounts_suite(void)
{
	Suite *s = suite_create("mounts");
	TCase *tc = tcase_create("mounts");
	tcase_add_test(tc, test_mounts_accepts_devmapper_view);
	tcase_add_test(tc, test_mounts_accepts_xfs_view_with_nouuid);
	tcase_add_test(tc, test_mounts_accepts_go_field_names_and_blockfile_loop);
	tcase_add_test(tc, test_mounts_refuses_what_it_does_not_understand);
	tcase_add_test(tc, test_mounts_load_reads_file_and_refuses_missing);
	tcase_add_test(tc, test_dm_info_refuses_non_dm_device);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(mounts_suite)
