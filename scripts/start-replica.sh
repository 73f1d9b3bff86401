#!/usr/bin/env bash
# Start a streaming replica of the local PostgreSQL (Debian's cluster on
# 127.0.0.1:5432) on 127.0.0.1:5433, for DATABASE_READ_URL and the tests
# that read from a replica (TEST_DATABASE_READ_URL). Idempotent: a replica
# already answering is left alone, one stopped is started, and one that
# cannot start (its primary moved on without it) is made again.
#
# Run it as root (it runs PostgreSQL's tools as the postgres user) or as
# postgres. The primary must accept replication connections on its unix
# socket; Debian's default pg_hba.conf does ("local replication all peer").
# When no local replication line is there, one is added for the postgres
# user and the primary reloaded, and the script says so.
#
# Settings: REPLICA_PORT (5433), REPLICA_DIR (/var/lib/postgresql/mlapi-replica),
# PRIMARY_PORT (5432), PG_SOCKET_DIR (/var/run/postgresql).
set -euo pipefail

port="${REPLICA_PORT:-5433}"
data="${REPLICA_DIR:-/var/lib/postgresql/mlapi-replica}"
primary_port="${PRIMARY_PORT:-5432}"
socket_dir="${PG_SOCKET_DIR:-/var/run/postgresql}"
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
bin="/usr/lib/postgresql/$version/bin"
log="$data.log"

# One run at a time: two at once (two test runs starting together) would
# each find the replica stopped, and one would remove the data directory
# the other had just started a server on.
exec 9>"${TMPDIR:-/tmp}/mlapi-start-replica.lock"
flock 9

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}
primary_sql() { as_postgres "$bin/psql" -h "$socket_dir" -p "$primary_port" -U postgres -d postgres -XAtqc "$1"; }
replica_sql() { as_postgres "$bin/psql" -h "$socket_dir" -p "$port" -U postgres -d postgres -XAtqc "$1" 2>/dev/null; }

# streaming says whether a replica answers on $port, in recovery, its WAL
# receiver streaming from the primary.
streaming() {
  [ "$(replica_sql "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')")" = t ]
}

wait_streaming() {
  for _ in $(seq 1 60); do streaming && return 0; sleep 1; done
  return 1
}

if streaming; then
  echo "replica already streaming on 127.0.0.1:$port"
  exit 0
fi

# pg_basebackup connects for replication on the primary's socket.
hba=$(primary_sql "SHOW hba_file")
if [ "$(primary_sql "SELECT count(*) FROM pg_hba_file_rules WHERE type = 'local' AND 'replication' = ANY(database) AND error IS NULL")" = 0 ]; then
  echo "adding 'local replication postgres peer' to $hba and reloading the primary"
  printf '\n# Added by mlapi scripts/start-replica.sh: the replica copies and streams from here.\nlocal replication postgres peer\n' >>"$hba"
  primary_sql "SELECT pg_reload_conf()" >/dev/null
fi

start() {
  # The server must not inherit the lock's descriptor, or it would hold
  # the lock for as long as it runs.
  as_postgres "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 9>&-
}

if [ -f "$data/standby.signal" ] && [ -f "$data/postgresql.conf" ]; then
  echo "starting the replica in $data"
  if start && wait_streaming; then
    echo "replica streaming on 127.0.0.1:$port"
    exit 0
  fi
  echo "the replica in $data does not stream: making it again"
  as_postgres "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
fi

echo "copying the primary into $data (pg_basebackup)"
rm -rf "$data"
install -d -o postgres -g postgres -m 0700 "$data"
# -R writes standby.signal and primary_conninfo; -X stream copies the WAL
# written during the copy, so the replica starts consistent.
as_postgres "$bin/pg_basebackup" -h "$socket_dir" -p "$primary_port" -U postgres -D "$data" -R -X stream -c fast

# Debian keeps the primary's configuration in /etc, outside the copy: the
# replica gets a file of its own, and the primary's authentication rules,
# so the same URLs (user, password) work on both.
cp "$hba" "$data/pg_hba.conf"
cp "$(primary_sql "SHOW ident_file")" "$data/pg_ident.conf"
cat >"$data/postgresql.conf" <<EOF
# The replica of scripts/start-replica.sh.
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket_dir'
hot_standby = on
# Tells the primary which rows the replica's queries still read, so that
# vacuum on the primary does not cancel them.
hot_standby_feedback = on
max_connections = 100
EOF
chown postgres:postgres "$data/pg_hba.conf" "$data/pg_ident.conf" "$data/postgresql.conf"

start
wait_streaming || { echo "the replica did not start streaming; see $log" >&2; exit 1; }
echo "replica streaming on 127.0.0.1:$port"
