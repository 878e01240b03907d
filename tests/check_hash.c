/* The htree name hashes against e2fsprogs: every vector below was printed by
 * `debugfs -R "dx_hash -h VERSION -s SEED NAME"` (e2fsprogs 1.47.0), for the three hash
 * kinds in both signedness flavours, the default and a custom seed, and names around the
 * 16- and 32-byte block boundaries, 255 bytes long, and with bytes >= 0x80. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/ext4/hash.h"
#include "util/le.h"
#include "tests/testutil.h"

struct vec {
	int seed;          /* index into seeds[] */
	unsigned version;  /* DX_HASH_* */
	const char *name;
	size_t len;
	uint32_t major, minor;
};

/* As debugfs parses -s: the UUID's bytes, read as little-endian words. */
static const uint8_t seed_bytes[2][16] = {
	{ 0 },
	{ 0x8f, 0x1c, 0x2d, 0x3e, 0x4b, 0x5a, 0x69, 0x78, 0x86, 0x95, 0xa4, 0xb3, 0xc2, 0xd1,
	  0xe0, 0xf7 },
};

static const struct vec vecs[] = {
	{ 0, 0, "a", 1, 0xe74b53e2, 0x0 },
	{ 0, 1, "a", 1, 0xd5fa7d7a, 0xacb48187 },
	{ 0, 2, "a", 1, 0x6d0ea4c0, 0xc18922df },
	{ 0, 3, "a", 1, 0xe74b53e2, 0x0 },
	{ 0, 4, "a", 1, 0xd5fa7d7a, 0xacb48187 },
	{ 0, 5, "a", 1, 0x6d0ea4c0, 0xc18922df },
	{ 0, 0, ".", 1, 0x71d73e48, 0x0 },
	{ 0, 1, ".", 1, 0x3df9c490, 0x700a9a17 },
	{ 0, 2, ".", 1, 0x31fd669c, 0x12dc5935 },
	{ 0, 3, ".", 1, 0x71d73e48, 0x0 },
	{ 0, 4, ".", 1, 0x3df9c490, 0x700a9a17 },
	{ 0, 5, ".", 1, 0x31fd669c, 0x12dc5935 },
	{ 0, 0, "..", 2, 0x7c37aa9e, 0x0 },
	{ 0, 1, "..", 2, 0xb074c9ae, 0x3040ba1e },
	{ 0, 2, "..", 2, 0xbc44b5be, 0x8d0d3174 },
	{ 0, 3, "..", 2, 0x7c37aa9e, 0x0 },
	{ 0, 4, "..", 2, 0xb074c9ae, 0x3040ba1e },
	{ 0, 5, "..", 2, 0xbc44b5be, 0x8d0d3174 },
	{ 0, 0, "hello", 5, 0x32252546, 0x0 },
	{ 0, 1, "hello", 5, 0x1746da32, 0x420013b5 },
	{ 0, 2, "hello", 5, 0x6f5bb1a8, 0x231917c2 },
	{ 0, 3, "hello", 5, 0x32252546, 0x0 },
	{ 0, 4, "hello", 5, 0x1746da32, 0x420013b5 },
	{ 0, 5, "hello", 5, 0x6f5bb1a8, 0x231917c2 },
	{ 0, 0, "lost+found", 10, 0x5e2aba24, 0x0 },
	{ 0, 1, "lost+found", 10, 0x591de422, 0x6ffc56e0 },
	{ 0, 2, "lost+found", 10, 0x2dbf9e80, 0xbfebee4f },
	{ 0, 3, "lost+found", 10, 0x5e2aba24, 0x0 },
	{ 0, 4, "lost+found", 10, 0x591de422, 0x6ffc56e0 },
	{ 0, 5, "lost+found", 10, 0x2dbf9e80, 0xbfebee4f },
	{ 0, 0, "xxxxxxxxxxxxxxx", 15, 0xf7be4196, 0x0 },
	{ 0, 1, "xxxxxxxxxxxxxxx", 15, 0x622a55a8, 0xe0732b3c },
	{ 0, 2, "xxxxxxxxxxxxxxx", 15, 0x1bb094c0, 0xe6741c6b },
	{ 0, 3, "xxxxxxxxxxxxxxx", 15, 0xf7be4196, 0x0 },
	{ 0, 4, "xxxxxxxxxxxxxxx", 15, 0x622a55a8, 0xe0732b3c },
	{ 0, 5, "xxxxxxxxxxxxxxx", 15, 0x1bb094c0, 0xe6741c6b },
	{ 0, 0, "yyyyyyyyyyyyyyyy", 16, 0xa027e7a0, 0x0 },
	{ 0, 1, "yyyyyyyyyyyyyyyy", 16, 0x69afdf5a, 0xa69ae959 },
	{ 0, 2, "yyyyyyyyyyyyyyyy", 16, 0xa1fcec84, 0x3d1443b3 },
	{ 0, 3, "yyyyyyyyyyyyyyyy", 16, 0xa027e7a0, 0x0 },
	{ 0, 4, "yyyyyyyyyyyyyyyy", 16, 0x69afdf5a, 0xa69ae959 },
	{ 0, 5, "yyyyyyyyyyyyyyyy", 16, 0xa1fcec84, 0x3d1443b3 },
	{ 0, 0, "zzzzzzzzzzzzzzzzz", 17, 0xc0573694, 0x0 },
	{ 0, 1, "zzzzzzzzzzzzzzzzz", 17, 0x75de0b38, 0x47886745 },
	{ 0, 2, "zzzzzzzzzzzzzzzzz", 17, 0xfcfd560e, 0x2a5fb8aa },
	{ 0, 3, "zzzzzzzzzzzzzzzzz", 17, 0xc0573694, 0x0 },
	{ 0, 4, "zzzzzzzzzzzzzzzzz", 17, 0x75de0b38, 0x47886745 },
	{ 0, 5, "zzzzzzzzzzzzzzzzz", 17, 0xfcfd560e, 0x2a5fb8aa },
	{ 0, 0, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0x7a67048, 0x0 },
	{ 0, 1, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0x8c30a756, 0x1ff17ec },
	{ 0, 2, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0xd33fb24a, 0xd2a95521 },
	{ 0, 3, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0x7a67048, 0x0 },
	{ 0, 4, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0x8c30a756, 0x1ff17ec },
	{ 0, 5, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0xd33fb24a, 0xd2a95521 },
	{ 0, 0, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x6fe1d52, 0x0 },
	{ 0, 1, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x26ee6642, 0x99a32bf0 },
	{ 0, 2, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x7d31860, 0xbd880234 },
	{ 0, 3, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x6fe1d52, 0x0 },
	{ 0, 4, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x26ee6642, 0x99a32bf0 },
	{ 0, 5, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x7d31860, 0xbd880234 },
	{ 0, 0, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0x442fef12, 0x0 },
	{ 0, 1, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0x2ec66b4a, 0x6252f8b1 },
	{ 0, 2, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0xb7a00cfe, 0x52199b07 },
	{ 0, 3, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0x442fef12, 0x0 },
	{ 0, 4, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0x2ec66b4a, 0x6252f8b1 },
	{ 0, 5, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0xb7a00cfe, 0x52199b07 },
	{ 0, 0, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0x30e0ffc, 0x0 },
	{ 0, 1, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0x569e31dc, 0xdf49a167 },
	{ 0, 2, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0x36db452e, 0x10bc4a78 },
	{ 0, 3, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0xdc831620, 0x0 },
	{ 0, 4, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0xee31688a, 0x162efc42 },
	{ 0, 5, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0x9999f404, 0x4b25f49c },
	{ 0, 0, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x6948baf6, 0x0 },
	{ 0, 1, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0xe3edb584, 0x424f4dca },
	{ 0, 2, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x8cdd938e, 0x46da493b },
	{ 0, 3, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x7088f08, 0x0 },
	{ 0, 4, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x91b5a94c, 0x4ecdc418 },
	{ 0, 5, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x461f3388, 0x20dc4fbf },
	{ 0, 0, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0x8b1c2dcc, 0x0 },
	{ 0, 1, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0x29503458, 0x96f7fbac },
	{ 0, 2, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0x152dc2b0, 0xe31fc0c },
	{ 0, 3, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0x22dc4090, 0x0 },
	{ 0, 4, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0xc3865574, 0xf666c84 },
	{ 0, 5, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0x9796fa, 0x6ebfa220 },
	{ 0, 0, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0xe4e610fc, 0x0 },
	{ 0, 1, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0x41d0bd24, 0x5dfbd51c },
	{ 0, 2, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0xa7167b32, 0x9688f13b },
	{ 0, 3, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0x515ec41c, 0x0 },
	{ 0, 4, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0x59bb9fe, 0x26c133ab },
	{ 0, 5, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0xe05489ea, 0x1afc7f79 },
	{ 1, 0, "a", 1, 0xe74b53e2, 0x0 },
	{ 1, 1, "a", 1, 0x7745effa, 0xa50c7564 },
	{ 1, 2, "a", 1, 0xa556edb8, 0x6a85fcfa },
	{ 1, 3, "a", 1, 0xe74b53e2, 0x0 },
	{ 1, 4, "a", 1, 0x7745effa, 0xa50c7564 },
	{ 1, 5, "a", 1, 0xa556edb8, 0x6a85fcfa },
	{ 1, 0, ".", 1, 0x71d73e48, 0x0 },
	{ 1, 1, ".", 1, 0xfdc9c6dc, 0xd4fcc29b },
	{ 1, 2, ".", 1, 0x316355ce, 0x8547cb9b },
	{ 1, 3, ".", 1, 0x71d73e48, 0x0 },
	{ 1, 4, ".", 1, 0xfdc9c6dc, 0xd4fcc29b },
	{ 1, 5, ".", 1, 0x316355ce, 0x8547cb9b },
	{ 1, 0, "..", 2, 0x7c37aa9e, 0x0 },
	{ 1, 1, "..", 2, 0xc91e1f98, 0xea9f71ef },
	{ 1, 2, "..", 2, 0xbb73f4f4, 0x1e9f3e40 },
	{ 1, 3, "..", 2, 0x7c37aa9e, 0x0 },
	{ 1, 4, "..", 2, 0xc91e1f98, 0xea9f71ef },
	{ 1, 5, "..", 2, 0xbb73f4f4, 0x1e9f3e40 },
	{ 1, 0, "hello", 5, 0x32252546, 0x0 },
	{ 1, 1, "hello", 5, 0xd143cb82, 0x4178aaf9 },
	{ 1, 2, "hello", 5, 0x500c335e, 0xc4f0510c },
	{ 1, 3, "hello", 5, 0x32252546, 0x0 },
	{ 1, 4, "hello", 5, 0xd143cb82, 0x4178aaf9 },
	{ 1, 5, "hello", 5, 0x500c335e, 0xc4f0510c },
	{ 1, 0, "lost+found", 10, 0x5e2aba24, 0x0 },
	{ 1, 1, "lost+found", 10, 0x16d2cce0, 0x298bb5e7 },
	{ 1, 2, "lost+found", 10, 0xa1b5a3be, 0x14524110 },
	{ 1, 3, "lost+found", 10, 0x5e2aba24, 0x0 },
	{ 1, 4, "lost+found", 10, 0x16d2cce0, 0x298bb5e7 },
	{ 1, 5, "lost+found", 10, 0xa1b5a3be, 0x14524110 },
	{ 1, 0, "xxxxxxxxxxxxxxx", 15, 0xf7be4196, 0x0 },
	{ 1, 1, "xxxxxxxxxxxxxxx", 15, 0x8bfa7336, 0xa05260fb },
	{ 1, 2, "xxxxxxxxxxxxxxx", 15, 0xac9c0de6, 0x1777d037 },
	{ 1, 3, "xxxxxxxxxxxxxxx", 15, 0xf7be4196, 0x0 },
	{ 1, 4, "xxxxxxxxxxxxxxx", 15, 0x8bfa7336, 0xa05260fb },
	{ 1, 5, "xxxxxxxxxxxxxxx", 15, 0xac9c0de6, 0x1777d037 },
	{ 1, 0, "yyyyyyyyyyyyyyyy", 16, 0xa027e7a0, 0x0 },
	{ 1, 1, "yyyyyyyyyyyyyyyy", 16, 0x9b2485da, 0xa2088c28 },
	{ 1, 2, "yyyyyyyyyyyyyyyy", 16, 0x983276ba, 0x5469456f },
	{ 1, 3, "yyyyyyyyyyyyyyyy", 16, 0xa027e7a0, 0x0 },
	{ 1, 4, "yyyyyyyyyyyyyyyy", 16, 0x9b2485da, 0xa2088c28 },
	{ 1, 5, "yyyyyyyyyyyyyyyy", 16, 0x983276ba, 0x5469456f },
	{ 1, 0, "zzzzzzzzzzzzzzzzz", 17, 0xc0573694, 0x0 },
	{ 1, 1, "zzzzzzzzzzzzzzzzz", 17, 0xa465b7f2, 0xc7bd96d7 },
	{ 1, 2, "zzzzzzzzzzzzzzzzz", 17, 0xf09f3cf2, 0x7927190c },
	{ 1, 3, "zzzzzzzzzzzzzzzzz", 17, 0xc0573694, 0x0 },
	{ 1, 4, "zzzzzzzzzzzzzzzzz", 17, 0xa465b7f2, 0xc7bd96d7 },
	{ 1, 5, "zzzzzzzzzzzzzzzzz", 17, 0xf09f3cf2, 0x7927190c },
	{ 1, 0, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0x7a67048, 0x0 },
	{ 1, 1, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0xaee542e4, 0xc3ccf43d },
	{ 1, 2, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0x993cf600, 0xe15c605c },
	{ 1, 3, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0x7a67048, 0x0 },
	{ 1, 4, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0xaee542e4, 0xc3ccf43d },
	{ 1, 5, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 31, 0x993cf600, 0xe15c605c },
	{ 1, 0, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x6fe1d52, 0x0 },
	{ 1, 1, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0xa4eb5486, 0x6cc35498 },
	{ 1, 2, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x6f8b336a, 0x7e2d8f9a },
	{ 1, 3, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x6fe1d52, 0x0 },
	{ 1, 4, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0xa4eb5486, 0x6cc35498 },
	{ 1, 5, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", 32, 0x6f8b336a, 0x7e2d8f9a },
	{ 1, 0, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0x442fef12, 0x0 },
	{ 1, 1, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0x1728fc76, 0x5bfff7ed },
	{ 1, 2, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0xdf96d1c6, 0x5d3740bc },
	{ 1, 3, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0x442fef12, 0x0 },
	{ 1, 4, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0x1728fc76, 0x5bfff7ed },
	{ 1, 5, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 33, 0xdf96d1c6, 0x5d3740bc },
	{ 1, 0, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0x30e0ffc, 0x0 },
	{ 1, 1, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0x582e54aa, 0x536bed62 },
	{ 1, 2, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0xb7ea0730, 0x2a9278ec },
	{ 1, 3, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0xdc831620, 0x0 },
	{ 1, 4, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0xe06034f6, 0x85360143 },
	{ 1, 5, "h\xc3""\xa9""llo-w\xc3""\xb6""rld", 13, 0x6fe0c9d2, 0xa1f5b9dc },
	{ 1, 0, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x6948baf6, 0x0 },
	{ 1, 1, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x164f9512, 0x21bcf259 },
	{ 1, 2, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0xbd8e4e80, 0x736e9807 },
	{ 1, 3, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x7088f08, 0x0 },
	{ 1, 4, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x4ccf5984, 0x80affa0a },
	{ 1, 5, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x95""\xe3""\x82""\xa1""\xe3""\x82""\xa4""\xe3""\x83""\xab""", 21, 0x366dc5a6, 0x43d616ab },
	{ 1, 0, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0x8b1c2dcc, 0x0 },
	{ 1, 1, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0x5dffe28c, 0x54d183ef },
	{ 1, 2, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0xd900504, 0xa59d8f04 },
	{ 1, 3, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0x22dc4090, 0x0 },
	{ 1, 4, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0xb9e0b296, 0xc370f2b7 },
	{ 1, 5, "\x80""\x81""\x82""\x83""\x84""\x85""\x86""\x87""\x88""\x89""\x8a""\x8b""\x8c""\x8d""\x8e""\x8f""\x90""\x91""\x92""\x93""\x94""\x95""\x96""\x97""\x98""\x99""\x9a""\x9b""\x9c""\x9d""\x9e""\x9f""", 32, 0x3a71d2e0, 0x865dc294 },
	{ 1, 0, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0xe4e610fc, 0x0 },
	{ 1, 1, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0xad93b3dc, 0xc9ba6210 },
	{ 1, 2, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0xc5a00b86, 0x1a78a3b6 },
	{ 1, 3, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0x515ec41c, 0x0 },
	{ 1, 4, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0x30c34ae6, 0x2d19f78 },
	{ 1, 5, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""\xc3""\xbf""", 254, 0x2c8bfab4, 0xa4ba3cf0 },
};

static void seed_words(int idx, uint32_t out[4])
{
	for (int i = 0; i < 4; i++)
		out[i] = bv_le32(seed_bytes[idx] + 4 * i);
}

START_TEST(test_hash_matches_debugfs_vectors)
{
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		uint32_t seed[4], major = 1, minor = 1;

		seed_words(vecs[i].seed, seed);
		ck_assert_int_eq(bv_ext4_hash_compute(vecs[i].version, seed, vecs[i].name,
						      vecs[i].len, &major, &minor), 0);
		ck_assert_msg(major == vecs[i].major && minor == vecs[i].minor,
			      "vector %zu (version %u, len %zu): got %08x/%08x want %08x/%08x", i,
			      vecs[i].version, vecs[i].len, major, minor, vecs[i].major,
			      vecs[i].minor);
	}
}
END_TEST

START_TEST(test_hash_zero_seed_is_default_seed)
{
	static const uint32_t zero[4] = { 0 };
	static const uint32_t md4[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };
	uint32_t a, b, c;

	ck_assert_int_eq(bv_ext4_hash_compute(DX_HASH_HALF_MD4, zero, "hello", 5, &a, NULL), 0);
	ck_assert_int_eq(bv_ext4_hash_compute(DX_HASH_HALF_MD4, md4, "hello", 5, &b, NULL), 0);
	ck_assert_int_eq(bv_ext4_hash_compute(DX_HASH_HALF_MD4, NULL, "hello", 5, &c, NULL), 0);
	ck_assert_uint_eq(a, b);
	ck_assert_uint_eq(a, c);
}
END_TEST

START_TEST(test_hash_signedness_matters_only_for_high_bytes)
{
	const char hi[] = "caf\xc3\xa9";
	uint32_t s, u;

	for (unsigned v = DX_HASH_LEGACY; v <= DX_HASH_TEA; v++) {
		ck_assert_int_eq(bv_ext4_hash_compute(v, NULL, "cafe", 4, &s, NULL), 0);
		ck_assert_int_eq(bv_ext4_hash_compute(v + 3, NULL, "cafe", 4, &u, NULL), 0);
		ck_assert_uint_eq(s, u);
		ck_assert_int_eq(bv_ext4_hash_compute(v, NULL, hi, 5, &s, NULL), 0);
		ck_assert_int_eq(bv_ext4_hash_compute(v + 3, NULL, hi, 5, &u, NULL), 0);
		ck_assert_uint_ne(s, u);
	}
}
END_TEST

START_TEST(test_hash_major_has_low_bit_clear)
{
	char name[8];
	uint32_t h;

	for (unsigned v = DX_HASH_LEGACY; v <= DX_HASH_TEA_UNSIGNED; v++) {
		for (int i = 0; i < 200; i++) {
			int n = snprintf(name, sizeof(name), "f%d", i);

			ck_assert_int_eq(bv_ext4_hash_compute(v, NULL, name, (size_t)n, &h, NULL), 0);
			ck_assert_uint_eq(h & 1, 0);
			ck_assert_uint_ne(h, EXT4_HTREE_EOF_32BIT << 1);
		}
	}
}
END_TEST

START_TEST(test_hash_rejects_siphash_and_unknown)
{
	uint32_t h = 7;

	ck_assert_int_eq(bv_ext4_hash_compute(DX_HASH_SIPHASH, NULL, "a", 1, &h, NULL),
			 -EOPNOTSUPP);
	ck_assert_int_eq(bv_ext4_hash_compute(99, NULL, "a", 1, &h, NULL), -EOPNOTSUPP);
	ck_assert_uint_eq(h, 7);
}
END_TEST

static Suite *hash_suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_hash_matches_debugfs_vectors);
	tcase_add_test(tc, test_hash_zero_seed_is_default_seed);
	tcase_add_test(tc, test_hash_signedness_matters_only_for_high_bytes);
	tcase_add_test(tc, test_hash_major_has_low_bit_clear);
	tcase_add_test(tc, test_hash_rejects_siphash_and_unknown);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(hash_suite)
