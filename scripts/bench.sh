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

die() { echo "bench.sh: $*" >&2; exit 1; }

for tool in go pgbench psql curl openssl; do
	command -v "$tool" >/dev/null || die "$tool is missing (pgbench and psql: apt-get install postgresql-client)"
done
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || die "CLIENTS=$CLIENTS: want a positive whole number"

# seconds reads a duration of whole seconds, minutes or hours (30s, 2m, 1h; 30 is 30s) as pgbench
# wants it.
seconds() {
	[[ $1 =~ ^([0-9]+)([smh]?)$ ]] || die "duration $1: want whole seconds, minutes or hours, like 30s or 2m"
	local n=$((10#${BASH_REMATCH[1]}))
	case ${BASH_REMATCH[2]} in
	m) echo $((n * 60)) ;;
	h) echo $((n * 3600)) ;;
	*) echo "$n" ;;
	esac
}
duration_s=$(seconds "$DURATION")
warmup_s=$(seconds "$WARMUP")
((duration_s > 0)) || die "DURATION=$DURATION: want more than 0"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mlapi-bench.XXXXXX")
bin=$work/mlapi
server_pid=
db_created=

psql_admin() { psql "$PG_URL" -v ON_ERROR_STOP=1 -qAtX "$@"; }

cleanup() {
	local status=$?
	stop_server || true
	if [[ -n $db_created ]]; then
		psql_admin -c "DROP DATABASE IF EXISTS $DB_NAME" || echo "bench.sh: could not drop $DB_NAME" >&2
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bench_url is PG_URL with its database replaced by DB_NAME.
bench_url() {
	local url=$PG_URL query=
	if [[ $url == *\?* ]]; then
		query="?${url#*\?}"
		url=${url%%\?*}
	fi
	if [[ ${url#*://} == */* ]]; then
		url=${url%/*}
	fi
	echo "$url/$DB_NAME$query"
}

# start_server DIR [VAR=VALUE...] runs the server in DIR with only the environment given (and
# PATH, HOME), on a port the kernel picks, and waits until it is ready; it sets server_pid and
# server_url.
start_server() {
	local dir=$1 log=$1/server.log addr=
	shift
	(cd "$dir" && exec env -i PATH="$PATH" HOME="$HOME" ADDR=127.0.0.1:0 "$@" "$bin") >"$log" 2>&1 &
	server_pid=$!
	for _ in $(seq 300); do
		kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "the server exited during start-up"; }
		if [[ -z $addr ]]; then
			addr=$(grep -o '"msg":"serving","addr":"[^"]*"' "$log" | sed 's/.*"addr":"\([^"]*\)"/\1/' || true)
		fi
		if [[ -n $addr ]] && curl -fsS -o /dev/null "http://$addr/readyz" 2>/dev/null; then
			server_url=http://$addr/query
			return
		fi
		sleep 0.1
	done
	cat "$log" >&2
	die "the server was not ready after 30s"
}

stop_server() {
	if [[ -n $server_pid ]]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}

# cpu_ticks is the user and system CPU time the server has used, in clock ticks.
cpu_ticks() {
	local stat fields
	stat=$(<"/proc/$server_pid/stat")
	# The fields after the command name, which is in parentheses: state is the first,
	# utime the 12th and stime the 13th (14th and 15th of the whole line).
	read -r -a fields <<<"${stat##*) }"
	echo $((fields[11] + fields[12]))
}

# status_kb FIELD is a field of the server's /proc status, in kB.
status_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$server_pid/status"; }

# json_value FILE KEY prints KEY's value from mlapi bench --json's output (every key is unique).
json_value() { sed -n -E "s/^ *\"$2\": \"?([^\",]*)\"?,?$/\1/p" "$1" | head -n 1; }

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
	start_server "$dir" "$@"
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

# run_pgbench runs scripts/bench-predict.sql (logPredictionsPostgres) through pgbench, each
# transaction a batch of one prediction for a user made beforehand, holding the input, output,
# probability and model version the server wrote in the PostgreSQL run.
run_pgbench() {
	local url=$1 password
	password=$(openssl rand -hex 16)
	env -i PATH="$PATH" HOME="$HOME" DATABASE_URL="$url" "$bin" user create --username pgbench \
		--email pgbench@example.com <<<"$password" >/dev/null
	q() { psql "$url" -v ON_ERROR_STOP=1 -qAtX -c "$1"; }
	local uid gen input output prob yhat version
	uid=$(q "SELECT id FROM users WHERE username = 'pgbench'")
	gen=$(q "SELECT token_generation FROM users WHERE username = 'pgbench'")
	input=$(q "SELECT input::text FROM requests ORDER BY id LIMIT 1")
	IFS='|' read -r output prob yhat version < <(q "SELECT output::text, yhat_prob, yhat, model_version FROM responses WHERE status = 'ok' ORDER BY id LIMIT 1")
	[[ -n $uid && -n $input && -n $version ]] || die "the PostgreSQL run left no row to copy"

	# pgbench appends to an audit chain of its own, as each server process does to its own.
	local chain hash
	chain=$(q "INSERT INTO audit_chains (key_id, started_datetime) VALUES ('pgbench', now()) RETURNING id")
	hash=$(openssl rand -hex 32)

	# element is TEXT as the one element of an array literal.
	element() {
		local e=${1//\\/\\\\}
		printf '{"%s"}' "${e//\"/\\\"}"
	}
	local args=(-n -M prepared -f "$root/scripts/bench-predict.sql" -c "$CLIENTS" -j "$((CLIENTS < $(nproc) ? CLIENTS : $(nproc)))"
		-D user_ids="{$uid}" -D generations="{$gen}" -D jtis="$(element "$(openssl rand -hex 13)")"
		-D inputs="$(element "$input")" -D outputs="$(element "$output")" -D probs="{$prob}" -D yhats="{$yhat}"
		-D versions="$(element "$version")" -D statuses="{ok}" -D error_codes="{NULL}"
		-D hashes="{\\\\x$hash}" -D chain="$chain" -D head="\\x$hash")
	if ((warmup_s > 0)); then
		pgbench "${args[@]}" -T "$warmup_s" "$url" >/dev/null 2>&1
	fi
	local before
	before=$(q "SELECT count(*) FROM requests WHERE user_id = $uid")
	mkdir "$work/pgbench-log"
	pgbench "${args[@]}" -T "$duration_s" -l --log-prefix="$work/pgbench-log/tx" "$url" >"$work/pgbench.out" 2>&1 ||
		{ cat "$work/pgbench.out" >&2; die "pgbench failed"; }
	local after failed
	after=$(q "SELECT count(*) FROM requests WHERE user_id = $uid")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.out")
	[[ ${failed:-0} == 0 ]] || { cat "$work/pgbench.out" >&2; die "pgbench: $failed transactions failed"; }
	# The per-transaction log: its third field is the latency in microseconds.
	cat "$work"/pgbench-log/tx.* | awk '{ print $3 }' | sort -n >"$work/pgbench.latencies"
	local n
	n=$(wc -l <"$work/pgbench.latencies")
	{
		echo "rate=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/pgbench.out")"
		echo "p50=$(awk -v n="$n" 'NR == int(n * 0.50 + 0.999999) { printf "%.3f", $1 / 1000 }' "$work/pgbench.latencies")"
		echo "p99=$(awk -v n="$n" 'NR == int(n * 0.99 + 0.999999) { printf "%.3f", $1 / 1000 }' "$work/pgbench.latencies")"
		echo "requests=$n"
		echo "rows=$((after - before))"
	} >"$work/pgbench.result"
}

# result NAME KEY reads a figure a run wrote.
result() { sed -n "s/^$2=//p" "$work/$1.result"; }

echo "building mlapi" >&2
(cd "$root" && go build -o "$bin" .)

# The database, made for this run only.
existing=$(psql_admin -c "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '$DB_NAME'")
if [[ -n $existing || $(psql_admin -c "SELECT count(*) FROM pg_database WHERE datname = '$DB_NAME'") != 0 ]]; then
	[[ $existing == "$DB_COMMENT" ]] || die "a database $DB_NAME exists that this script did not create: not touching it"
	psql_admin -c "DROP DATABASE $DB_NAME"
fi
psql_admin -c "CREATE DATABASE $DB_NAME" -c "COMMENT ON DATABASE $DB_NAME IS '$DB_COMMENT'"
db_created=1
url=$(bench_url)

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "mlapi bench on PostgreSQL: $CLIENTS clients, $DURATION after $WARMUP" >&2
mkdir "$work/postgres"
run_mlapi postgres "$work/postgres" DATABASE_URL="$url" JWT_SECRET="$(openssl rand -hex 32)"
echo "pgbench on the same statement: $CLIENTS clients, $DURATION after $WARMUP" >&2
run_pgbench "$url"
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
PostgreSQL $pg_version on the same machine, $(go version | cut -d' ' -f3); load average before the runs $load.

| run, $clients | requests/s | vs pgbench | p50 | p99 | server CPU per request | server RSS idle / peak / after |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| pgbench: the logging statement alone, one prediction a transaction | $(rate pgbench) | 1 | $(ms pgbench p50) | $(ms pgbench p99) | – | – |
| \`mlapi bench\`, PostgreSQL | $(rate postgres) | $(ratio postgres) | $(ms postgres p50) | $(ms postgres p99) | $(result postgres cpu_us) µs | $(result postgres idle_mib) / $(result postgres peak_mib) / $(result postgres rss_mib) MiB |
| \`mlapi bench\`, SQLite | $(rate sqlite) | $(ratio sqlite) | $(ms sqlite p50) | $(ms sqlite p99) | $(result sqlite cpu_us) µs | $(result sqlite idle_mib) / $(result sqlite peak_mib) / $(result sqlite rss_mib) MiB |
EOF
