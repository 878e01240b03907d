#!/usr/bin/env bash
# The shim's lifecycle run by an ordinary user: an unused uid with no capabilities and no
# supplementary groups, in a private mount namespace where /dev/fuse is a 0666 copy of the
# node and setuid fusermount3 does the mounting (_asuser.sh; the machine is not changed).
# start (ready line on fd 3), read, status, stop, then nothing left: no mount, no daemon,
# the life lock free, the image closed, the mountpoint removed, state "stopped". Cases:
# graceful, SIGKILL, a deaf (SIGSTOPped) daemon, a missing mountpoint, no access to
# /dev/fuse, and stop of a view root started (_asuser_lifecycle.sh).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
. "$(dirname "$0")/_asuser.sh"
asuser_enter user
. "$top/tests/integration/_asuser_lifecycle.sh"
