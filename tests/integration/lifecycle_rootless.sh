#!/usr/bin/env bash
# The shim's lifecycle run rootless: "root" of a user namespace an unused uid owns
# (unshare --user --map-root-user --mount), no privilege outside it; FUSE mounts are made
# there with mount(2), no setuid helper (_asuser.sh; the machine is not changed). The same
# cases and leftover checks as lifecycle_user.sh (_asuser_lifecycle.sh), mounts seen
# through the namespace's mountinfo.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
. "$(dirname "$0")/_asuser.sh"
asuser_enter rootless
. "$top/tests/integration/_asuser_lifecycle.sh"
