#!/bin/sh
# Makes sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) are on this machine, so
# the tests and benchmarks can start a throwaway cluster; they never need a running database.
# On a fresh Debian/Ubuntu machine it installs the distribution's `postgresql` package. It also
# creates the `postgres` OS user when missing: PostgreSQL refuses to run as root, and sessions
# and CI run as root, so the clusters run as that user.
set -eu

find_initdb() {
    if command -v initdb >/dev/null 2>&1; then
        command -v initdb
        return 0
    fi
    # Debian keeps the server binaries out of PATH, one directory per major version.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ]; then
            echo "$dir/initdb"
            return 0
        fi
    done
    return 1
}

if ! find_initdb >/dev/null; then
    echo "ensure-postgresql: initdb not found; installing PostgreSQL from Debian packages" >&2
    if [ "$(id -u)" -ne 0 ]; then
        SUDO=sudo
    else
        SUDO=
    fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql
    # The package starts a system cluster; the tests do not use it and it would hold port 5432.
    $SUDO service postgresql stop >/dev/null 2>&1 || true
    find_initdb >/dev/null || { echo "ensure-postgresql: still no initdb after install" >&2; exit 1; }
fi

if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "ensure-postgresql: creating the postgres OS user" >&2
    if command -v useradd >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/sh postgres
    else
        adduser --system --group --home /var/lib/postgresql --shell /bin/sh postgres
    fi
fi

echo "ensure-postgresql: using $(find_initdb)"
