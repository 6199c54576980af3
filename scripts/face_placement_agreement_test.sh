#!/usr/bin/env bash
# Self-test for scripts/face_placement_agreement.py on made-up evaluation summaries whose answer
# is known: two models, two sampler seeds, four two-subject clips (and a one-subject clip that
# must not count). Exits non-zero on failure.
#   bash scripts/face_placement_agreement_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# summary DIR MODEL SEED OUTCOMES: OUTCOMES is one 0/1 per two-subject clip.
summary() {
  mkdir -p "$1"
  python3 - "$1" "$2" "$3" "$4" <<'PY'
import json, sys
folder, model, seed, bits = sys.argv[1:]
clips = [{"world": "unseen", "clip": f"clip{i:05d}", "subject_count": 2,
          "generated": {"rows": [{"face_pair": b == "1"}, {"face_pair": None}]}} for i, b in enumerate(bits)]
clips.append({"world": "unseen", "clip": "clip00099", "subject_count": 1,
              "generated": {"rows": [{"face_pair": None}]}})
json.dump({"model_params": {"dit_checkpoint": model}, "generation": {"seed": int(seed)}, "clips": clips},
          open(folder + "/summary.json", "w"))
PY
}
# Model A and model B agree at each seed but for one clip; each changes 3 of 4 clips between seeds.
summary "$tmp/a42" A 42 1100
summary "$tmp/a43" A 43 0010
summary "$tmp/b42" B 42 1101
summary "$tmp/b43" B 43 0010
python3 scripts/face_placement_agreement.py "$tmp"/a42 "$tmp"/a43 "$tmp"/b42 "$tmp"/b43 --json "$tmp/out.json" > "$tmp/out.txt"
python3 - "$tmp/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["clips"] == 4, r
# A: 1100 vs 0010 agree in 1 clip; B: 1101 vs 0010 agree in 0.
assert r["same_model_other_seed"] == {"pairs": 2, "mean_agreeing_clips": 0.5}, r
# seed 42: 1100 vs 1101 agree in 3; seed 43: 0010 vs 0010 in 4.
assert r["same_seed_other_model"] == {"pairs": 2, "mean_agreeing_clips": 3.5}, r
PY
grep -q "seed 42  1100  2 of 4" "$tmp/out.txt" || { echo "FAIL: outcome line missing"; cat "$tmp/out.txt"; exit 1; }

# A folder without a summary is an error naming the file.
if python3 scripts/face_placement_agreement.py "$tmp/a42" "$tmp/none" 2> "$tmp/err.txt"; then
  echo "FAIL: a missing summary was accepted"; exit 1
fi
grep -q "$tmp/none/summary.json" "$tmp/err.txt" || { echo "FAIL: the error does not name the file"; cat "$tmp/err.txt"; exit 1; }
echo "face_placement_agreement: ok"
