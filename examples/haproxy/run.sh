#!/usr/bin/env bash
# The HAProxy worked example end to end, then the same chaos against the reference gateway:
#
#   1. write haproxy.cfg from haproxy-chaos.yaml (providers on BASE_PORT+1..., HAProxy on
#      BASE_PORT, its /metrics and /stats on BASE_PORT+100);
#   2. battletui replay haproxy-chaos.yaml --base-port BASE_PORT, with HAProxy started in
#      the foreground as soon as the lab's providers listen, stopped when the replay ends;
#   3. stop HAProxy; battletui replay reference-chaos.yaml --base-port BASE_PORT;
#   4. copy both sessions' report.md, result.json, scenario.yaml and lab.json, plus
#      haproxy.cfg and what HAProxy logged, into reports/haproxy/ and reports/reference/.
#
# Usage: examples/haproxy/run.sh            (BASE_PORT=8600, battletui from .venv or PATH)
# Exit status: 0 when both replays ran to the end (whatever their verdicts: the point is the
# comparison), otherwise the first failing replay's exit code (3: a port is taken, ...).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
base_port="${BASE_PORT:-8600}"
if [ -x "$root/.venv/bin/battletui" ]; then
    battletui="${BATTLETUI:-$root/.venv/bin/battletui}"
    python="${PYTHON:-$root/.venv/bin/python}"
else
    battletui="${BATTLETUI:-battletui}"
    python="${PYTHON:-python3}"
fi
if ! command -v haproxy >/dev/null; then
    echo "run.sh: haproxy is not installed (apt-get install haproxy)" >&2
    exit 2
fi

work="$(mktemp -d)"
haproxy_pid=""
stop_haproxy() {
    if [ -n "$haproxy_pid" ]; then
        kill "$haproxy_pid" 2>/dev/null || true
        wait "$haproxy_pid" 2>/dev/null || true
        haproxy_pid=""
    fi
}
trap 'stop_haproxy; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# 1. The configuration; HAProxy starts once the lab's providers listen (step 2), as a
#    gateway in production starts with its upstreams there: started earlier, its first
#    checks would mark every server DOWN and the first second of load would get 503s.
(cd "$root" && "$python" examples/haproxy/make_config.py examples/haproxy/haproxy-chaos.yaml \
    --base-port "$base_port") > "$work/haproxy.cfg"
haproxy -c -q -f "$work/haproxy.cfg"
provider_ports="$(sed -n 's/^    server [^ ]* 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/haproxy.cfg")"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 2. The chaos through HAProxy: the replay starts the lab on BASE_PORT+1..., then waits
#    (up to 5 s) for its target; HAProxy runs in the foreground (-db) and each line it says
#    (a server going DOWN or UP, and why) gets a UTC time stamp.
echo "== through HAProxy (127.0.0.1:$base_port)" >&2
"$battletui" replay "$here/haproxy-chaos.yaml" --base-port "$base_port" \
    --sessions "$work/sessions" &
replay_pid=$!
for port in $provider_ports; do
    until listening "$port"; do
        kill -0 "$replay_pid" 2>/dev/null || break 2
        sleep 0.05
    done
done
haproxy -db -f "$work/haproxy.cfg" \
    2> >(while IFS= read -r line; do echo "$(date -u +%T.%3N) $line"; done > "$work/haproxy.log") &
haproxy_pid=$!
status=0
wait "$replay_pid" || status=$?
haproxy_status=$status
stop_haproxy
sleep 0.2  # the time-stamping loop writes HAProxy's last lines

# 3. The same chaos through the reference gateway, on the same ports.
echo "== through the reference gateway (127.0.0.1:$base_port)" >&2
status=0
"$battletui" replay "$here/reference-chaos.yaml" --base-port "$base_port" \
    --sessions "$work/sessions" || status=$?
reference_status=$status

# 4. Both reports side by side.
copy() {  # copy SESSION_NAME DEST
    local folder
    folder="$(ls -d "$work/sessions/"*-"$1" | tail -n 1)"
    rm -rf "${here:?}/reports/$2"
    mkdir -p "$here/reports/$2"
    for file in report.md result.json scenario.yaml lab.json; do
        if [ -f "$folder/$file" ]; then cp "$folder/$file" "$here/reports/$2/"; fi
    done
}
copy haproxy-chaos haproxy
cp "$work/haproxy.cfg" "$work/haproxy.log" "$here/reports/haproxy/"
copy reference-chaos reference
echo "HAProxy:   exit $haproxy_status  $here/reports/haproxy/report.md"
echo "reference: exit $reference_status  $here/reports/reference/report.md"
for code in "$haproxy_status" "$reference_status"; do
    case "$code" in 0 | 1 | 4) ;; *) exit "$code" ;; esac
done
