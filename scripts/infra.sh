#!/usr/bin/env bash
# Local infrastructure without Docker: a real single-node Apache Kafka broker
# (KRaft) from Maven Central, plus checks that Postgres and Redis answer.
#   infra.sh up      start the broker (idempotent), create the database, check Postgres and Redis
#   infra.sh down    stop the broker this script started
#   infra.sh status  say what is running
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache/kafka"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$root/infra/kafka/pom.xml")"
libs="$cache/$version/libs"
data="$cache/data"
pidfile="$cache/broker.pid"
logfile="$cache/broker.log"
heap="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"

say() { echo "infra: $*" >&2; }
port_open() { (echo >"/dev/tcp/127.0.0.1/9092") >/dev/null 2>&1; }
our_pid() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"; }

resolve_jars() {
  [ -f "$libs/.complete" ] && return
  command -v mvn >/dev/null || { say "Maven (mvn) is required to fetch Apache Kafka $version (or use docker compose up)"; exit 1; }
  command -v java >/dev/null || { say "Java 17+ is required to run Apache Kafka (or use docker compose up)"; exit 1; }
  say "resolving Apache Kafka $version from Maven Central"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -f "$root/infra/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

start_broker() {
  if pid="$(our_pid)"; then say "Kafka broker already running (pid $pid)"; return; fi
  if port_open; then say "a Kafka broker is already listening on 127.0.0.1:9092; using it"; return; fi
  mkdir -p "$data"
  sed "s#@LOG_DIR@#$data#" "$root/infra/kafka/server.properties" >"$cache/server.properties"
  if [ ! -f "$data/meta.properties" ]; then
    cluster_id="$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null)"
    java -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$cache/server.properties" >"$cache/format.log" 2>&1
  fi
  say "starting Apache Kafka $version on 127.0.0.1:9092 (log: ${logfile#"$root/"})"
  # setsid: the broker outlives this script and ignores the terminal's Ctrl-C;
  # scripts/infra.sh down stops it.
  # shellcheck disable=SC2086
  setsid java $heap -XX:+UseSerialGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$libs/*" kafka.Kafka "$cache/server.properties" >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

stop_broker() {
  local pid
  if ! pid="$(our_pid)"; then say "no Kafka broker started by this project is running"; rm -f "$pidfile"; return; fi
  say "stopping Kafka broker (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then say "broker did not stop in 30 s; killing it"; kill -KILL "$pid"; fi
  rm -f "$pidfile"
  say "Kafka broker stopped"
}

case "${1:-}" in
  up)
    # The jars also serve the brokers that tests start of their own, so they are
    # resolved even when a broker is already listening.
    resolve_jars
    start_broker
    node "$root/scripts/infra-check.mjs"
    ;;
  down) stop_broker ;;
  status)
    if pid="$(our_pid)"; then say "Kafka broker running (pid $pid)"; elif port_open; then say "a Kafka broker not started here listens on 9092"; else say "Kafka broker not running"; fi
    ;;
  *) echo "usage: infra.sh up|down|status" >&2; exit 2 ;;
esac
