#include "state/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bv_proc_read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	return 0;
}

int bv_proc_start_time(pid_t pid, uint64_t *out)
{
	char path[64], buf[1024];
	char *p, *end;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	err = bv_proc_read_small(path, buf, sizeof(buf));
	if (err)
		return err;
	/* The command name (field 2) is in parentheses and may itself hold spaces and ')':
	 * the fields after it start after the LAST ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	/* After ')' come fields 3.. ; starttime is field 22, so skip 19 fields. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EINVAL;
	*out = v;
	return 0;
}

int bv_proc_boot_id(char out[40])
{
	char buf[64];
	int err = bv_proc_read_small("/proc/sys/kernel/random/boot_id", buf, sizeof(buf));

	if (err)
		return err;
	buf[strcspn(buf, "\n")] = '\0';
	if (strlen(buf) != 36)
		return -EINVAL;
	memcpy(out, buf, 37);
	return 0;
}
