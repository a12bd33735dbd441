#!/usr/bin/env bash
# An invalid-digest flood with an honest miner beside it, closed loop: how fast the
# server answers a flood, and what the flood does to an honest miner's p99 reply latency.
# Results: bench/results/flood-*/flood.json.
#
#   bench/run-flood.sh                        # 64 connections x 32 in flight, 10 s
#   bench/run-flood.sh --duration 30 --connections 256
#
# Environment: SHAREGATE_BUILD (see bench/lib/common.sh), SERVER_ARGS (extra server
# options, e.g. "--threads 1"), LOADGEN_TASKSET / SERVER_TASKSET (CPU lists to pin each
# to, e.g. 0 and 1). Extra arguments go to the load generator and override its defaults.
source "$(dirname "$0")/lib/common.sh"

build_targets sharegate sharegate-loadgen
out=$(results_dir flood)
start_redis
# 2^250 rather than 0xBitcoin's 2^234: the honest miner then mines fresh shares in about 64
# hashes each, so every honest submit is a real, new share that goes through verification
# and Redis (replaying a small corpus would, after one pass, measure duplicate rejections).
start_server --max-target-bits 250

# shellcheck disable=SC2086
${LOADGEN_TASKSET:+taskset -c $LOADGEN_TASKSET} "$bench_build/bench/sharegate-loadgen" \
    --target "127.0.0.1:$server_port" --redis "127.0.0.1:$redis_port" --seed-redis \
    --corpus "$bench_root/tests/vectors/valid_d1.jsonl" \
    --connections 64 --workload invalid-digest --depth 32 --duration 10 \
    --honest-mine --honest-rate 200 --quiet --json "$@" \
    2> >(tee "$out/loadgen.log" >&2) | tee "$out/flood.json"
stop_server
echo "results: $out/flood.json" >&2
