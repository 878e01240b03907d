#!/usr/bin/env bash
# The short soak: scripts/soak.sh for 25 s (16 readers, random files, offsets and lengths
# of the bench image through bootviewfs, every byte compared with the kernel's read-only
# mount of the same image; the daemon must survive). `scripts/soak.sh` alone runs 10 minutes.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
SOAK_SECONDS=${SOAK_SECONDS:-25} exec "$top/scripts/soak.sh"
