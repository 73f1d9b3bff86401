#!/usr/bin/env bash
# Benchmarks predict end to end, side by side with the database alone, in one run on this machine:
#
#   1. pgbench sending the statement a prediction sends to PostgreSQL (logPredictionsPostgres of
#      internal/store/predictions.go, in scripts/bench-predict.sql), each a batch of one
#      prediction with the values the server writes, appended to an audit chain of its own;
#   2. mlapi bench against the server on PostgreSQL;
#   3. mlapi bench against the server on its default embedded SQLite, in a temporary directory;
#
# each with the same clients and duration, then prints a Markdown table: requests per second and
# the ratio to pgbench, p50 and p99 latency, the server's CPU time per request and its peak and
# final resident memory, with the machine and the date.
#
#   CLIENTS=16 DURATION=30s WARMUP=2s PG_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
#     bash scripts/bench.sh
#
# MLAPI_ENV adds environment to both mlapi servers, as VAR=VALUE words (for example
# MLAPI_ENV='GOGC=200'), to measure a setting beside the same pgbench; the table says it ran.
# PG_URL names a PostgreSQL server and a database to connect to for administration; the script
# creates a database of its own, mlapi_bench, and drops it at the end, so no other data is
# touched. Needs go, pgbench and psql (Debian: apt-get install postgresql-client), curl, openssl.
set -euo pipefail

CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-2s}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DB_NAME=mlapi_bench
# Marks the database as this script's, so that a run may drop one a failed run left behind,
# and never a database of the same name made by anyone else.
DB_COMMENT='created by mlapi scripts/bench.sh'

BENCH_SCRIPT=bench.sh
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

for tool in go pgbench psql curl openssl; do
	command -v "$tool" >/dev/null || die "$tool is missing (pgbench and psql: apt-get install postgresql-client)"
done
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || die "CLIENTS=$CLIENTS: want a positive whole number"
duration_s=$(seconds "$DURATION")
warmup_s=$(seconds "$WARMUP")
((duration_s > 0)) || die "DURATION=$DURATION: want more than 0"

# run_mlapi NAME DIR [VAR=VALUE...] starts the server in DIR, creates the bench user with the
# command line (its password hashed there, not in the server), runs mlapi bench as that user,
# and writes NAME's figures to $work/NAME.result.
run_mlapi() {
	local name=$1 dir=$2
	shift 2
	local password
	password=$(openssl rand -hex 16)
	(cd "$dir" && env -i PATH="$PATH" HOME="$HOME" "$@" "$bin" user create --username mlapi-bench \
		--email mlapi-bench@example.com <<<"$password") >/dev/null
	# shellcheck disable=SC2086 # MLAPI_ENV is words
	start_server "$dir" "$@" ${MLAPI_ENV:-}
	local clk before after idle out=$work/$name.json
	clk=$(getconf CLK_TCK)
	idle=$(status_kb VmRSS)
	before=$(cpu_ticks)
	if ! "$bin" bench --url "$server_url" --connections "$CLIENTS" --duration "${duration_s}s" --warmup "${warmup_s}s" \
		--username mlapi-bench --password "$password" --json >"$out"; then
		cat "$out" >&2
		die "mlapi bench on $name failed"
	fi
	after=$(cpu_ticks)
	local peak rss
	peak=$(status_kb VmHWM)
	rss=$(status_kb VmRSS)
	stop_server
	local sent
	# Every predict the server answered while its CPU time was read: warm-up, window, and the
	# requests in flight at the window's end; the one login and two history counts are counted
	# in the CPU time too.
	sent=$(($(json_value "$out" warmupRequests) + $(json_value "$out" requests) + $(json_value "$out" lateRequests)))
	{
		echo "rate=$(json_value "$out" throughput)"
		echo "p50=$(json_value "$out" p50)"
		echo "p99=$(json_value "$out" p99)"
		echo "cpu_us=$(awk -v t=$((after - before)) -v c="$clk" -v n="$sent" 'BEGIN { printf "%.0f", t / c * 1e6 / n }')"
		echo "peak_mib=$(awk -v k="$peak" 'BEGIN { printf "%.0f", k / 1024 }')"
		echo "rss_mib=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')"
		echo "idle_mib=$(awk -v k="$idle" 'BEGIN { printf "%.0f", k / 1024 }')"
		echo "requests=$(json_value "$out" requests)"
		echo "logged=$(json_value "$out" logged)"
		echo "answered=$(json_value "$out" answered)"
	} >"$work/$name.result"
}

echo "building mlapi" >&2
(cd "$root" && go build -o "$bin" .)

create_database

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "mlapi bench on PostgreSQL: $CLIENTS clients, $DURATION after $WARMUP" >&2
mkdir "$work/postgres"
run_mlapi postgres "$work/postgres" DATABASE_URL="$url" JWT_SECRET="$(openssl rand -hex 32)"
echo "pgbench on the same statement: $CLIENTS clients, $DURATION after $WARMUP" >&2
prepare_pgbench
run_pgbench pgbench
echo "mlapi bench on SQLite: $CLIENTS clients, $DURATION after $WARMUP" >&2
mkdir "$work/sqlite"
run_mlapi sqlite "$work/sqlite"

for name in postgres sqlite; do
	[[ $(result $name logged) == "$(result $name answered)" ]] ||
		die "$name: logged $(result $name logged), answered $(result $name answered)"
done
[[ $(result pgbench rows) == "$(result pgbench requests)" ]] ||
	die "pgbench: $(result pgbench requests) transactions logged $(result pgbench rows) rows"

ms() { awk -v v="$(result "$1" "$2")" 'BEGIN { printf "%.2f ms", v }'; }
ratio() { awk -v a="$(result "$1" rate)" -v b="$(result pgbench rate)" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v r="$(result "$1" rate)" 'BEGIN { printf "%.0f", r }'; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '$1 == "MemTotal:" { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
pg_version=$(psql_admin -c "SHOW server_version" | cut -d' ' -f1)

clients="$CLIENTS client$( ((CLIENTS == 1)) || echo s)"
cat <<EOF

$(date -u +%Y-%m-%d), $(nproc) CPUs ($cpu), $mem GiB of memory; $clients for $DURATION after a $WARMUP warm-up;
PostgreSQL $pg_version on the same machine, $(go version | cut -d' ' -f3); load average before the runs $load${MLAPI_ENV:+; mlapi with $MLAPI_ENV}.

| run, $clients | requests/s | vs pgbench | p50 | p99 | server CPU per request | server RSS idle / peak / after |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| pgbench: the logging statement alone, one prediction a transaction | $(rate pgbench) | 1 | $(ms pgbench p50) | $(ms pgbench p99) | – | – |
| \`mlapi bench\`, PostgreSQL | $(rate postgres) | $(ratio postgres) | $(ms postgres p50) | $(ms postgres p99) | $(result postgres cpu_us) µs | $(result postgres idle_mib) / $(result postgres peak_mib) / $(result postgres rss_mib) MiB |
| \`mlapi bench\`, SQLite | $(rate sqlite) | $(ratio sqlite) | $(ms sqlite p50) | $(ms sqlite p99) | $(result sqlite cpu_us) µs | $(result sqlite idle_mib) / $(result sqlite peak_mib) / $(result sqlite rss_mib) MiB |
EOF
