#include "blockio/mounts.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MOUNTS_MAX_BYTES (1024 * 1024)

/* The member of object O whose key equals NAME ignoring case; NULL if none. */
static json_t *member(json_t *o, const char *name)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
		if (strcasecmp(key, name) == 0)
			return v;
	return NULL;
}

__attribute__((format(printf, 3, 4))) static int refuse(char *errbuf, size_t size,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Two keys of O that are equal ignoring case: Go's decoder (containerd's) would take the
 * last of them and we the first, so the two readers could disagree on the source. Such an
 * object is refused rather than read either way. Objects here have a handful of keys. */
static int keys_collide(json_t *o, const char *what, char *errbuf, size_t size)
{
	const char *a, *b;
	json_t *va, *vb;
	size_t i = 0;

	json_object_foreach(o, a, va) {
		size_t j = 0;

		if (++i > 64)
			return refuse(errbuf, size, "%s has more than 64 fields", what);
		json_object_foreach(o, b, vb) {
			if (j++ >= i - 1)
				break;
			if (strcasecmp(a, b) == 0)
				return refuse(errbuf, size,
					      "%s has both \"%s\" and \"%s\": one field spelt two "
					      "ways is refused",
					      what, b, a);
		}
	}
	return 0;
}

int bv_mounts_parse(const char *text, size_t len, struct bv_mount_spec *out, char *errbuf,
		    size_t errbuf_size)
{
	struct bv_mount_spec spec = { 0 };
	json_error_t jerr;
	json_t *root, *arr, *m, *v;
	const char *key;
	int err = -EINVAL;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(errbuf, errbuf_size, "mounts JSON is not valid: %s (line %d)", jerr.text,
			 jerr.line);
		return -EINVAL;
	}
	if (json_is_object(root) && keys_collide(root, "the mounts JSON", errbuf, errbuf_size))
		goto out;
	arr = json_is_object(root) ? member(root, "mounts") : root;
	if (!json_is_array(arr)) {
		refuse(errbuf, errbuf_size, "mounts JSON must be an array of mounts");
		goto out;
	}
	if (json_array_size(arr) != 1) {
		snprintf(errbuf, errbuf_size,
			 "mounts JSON has %zu mounts; bootviewfs serves exactly one (an overlay "
			 "or bind mount is not a block device)",
			 json_array_size(arr));
		goto out;
	}
	m = json_array_get(arr, 0);
	if (!json_is_object(m)) {
		refuse(errbuf, errbuf_size, "the mount is not a JSON object");
		goto out;
	}
	if (keys_collide(m, "the mount", errbuf, errbuf_size))
		goto out;
	json_object_foreach(m, key, v) {
		if (strcasecmp(key, "type") == 0 || strcasecmp(key, "source") == 0 ||
		    strcasecmp(key, "options") == 0)
			continue;
		/* An empty target is what containerd writes when there is none. */
		if (strcasecmp(key, "target") == 0 && json_is_string(v) && !*json_string_value(v))
			continue;
		refuse(errbuf, errbuf_size, "the mount has a field bootviewfs does not understand: \"%s\"",
		       key);
		goto out;
	}

	v = member(m, "type");
	if (!json_is_string(v)) {
		refuse(errbuf, errbuf_size, "the mount has no type");
		goto out;
	}
	key = json_string_value(v);
	if (strcmp(key, "ext2") && strcmp(key, "ext3") && strcmp(key, "ext4") &&
	    strcmp(key, "xfs")) {
		refuse(errbuf, errbuf_size,
		       "mount type \"%s\" is not served; bootviewfs serves ext2, ext3, ext4 and xfs",
		       key);
		goto out;
	}
	snprintf(spec.type, sizeof(spec.type), "%s", key);

	v = member(m, "source");
	if (!json_is_string(v) || !*json_string_value(v)) {
		refuse(errbuf, errbuf_size, "the mount has no source");
		goto out;
	}
	if (strlen(json_string_value(v)) >= sizeof(spec.source)) {
		refuse(errbuf, errbuf_size, "the mount's source path is too long");
		goto out;
	}
	snprintf(spec.source, sizeof(spec.source), "%s", json_string_value(v));

	v = member(m, "options");
	if (v && !json_is_array(v) && !json_is_null(v)) {
		refuse(errbuf, errbuf_size, "the mount's options must be an array of strings");
		goto out;
	}
	size_t i;
	json_t *opt;
	json_array_foreach(v, i, opt) {
		const char *o = json_is_string(opt) ? json_string_value(opt) : NULL;
		if (o && strcmp(o, "loop") == 0)
			spec.loop = true;
		else if (o && (strcmp(o, "ro") == 0 || strcmp(o, "nouuid") == 0))
			continue;
		else {
			refuse(errbuf, errbuf_size,
			       "mount option \"%s\" is not understood (only ro, loop and nouuid are)",
			       o ? o : "(not a string)");
			goto out;
		}
	}
	*out = spec;
	err = 0;
out:
	json_decref(root);
	return err;
}

int bv_mounts_load(const char *file, struct bv_mount_spec *out, char *errbuf,
		   size_t errbuf_size)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "re");
	char *buf;
	size_t n;
	int err;

	if (!f) {
		snprintf(errbuf, errbuf_size, "%s: %s", file, strerror(errno));
		return -errno;
	}
	buf = malloc(MOUNTS_MAX_BYTES + 1);
	if (!buf) {
		err = -ENOMEM;
		goto close;
	}
	n = fread(buf, 1, MOUNTS_MAX_BYTES + 1, f);
	if (n > MOUNTS_MAX_BYTES) {
		snprintf(errbuf, errbuf_size, "%s: more than 1 MiB of mounts JSON", file);
		err = -EFBIG;
	} else {
		err = bv_mounts_parse(buf, n, out, errbuf, errbuf_size);
	}
	free(buf);
close:
	if (f != stdin)
		fclose(f);
	return err;
}
