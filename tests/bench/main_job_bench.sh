#!/usr/bin/env bash
# A timed sample run of the main job (samples/graphs/generate_two_subjects.json, the `small`
# preset): wall time, per-node time and peak memory, then the sampler's time with the guidance
# pass off and with the reference cache off, each in a fresh process.
#
#   bash tests/bench/main_job_bench.sh [build/release/bin/presence]
set -euo pipefail
cd "$(dirname "$0")/../.."
presence=${1:-build/release/bin/presence}
graph=samples/graphs/generate_two_subjects.json
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Runs the graph with extra --set options; prints "<wall s> <peak MiB>" and keeps the events.
run() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$out/$name.time" "$presence" run "$graph" --out "$out/$name" --events json "$@" \
    > "$out/$name.events" 2> "$out/$name.err"
  read -r wall kib < "$out/$name.time"
  echo "$wall $((kib / 1024))"
}
node_seconds() {  # node seconds from the JSON events
  grep "\"event\":\"finished\",\"node\":\"$2\"" "$out/$1.events" | sed 's/.*"seconds":\([0-9.e-]*\).*/\1/'
}

read -r wall peak < <(run default)
echo "main job (small preset, 2 subjects, 49 frames 128x128 at 24 fps, 12 steps): wall ${wall} s, peak RSS ${peak} MiB"
for node in model subject_a subject_b caption sampler decode save_mp4 save_frames save_wav; do
  printf '  %-12s %8.2f s\n' "$node" "$(node_seconds default "$node")"
done
run noguide --set sampler.video_guidance=1 --set sampler.audio_guidance=1 > /dev/null
run nocache --set sampler.reference_cache=false > /dev/null
base=$(node_seconds default sampler)
one=$(node_seconds noguide sampler)
nocache=$(node_seconds nocache sampler)
awk -v b="$base" -v o="$one" -v n="$nocache" 'BEGIN {
  printf "sampler, both guidance passes:       %6.2f s\n", b
  printf "sampler, guidance off (one pass):    %6.2f s  (%.2fx; the negative pass costs %.0f%%)\n", o, o / b, 100 * (b - o) / b
  printf "sampler, reference cache off:        %6.2f s  (%.2fx of cache on)\n", n, n / b
}'
