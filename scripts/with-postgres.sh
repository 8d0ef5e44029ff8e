#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL server.
#
#   scripts/with-postgres.sh cargo test -p tillbook-server
#
# Installs PostgreSQL with apt when no `initdb` is found, creates a cluster in a temporary
# directory (owned by the `postgres` user when run as root), starts it on 127.0.0.1 on a
# free port (unix socket inside the temporary directory, fsync on, trust auth), creates the
# database `tillbook_test`, exports
#   TILLBOOK_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/tillbook_test
# runs the command, then stops the server and removes the directory. Exits with the
# command's exit code.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

log() { echo "with-postgres: $*" >&2; }

find_bin_dir() {
    local found
    if found=$(command -v initdb 2>/dev/null); then
        dirname "$(readlink -f "$found")"
        return 0
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if ! BIN=$(find_bin_dir); then
    log "initdb not found; installing postgresql with apt"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { log "need root (or sudo) to install postgresql"; exit 1; }
        SUDO="sudo"
    fi
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
    BIN=$(find_bin_dir) || { log "initdb still not found after installing postgresql"; exit 1; }
fi

# Who runs the server: `postgres` when we are root (initdb refuses root), else ourselves.
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
    if command -v runuser >/dev/null; then
        RUN_AS=(runuser -u postgres --)
    else
        RUN_AS=(su postgres -s /bin/sh -c)
    fi
fi

as_pg() {
    if [ "${#RUN_AS[@]}" -eq 0 ]; then
        "$@"
    elif [ "${RUN_AS[0]}" = "su" ]; then
        "${RUN_AS[@]}" "$(printf '%q ' "$@")"
    else
        "${RUN_AS[@]}" "$@"
    fi
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tillbook-pg.XXXXXX")
chmod 755 "$TMP"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$TMP"
fi
DATA="$TMP/data"
SOCK="$TMP/sock"
as_pg mkdir -p "$SOCK"

STARTED=0
cleanup() {
    if [ "$STARTED" -eq 1 ]; then
        as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 30000))
}

log "initdb in $DATA ($BIN)"
as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$TMP/initdb.log" 2>&1 || {
    cat "$TMP/initdb.log" >&2
    exit 1
}

PORT=""
for _ in 1 2 3 4 5; do
    candidate=$(free_port)
    if as_pg "$BIN/pg_ctl" -D "$DATA" -l "$TMP/postgres.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $candidate -k $SOCK -c fsync=on -c max_connections=200" \
        start >/dev/null 2>&1; then
        PORT=$candidate
        STARTED=1
        break
    fi
done
if [ -z "$PORT" ]; then
    log "postgres did not start:"
    cat "$TMP/postgres.log" >&2 || true
    exit 1
fi

as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE DATABASE tillbook_test" >&2

export TILLBOOK_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/tillbook_test"
log "postgres ready: $TILLBOOK_TEST_POSTGRES_URL"

set +e
"$@"
RC=$?
set -e
exit "$RC"
