#!/usr/bin/env bash
# The main job on embedded defaults (no external service needed):
#   set up, fetch the offline default model, materialize the default asset graph
#   (models → corpus → analyses → embeddings → index → evaluation → backup), then run the
#   Dagster UI + daemon, the positioning API and the MLflow UI on 127.0.0.1 until Ctrl-C.
# A second run reuses what is already there. Ports: DAGSTER_PORT, API_PORT, MLFLOW_PORT.
# `bash scripts/main.sh --no-serve` stops after the materialization.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

bash scripts/setup.sh
# shellcheck source=scripts/dagster-env.sh
source scripts/dagster-env.sh
export MUGPOS_HOME="${MUGPOS_HOME:-$ROOT/.mugpos}"
mkdir -p "$MUGPOS_HOME"

# A development JWT secret, made once and kept in the (git-ignored) home, mode 0600.
if [ -z "${MUGPOS_JWT_SECRET:-}" ]; then
  MUGPOS_JWT_SECRET="$(.venv/bin/mugpos token secret --file "$MUGPOS_HOME/dev-jwt-secret")"
  export MUGPOS_JWT_SECRET
fi

echo "==> fetching the offline default model"
.venv/bin/mugpos models fetch
.venv/bin/python -m mugpos_assets.bootstrap || echo "!! some steps failed: open the Dagster UI to see why"

if [ "${1:-}" = "--no-serve" ]; then
  exit 0
fi

DAGSTER_PORT="${DAGSTER_PORT:-3000}"
API_PORT="${API_PORT:-8000}"
MLFLOW_PORT="${MLFLOW_PORT:-5000}"
LOGS="$MUGPOS_HOME/logs"
mkdir -p "$LOGS"

set -m  # each service in its own process group, so Ctrl-C can stop it and its children
pids=()
start() {
  local name="$1"
  shift
  "$@" > "$LOGS/$name.log" 2>&1 &
  pids+=("$!")
  echo "    $name (pid $!, log $LOGS/$name.log)"
}
stop() {
  trap - INT TERM EXIT
  echo
  echo "==> stopping"
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  echo "==> stopped"
}
trap stop INT TERM EXIT

echo "==> starting services on 127.0.0.1"
start dagster .venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p "$DAGSTER_PORT"
start api .venv/bin/mugpos serve --host 127.0.0.1 --port "$API_PORT"
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false start mlflow .venv/bin/mlflow server \
  --backend-store-uri "sqlite:///$MUGPOS_HOME/mlflow.db" \
  --default-artifact-root "$MUGPOS_HOME/mlartifacts" \
  --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1

wait_for() {
  local name="$1" url="$2"
  for _ in $(seq 1 180); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then echo "    $name answers"; return 0; fi
    sleep 1
  done
  echo "!! $name did not answer at $url: see $LOGS/$name.log" >&2
  return 1
}
wait_for api "http://127.0.0.1:$API_PORT/readyz" || true
wait_for dagster "http://127.0.0.1:$DAGSTER_PORT/server_info" || true
wait_for mlflow "http://127.0.0.1:$MLFLOW_PORT/health" || true

TOKEN="$(.venv/bin/mugpos token create --scope positions --scope rules:write --scope admin --ttl 7d --subject dev)"
cat <<EOF

  Studio (web)   http://127.0.0.1:$API_PORT/
  Dagster UI     http://127.0.0.1:$DAGSTER_PORT
  API docs       http://127.0.0.1:$API_PORT/docs
  MLflow UI      http://127.0.0.1:$MLFLOW_PORT

  Development token (7 days):
    export MUGPOS_TOKEN=$TOKEN

  Position the mug in a sample photo, then see the picture:
    curl -s -H "Authorization: Bearer \$MUGPOS_TOKEN" -F image=@$MUGPOS_HOME/inbox/photo-coffee.jpg \\
      http://127.0.0.1:$API_PORT/v1/positions | head -c 600; echo
    curl -s -H "Authorization: Bearer \$MUGPOS_TOKEN" -F image=@$MUGPOS_HOME/inbox/photo-coffee.jpg \\
      "http://127.0.0.1:$API_PORT/v1/positions?render=png" -o annotated.png

  Ctrl-C stops everything.
EOF
wait
