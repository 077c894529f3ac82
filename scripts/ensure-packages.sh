#!/bin/sh
# Installs from Debian's packages whatever the tests need and this machine lacks, so that
# `make install` and `make test` work on a fresh Debian/Ubuntu machine.
#
# Arguments are COMMAND=PACKAGE pairs: PACKAGE is installed when COMMAND is not on PATH.
# The pseudo-command `python-venv` stands for Python's ensurepip, which `python3 -m venv`
# needs and Debian ships separately (python3-venv).
set -eu

missing=""
for pair in "$@"; do
    name=${pair%%=*}
    package=${pair#*=}
    case $name in
        python-venv) python3 -c 'import ensurepip' 2>/dev/null && continue ;;
        *) command -v "$name" >/dev/null 2>&1 && continue ;;
    esac
    missing="$missing $package"
done

[ -z "$missing" ] && exit 0
echo "ensure-packages: installing$missing from Debian's packages" >&2
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
$SUDO apt-get update -q
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
