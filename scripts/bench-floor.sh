#!/usr/bin/env bash
# Measures predict three ways, with CLIENTS clients (1 by default), in alternating rounds in one
# run on this machine, so that the machine's drift over the run weighs on all three alike:
#
#   1. pgbench: the statement a prediction sends to PostgreSQL alone (scripts/bench-predict.sql,
#      as scripts/bench.sh runs it);
#   2. benchfloor (cmd/benchfloor): a bare net/http server that writes the same prediction
#      through mlapi's own log writer and answers, nothing else, under wrk;
#   3. mlapi on PostgreSQL: the predict mutation with a token, under wrk;
#
# then prints each round's figures and, over the rounds, the median of each and of the rounds'
# differences: what any Go HTTP server in front of the database adds on this machine
# (2 less 1), and what mlapi adds to that (3 less 2), in latency (p50) and in the server's CPU
# time per request. Each round runs the three in a different order.
#
#   CLIENTS=1 ROUNDS=5 DURATION=10s WARMUP=2s PG_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
#     bash scripts/bench-floor.sh
#
# The CPU time is the server process's (user and system, from /proc) over the measured window,
# divided by the answers wrk counted in it. With one client it is mostly the cost of going idle
# and waking between requests; with 16 it is what the server costs a prediction under load.
#
# MLAPI_ENV and FLOOR_ENV add environment to the two servers, as VAR=VALUE words (for example
# MLAPI_ENV='GOMAXPROCS=1'), to measure a setting's effect beside the same pgbench. The script
# creates a database of its own, mlapi_floor, and drops it at the end. Needs go,
# pgbench and psql (Debian: apt-get install postgresql-client), wrk, curl, openssl.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
CLIENTS=${CLIENTS:-1}
DB_NAME=mlapi_floor
DB_COMMENT='created by mlapi scripts/bench-floor.sh'

BENCH_SCRIPT=bench-floor.sh
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

for tool in go pgbench psql wrk curl openssl; do
	command -v "$tool" >/dev/null || die "$tool is missing (pgbench and psql: apt-get install postgresql-client; wrk: apt-get install wrk)"
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$ROUNDS: want a positive whole number"
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || die "CLIENTS=$CLIENTS: want a positive whole number"
wrk_threads=$((CLIENTS < 2 ? CLIENTS : 2))
clients="$CLIENTS client"
((CLIENTS == 1)) || clients+=s
duration_s=$(seconds "$DURATION")
warmup_s=$(seconds "$WARMUP")
((duration_s > 0)) || die "DURATION=$DURATION: want more than 0"

# The seed example, as mlapi bench sends it.
predict_body='{"query":"mutation($in: PredictInput!) { predict(input: $in) { id yhatProb yhat } }","variables":{"in":{"age":25,"creatininePhosphokinase":1000,"ejectionFraction":35,"highBloodPressure":false,"platelets":500000,"serumCreatinine":8,"serumSodium":135,"sex":true}}}'

# wrk_script TOKEN writes the wrk script that posts the seed example (with TOKEN, if any) and
# prints, when done, the figures the rounds need. Only the median: the tail is mlapi bench's to
# measure (scripts/bench.sh), and wrk's p99 for one connection now and then exceeded what the
# run's length allows.
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
	io.write(string.format("p50_us=%d\nrequests=%d\nrate=%.0f\nbad=%d\n", latency:percentile(50),
		summary.requests, summary.requests / summary.duration * 1e6,
		e.status + e.connect + e.read + e.write + e.timeout))
end
EOF
}

# run_wrk NAME USER runs wrk with CLIENTS connections against server_url after a warm-up, checks
# that every answer was a 2xx and that USER's log grew by a row of status ok per answer (and at
# most CLIENTS more, the requests in flight when wrk stopped), and writes NAME's figures to
# $work/NAME.result, the server's CPU time per answer among them.
run_wrk() {
	local name=$1 user=$2 uid before after failed
	uid=$(q "SELECT id FROM users WHERE username = '$user'")
	if ((warmup_s > 0)); then
		wrk -t"$wrk_threads" -c"$CLIENTS" -d"${warmup_s}s" -s "$work/predict.lua" "$server_url" >/dev/null
	fi
	before=$(q "SELECT count(*) FROM requests WHERE user_id = $uid")
	failed=$(q "SELECT count(*) FROM responses WHERE user_id = $uid AND status <> 'ok'")
	local ticks_before ticks_after
	ticks_before=$(cpu_ticks)
	wrk -t"$wrk_threads" -c"$CLIENTS" -d"${duration_s}s" -s "$work/predict.lua" "$server_url" |
		grep -E '^[a-z0-9_]+=[0-9]+$' >"$work/$name.wrk"
	ticks_after=$(cpu_ticks)
	after=$(q "SELECT count(*) FROM requests WHERE user_id = $uid")
	local requests bad
	requests=$(sed -n 's/^requests=//p' "$work/$name.wrk")
	bad=$(sed -n 's/^bad=//p' "$work/$name.wrk")
	((bad == 0)) || die "$name: $bad requests failed or were refused"
	((after - before >= requests && after - before <= requests + CLIENTS)) ||
		die "$name: $requests answers but $((after - before)) rows logged"
	[[ $(q "SELECT count(*) FROM responses WHERE user_id = $uid AND status <> 'ok'") == "$failed" ]] ||
		die "$name: some predictions were logged as refused"
	{
		echo "p50=$(awk -v us="$(sed -n 's/^p50_us=//p' "$work/$name.wrk")" 'BEGIN { printf "%.3f", us / 1000 }')"
		echo "requests=$requests"
		echo "rate=$(sed -n 's/^rate=//p' "$work/$name.wrk")"
		echo "cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v c="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.1f", t / c * 1e6 / n }')"
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
		echo "round $round of $ROUNDS: $arm, $clients, $DURATION after $WARMUP" >&2
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

# values ARM KEY prints KEY over ARM's rounds, one a line; gaps A B KEY the differences of A's
# KEY less B's, round by round (the two measured minutes apart, in the same conditions).
values() { for ((r = 1; r <= ROUNDS; r++)); do result "$1.$r" "$2"; done; }
gaps() { for ((r = 1; r <= ROUNDS; r++)); do awk -v a="$(result "$1.$r" "$3")" -v b="$(result "$2.$r" "$3")" 'BEGIN { print a - b }'; done; }
# median reads numbers, one a line, and prints their median with PRECISION decimals (3 unless
# given); span their least and greatest.
median() { sort -g | awk -v p="${1:-3}" '{ v[NR] = $1 } END { printf "%.*f", p, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
span() { sort -g | awk -v p="${1:-2}" 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.*f to %.*f", p, lo, p, hi }'; }
# gap A B is the median of gaps A B in p50 and their span, in ms; cpu_gap A B the same in CPU
# time per request, in µs.
gap() { printf '%+.2f ms (%s)' "$(gaps "$1" "$2" p50 | median)" "$(gaps "$1" "$2" p50 | span)"; }
cpu_gap() { printf '%+.0f µs (%s)' "$(gaps "$1" "$2" cpu_us | median 1)" "$(gaps "$1" "$2" cpu_us | span 0)"; }
# figure ARM is ARM's median p50 and its span; rate ARM its median requests per second; cpu ARM
# its median CPU time per request and its span.
figure() { printf '%s ms (%s)' "$(values "$1" p50 | median)" "$(values "$1" p50 | span)"; }
rate() { values "$1" rate | median 0; }
cpu() { printf '%.0f µs (%s)' "$(values "$1" cpu_us | median 1)" "$(values "$1" cpu_us | span 0)"; }

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
pg_version=$(psql_admin -c "SHOW server_version" | cut -d' ' -f1)

echo
echo "| round | pgbench p50, requests/s | benchfloor p50, requests/s, CPU | mlapi p50, requests/s, CPU |"
echo "| ---: | ---: | ---: | ---: |"
round_figures() {
	printf '%s ms, %.0f/s' "$(result "$1" p50)" "$(result "$1" rate)"
	[[ -z $(result "$1" cpu_us) ]] || printf ', %s µs' "$(result "$1" cpu_us)"
}
for ((r = 1; r <= ROUNDS; r++)); do
	echo "| $r | $(round_figures "pgbench.$r") | $(round_figures "floor.$r") | $(round_figures "mlapi.$r") |"
done
cat <<EOF

$(date -u +%Y-%m-%d), $(nproc) CPUs ($cpu_model); $clients, $ROUNDS rounds of $DURATION after a $WARMUP warm-up each;
PostgreSQL $pg_version on the same machine, $(go version | cut -d' ' -f3); load average before the runs $load$settings.

Medians over the rounds, with the least and the greatest; a difference is the median of the
rounds' differences. The servers run under wrk; the CPU time is the server's, per answer.

| $clients | p50 | p50 over pgbench | p50 over benchfloor | requests/s | server CPU per request | CPU over benchfloor |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| pgbench: the logging statement alone | $(figure pgbench) | – | – | $(rate pgbench) | – | – |
| benchfloor: net/http and the log write, nothing else | $(figure floor) | $(gap floor pgbench) | – | $(rate floor) | $(cpu floor) | – |
| mlapi, PostgreSQL | $(figure mlapi) | $(gap mlapi pgbench) | $(gap mlapi floor) | $(rate mlapi) | $(cpu mlapi) | $(cpu_gap mlapi floor) |
EOF
