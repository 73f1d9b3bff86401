#!/usr/bin/env bash
# Measures a lone client's latency three ways, in alternating rounds in one run on this machine,
# so that the machine's drift over the run weighs on all three alike:
#
#   1. pgbench: the statement a prediction sends to PostgreSQL alone (scripts/bench-predict.sql,
#      as scripts/bench.sh runs it), one client;
#   2. benchfloor (cmd/benchfloor): a bare net/http server that writes the same prediction
#      through mlapi's own log writer and answers, nothing else, under wrk with one connection;
#   3. mlapi on PostgreSQL: the predict mutation with a token, under wrk with one connection;
#
# then prints each round's p50 and, over the rounds, the median of each and of the rounds'
# differences: what any Go HTTP server in front of the database adds on this machine
# (2 less 1), and what mlapi adds to that (3 less 2). Each round runs the three in a different
# order.
#
#   ROUNDS=5 DURATION=10s WARMUP=2s PG_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
#     bash scripts/bench-latency.sh
#
# MLAPI_ENV and FLOOR_ENV add environment to the two servers, as VAR=VALUE words (for example
# MLAPI_ENV='GOMAXPROCS=1'), to measure a setting's effect beside the same pgbench. The script
# creates a database of its own, mlapi_latency, and drops it at the end. Needs go,
# pgbench and psql (Debian: apt-get install postgresql-client), wrk, curl, openssl.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DB_NAME=mlapi_latency
DB_COMMENT='created by mlapi scripts/bench-latency.sh'

BENCH_SCRIPT=bench-latency.sh
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

for tool in go pgbench psql wrk curl openssl; do
	command -v "$tool" >/dev/null || die "$tool is missing (pgbench and psql: apt-get install postgresql-client; wrk: apt-get install wrk)"
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$ROUNDS: want a positive whole number"
CLIENTS=1
duration_s=$(seconds "$DURATION")
warmup_s=$(seconds "$WARMUP")
((duration_s > 0)) || die "DURATION=$DURATION: want more than 0"

# The seed example, as mlapi bench sends it.
predict_body='{"query":"mutation($in: PredictInput!) { predict(input: $in) { id yhatProb yhat } }","variables":{"in":{"age":25,"creatininePhosphokinase":1000,"ejectionFraction":35,"highBloodPressure":false,"platelets":500000,"serumCreatinine":8,"serumSodium":135,"sex":true}}}'

# wrk_script TOKEN writes the wrk script that posts the seed example (with TOKEN, if any) and
# prints, when done, the figures the rounds need. Only the median: the tail of a single
# connection's few thousand requests is mlapi bench's to measure (scripts/bench.sh), and wrk's
# p99 here now and then exceeded what the run's length allows.
wrk_script() {
	local auth=
	[[ -z $1 ]] || auth="wrk.headers[\"Authorization\"] = \"Bearer $1\""
	cat >"$work/predict.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
$auth
wrk.body = [[$predict_body]]
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("p50_us=%d\nrequests=%d\nbad=%d\n", latency:percentile(50),
		summary.requests, e.status + e.connect + e.read + e.write + e.timeout))
end
EOF
}

# run_wrk NAME USER runs wrk with one connection against server_url after a warm-up, checks that
# every answer was a 2xx and that USER's log grew by a row of status ok per answer (and at most
# one more, the request in flight when wrk stopped), and writes NAME's figures to
# $work/NAME.result.
run_wrk() {
	local name=$1 user=$2 uid before after failed
	uid=$(q "SELECT id FROM users WHERE username = '$user'")
	if ((warmup_s > 0)); then
		wrk -t1 -c1 -d"${warmup_s}s" -s "$work/predict.lua" "$server_url" >/dev/null
	fi
	before=$(q "SELECT count(*) FROM requests WHERE user_id = $uid")
	failed=$(q "SELECT count(*) FROM responses WHERE user_id = $uid AND status <> 'ok'")
	wrk -t1 -c1 -d"${duration_s}s" -s "$work/predict.lua" "$server_url" | grep -E '^[a-z0-9_]+=[0-9]+$' >"$work/$name.wrk"
	after=$(q "SELECT count(*) FROM requests WHERE user_id = $uid")
	local requests bad
	requests=$(sed -n 's/^requests=//p' "$work/$name.wrk")
	bad=$(sed -n 's/^bad=//p' "$work/$name.wrk")
	((bad == 0)) || die "$name: $bad requests failed or were refused"
	((after - before >= requests && after - before <= requests + 1)) ||
		die "$name: $requests answers but $((after - before)) rows logged"
	[[ $(q "SELECT count(*) FROM responses WHERE user_id = $uid AND status <> 'ok'") == "$failed" ]] ||
		die "$name: some predictions were logged as refused"
	{
		echo "p50=$(awk -v us="$(sed -n 's/^p50_us=//p' "$work/$name.wrk")" 'BEGIN { printf "%.3f", us / 1000 }')"
		echo "requests=$requests"
	} >"$work/$name.result"
}

secret=$(openssl rand -hex 32)
password=$(openssl rand -hex 16)

# run_mlapi NAME starts mlapi on the run's database, logs in and runs wrk against it.
run_mlapi() {
	server_cmd=("$bin")
	# shellcheck disable=SC2086 # MLAPI_ENV is words
	start_server "$work/mlapi-server" DATABASE_URL="$url" JWT_SECRET="$secret" ${MLAPI_ENV:-}
	local token
	token=$(curl -fsS "$server_url" -H 'Content-Type: application/json' \
		-d "{\"query\":\"mutation { token(input: {username: \\\"mlapi-bench\\\", password: \\\"$password\\\"}) { token } }\"}" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
	[[ -n $token ]] || die "could not log in to mlapi"
	wrk_script "$token"
	run_wrk "$1" mlapi-bench
	stop_server
}

# run_floor NAME starts benchfloor on the run's database and runs wrk against it.
run_floor() {
	server_cmd=("$work/benchfloor" -user benchfloor)
	# shellcheck disable=SC2086 # FLOOR_ENV is words
	start_server "$work/floor-server" DATABASE_URL="$url" ${FLOOR_ENV:-}
	wrk_script ""
	run_wrk "$1" benchfloor
	stop_server
}

echo "building mlapi and benchfloor" >&2
(cd "$root" && go build -o "$bin" . && go build -o "$work/benchfloor" ./cmd/benchfloor)
create_database
mkdir "$work/mlapi-server" "$work/floor-server"
for user in mlapi-bench benchfloor; do
	env -i PATH="$PATH" HOME="$HOME" DATABASE_URL="$url" "$bin" user create --username "$user" \
		--email "$user@example.com" <<<"$password" >/dev/null
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
settings=
[[ -z ${MLAPI_ENV:-} ]] || settings+="; mlapi with $MLAPI_ENV"
[[ -z ${FLOOR_ENV:-} ]] || settings+="; benchfloor with $FLOOR_ENV"
# The first mlapi run leaves the row pgbench copies.
arms=(mlapi pgbench floor)
for ((round = 1; round <= ROUNDS; round++)); do
	for ((i = 0; i < 3; i++)); do
		arm=${arms[(round - 1 + i) % 3]}
		echo "round $round of $ROUNDS: $arm, 1 client, $DURATION after $WARMUP" >&2
		case $arm in
		mlapi) run_mlapi "mlapi.$round" ;;
		floor) run_floor "floor.$round" ;;
		pgbench)
			[[ -n ${pgbench_uid:-} ]] || prepare_pgbench
			run_pgbench "pgbench.$round"
			;;
		esac
	done
done

# values ARM KEY prints KEY over ARM's rounds, one a line; gaps A B the differences of A's p50
# less B's, round by round (the two measured minutes apart, in the same conditions).
values() { for ((r = 1; r <= ROUNDS; r++)); do result "$1.$r" "$2"; done; }
gaps() { for ((r = 1; r <= ROUNDS; r++)); do awk -v a="$(result "$1.$r" p50)" -v b="$(result "$2.$r" p50)" 'BEGIN { print a - b }'; done; }
# median reads numbers, one a line, and prints their median; span their least and greatest.
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
span() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f to %.2f", lo, hi }'; }
# gap A B is the median of gaps A B and their span, in ms.
gap() { printf '%+.2f ms (%s)' "$(gaps "$1" "$2" | median)" "$(gaps "$1" "$2" | span)"; }
# figure ARM is ARM's median p50 and its span.
figure() { printf '%s ms (%s)' "$(values "$1" p50 | median)" "$(values "$1" p50 | span)"; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
pg_version=$(psql_admin -c "SHOW server_version" | cut -d' ' -f1)

echo
echo "| round | pgbench p50 (answers) | benchfloor p50 (answers) | mlapi p50 (answers) |"
echo "| ---: | ---: | ---: | ---: |"
round_figures() { echo "$(result "$1" p50) ms ($(result "$1" requests))"; }
for ((r = 1; r <= ROUNDS; r++)); do
	echo "| $r | $(round_figures "pgbench.$r") | $(round_figures "floor.$r") | $(round_figures "mlapi.$r") |"
done
cat <<EOF

$(date -u +%Y-%m-%d), $(nproc) CPUs ($cpu); 1 client, $ROUNDS rounds of $DURATION after a $WARMUP warm-up each;
PostgreSQL $pg_version on the same machine, $(go version | cut -d' ' -f3); load average before the runs $load$settings.

Medians over the rounds, with the least and the greatest; a difference is the median of the
rounds' differences.

| 1 client | p50 | p50 over pgbench | p50 over benchfloor |
| --- | ---: | ---: | ---: |
| pgbench: the logging statement alone | $(figure pgbench) | – | – |
| benchfloor: net/http and the log write, nothing else (wrk) | $(figure floor) | $(gap floor pgbench) | – |
| mlapi, PostgreSQL (wrk) | $(figure mlapi) | $(gap mlapi pgbench) | $(gap mlapi floor) |
EOF
