# Shared by scripts/bench.sh and scripts/bench-floor.sh; sourced, not run. The sourcing script
# sets, before sourcing: BENCH_SCRIPT (its name, for messages), PG_URL, DB_NAME and DB_COMMENT;
# and, before calling run_pgbench: CLIENTS, warmup_s and duration_s.

die() { echo "$BENCH_SCRIPT: $*" >&2; exit 1; }

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


root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mlapi-bench.XXXXXX")
bin=$work/mlapi
# server_cmd is what start_server runs: mlapi unless a script says otherwise.
server_cmd=("$bin")
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
	(cd "$dir" && exec env -i PATH="$PATH" HOME="$HOME" ADDR=127.0.0.1:0 "$@" "${server_cmd[@]}") >"$log" 2>&1 &
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
# create_database makes DB_NAME for this run only, dropping one a failed run of this script left
# behind, and sets url to it.
create_database() {
	local existing
	existing=$(psql_admin -c "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '$DB_NAME'")
	if [[ -n $existing || $(psql_admin -c "SELECT count(*) FROM pg_database WHERE datname = '$DB_NAME'") != 0 ]]; then
		[[ $existing == "$DB_COMMENT" ]] || die "a database $DB_NAME exists that this script did not create: not touching it"
		psql_admin -c "DROP DATABASE $DB_NAME"
	fi
	psql_admin -c "CREATE DATABASE $DB_NAME" -c "COMMENT ON DATABASE $DB_NAME IS '$DB_COMMENT'"
	db_created=1
	url=$(bench_url)
}

# q SQL runs a statement on the run's database and prints its rows.
q() { psql "$url" -v ON_ERROR_STOP=1 -qAtX -c "$1"; }

# prepare_pgbench makes pgbench's user and audit chain on the run's database and sets
# pgbench_args and pgbench_uid: scripts/bench-predict.sql (logPredictionsPostgres), each
# transaction a batch of one prediction holding the input, output, probability and model version
# the server wrote in an earlier run, which must have left a row.
prepare_pgbench() {
	local password
	password=$(openssl rand -hex 16)
	env -i PATH="$PATH" HOME="$HOME" DATABASE_URL="$url" "$bin" user create --username pgbench \
		--email pgbench@example.com <<<"$password" >/dev/null
	local gen input output prob yhat version
	pgbench_uid=$(q "SELECT id FROM users WHERE username = 'pgbench'")
	gen=$(q "SELECT token_generation FROM users WHERE username = 'pgbench'")
	input=$(q "SELECT input::text FROM requests ORDER BY id LIMIT 1")
	IFS='|' read -r output prob yhat version < <(q "SELECT output::text, yhat_prob, yhat, model_version FROM responses WHERE status = 'ok' ORDER BY id LIMIT 1")
	[[ -n $pgbench_uid && -n $input && -n $version ]] || die "the PostgreSQL run left no row to copy"

	# pgbench appends to an audit chain of its own, as each server process does to its own.
	local chain hash
	chain=$(q "INSERT INTO audit_chains (key_id, started_datetime) VALUES ('pgbench', now()) RETURNING id")
	hash=$(openssl rand -hex 32)

	# element is TEXT as the one element of an array literal.
	element() {
		local e=${1//\\/\\\\}
		printf '{"%s"}' "${e//\"/\\\"}"
	}
	pgbench_args=(-n -M prepared -f "$root/scripts/bench-predict.sql" -c "$CLIENTS" -j "$((CLIENTS < $(nproc) ? CLIENTS : $(nproc)))"
		-D user_ids="{$pgbench_uid}" -D generations="{$gen}" -D jtis="$(element "$(openssl rand -hex 13)")"
		-D inputs="$(element "$input")" -D outputs="$(element "$output")" -D probs="{$prob}" -D yhats="{$yhat}"
		-D versions="$(element "$version")" -D statuses="{ok}" -D error_codes="{NULL}"
		-D hashes="{\\\\x$hash}" -D chain="$chain" -D head="\\x$hash")
}

# run_pgbench NAME runs pgbench as prepare_pgbench set it up, after a warm-up, and writes its
# figures to $work/NAME.result: rate, p50 and p99 (ms), the transactions and the rows they logged.
run_pgbench() {
	local name=$1
	if ((warmup_s > 0)); then
		pgbench "${pgbench_args[@]}" -T "$warmup_s" "$url" >/dev/null 2>&1
	fi
	local before
	before=$(q "SELECT count(*) FROM requests WHERE user_id = $pgbench_uid")
	rm -rf "$work/$name-log"
	mkdir "$work/$name-log"
	pgbench "${pgbench_args[@]}" -T "$duration_s" -l --log-prefix="$work/$name-log/tx" "$url" >"$work/$name.out" 2>&1 ||
		{ cat "$work/$name.out" >&2; die "pgbench failed"; }
	local after failed
	after=$(q "SELECT count(*) FROM requests WHERE user_id = $pgbench_uid")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/$name.out")
	[[ ${failed:-0} == 0 ]] || { cat "$work/$name.out" >&2; die "pgbench: $failed transactions failed"; }
	# The per-transaction log: its third field is the latency in microseconds.
	cat "$work/$name-log"/tx.* | awk '{ print $3 }' | sort -n >"$work/$name.latencies"
	local n
	n=$(wc -l <"$work/$name.latencies")
	{
		echo "rate=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/$name.out")"
		echo "p50=$(awk -v n="$n" 'NR == int(n * 0.50 + 0.999999) { printf "%.3f", $1 / 1000 }' "$work/$name.latencies")"
		echo "p99=$(awk -v n="$n" 'NR == int(n * 0.99 + 0.999999) { printf "%.3f", $1 / 1000 }' "$work/$name.latencies")"
		echo "requests=$n"
		echo "rows=$((after - before))"
	} >"$work/$name.result"
}

# result NAME KEY reads a figure a run wrote.
result() { sed -n "s/^$2=//p" "$work/$1.result"; }
