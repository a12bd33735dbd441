#!/usr/bin/env bash
# Installs what is missing, builds sharegate (Release) and runs the server; extra
# arguments go to it (see `--help`). When no Redis is configured (--redis or --config)
# and none answers at 127.0.0.1:6379, a private redis-server is started on a free port
# for this run and given the example challenge, so that a new user sees it serve at once.
# Without --spool-dir (or --config) the spool is build/run-spool.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="$PATH:/usr/local/cuda/bin"; fi
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)"

server=build/release/frontend/sharegate
if [ ! -x "$server" ]; then
  echo "run: the stratum server was not built (see cmake's output); running the verification benchmark instead"
  exec build/release/bench/sharegate-bench --backend=all --check
fi

args=("$@")
configured=no
for a in "${args[@]}"; do
  case "$a" in --redis|--redis=*|--config|--config=*) configured=yes ;; esac
done
has_pool=no
for a in "${args[@]}"; do
  case "$a" in --pool-address|--pool-address=*|--config|--config=*) has_pool=yes ;; esac
done
# The spool: the installed service's is /var/lib/sharegate/spool (the package owns that
# directory); a run from the source tree keeps its own under build/, kept across runs so
# that a restart replays what it holds.
has_spool=no
for a in "${args[@]}"; do
  case "$a" in --spool-dir|--spool-dir=*|--config|--config=*) has_spool=yes ;; esac
done
if [ "$has_spool" = no ]; then
  mkdir -p build/run-spool
  args+=(--spool-dir "$PWD/build/run-spool")
fi
if [ "$has_pool" = no ]; then
  # The seed's example pool; a real pool passes its own minting address.
  echo "run: no --pool-address given; using the example 0x1b7bfB694eE51913c347971c7090a74AEFbd41f6"
  args+=(--pool-address 0x1b7bfB694eE51913c347971c7090a74AEFbd41f6)
fi

if [ "$configured" = no ] && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  # A free loopback port: one nothing answers on.
  port=""
  for _ in $(seq 100); do
    candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
  done
  [ -n "$port" ] || { echo "run: found no free port for a private Redis" >&2; exit 1; }
  dir=$(mktemp -d -t sharegate-redis.XXXXXX)
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  # The example challenge of docs/protocol.md, stored JSON-encoded as the token watcher does.
  redis-cli -p "$port" set challengeNumber '"0x6770629a6ede9af78856c91eab295779d294328de910c8a85b174dd85f843b3e"' >/dev/null
  redis-cli -p "$port" set ethBlockNumber 5600000 >/dev/null
  echo "run: no Redis at 127.0.0.1:6379; started a private redis-server on port $port (data in $dir, removed on exit)"
  args+=(--redis "127.0.0.1:$port")
  "$server" "${args[@]}"
  exit $?
fi
exec "$server" "${args[@]}"
