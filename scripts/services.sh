#!/usr/bin/env bash
# Make sure the local services the tests talk to answer (Redis); start them if not.
set -euo pipefail
if command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "==> redis answers on 127.0.0.1:6379"
elif command -v redis-server >/dev/null 2>&1; then
  echo "==> starting redis on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
else
  echo "==> redis-server not installed: Redis-backed tests will report it" >&2
fi
