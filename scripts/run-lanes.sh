#!/usr/bin/env bash
# Runs projen tasks in lanes side by side: each argument is a lane, a space-separated list of tasks
# run one after another. The consumer tests are single-threaded (a pytest, a Maven build, one jsii
# kernel each), so two lanes use the machine's two cores where one after another used one.
# The first lane's output streams; the others' is printed whole after it, so no lines interleave.
# Prints how long each task took and exits non-zero if any task failed (its lane stops there).
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

run_lane() {
  local task start status
  for task in $1; do
    start=$SECONDS
    npx projen "$task"
    status=$?
    echo "[lanes] $task took $((SECONDS - start)) s (exit $status)"
    [ "$status" -eq 0 ] || return "$status"
  done
}

pids=()
for i in $(seq 2 $#); do
  run_lane "${!i}" > "$logs/$i" 2>&1 &
  pids+=("$!")
done
run_lane "$1"
failed=$?
for i in $(seq 2 $#); do
  wait "${pids[$((i - 2))]}" || failed=1
  cat "$logs/$i"
done
exit "$failed"
