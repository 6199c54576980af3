#!/usr/bin/env bash
# Self-test for scripts/measure_identity.py: synthesises a two-subject clip with
# ffmpeg alone (red left half / blue right half; 1 s of 200 Hz then 1 s of 120 Hz),
# runs the script and checks colour binding and pitch. Exits non-zero on failure.
#   bash scripts/measure_identity_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The script needs numpy; `python3` on PATH may be a pyenv build without it, so
# fall back to the Debian interpreter where apt's python3-numpy lives.
py=${PYTHON:-}
if [[ -z "$py" ]]; then
  for cand in python3 /usr/bin/python3; do
    if "$cand" -c 'import numpy' 2>/dev/null; then py=$cand; break; fi
  done
fi
[[ -n "$py" ]] || { echo "FAIL: no python3 with numpy (apt-get install -y python3-numpy)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ff() { ffmpeg -v error -y "$@"; }

# Face references: solid colours.
ff -f lavfi -i color=red:s=64x64 -frames:v 1 "$tmp/face_a.png"
ff -f lavfi -i color=blue:s=64x64 -frames:v 1 "$tmp/face_b.png"
# Voice references: pure tones (pitch is exactly known).
ff -f lavfi -i sine=frequency=200:sample_rate=16000:duration=2 -c:a pcm_s16le "$tmp/voice_a.wav"
ff -f lavfi -i sine=frequency=120:sample_rate=16000:duration=2 -c:a pcm_s16le "$tmp/voice_b.wav"
# Generated audio: A speaks first (200 Hz), then B (120 Hz); float WAV exercises that path.
ff -f lavfi -i sine=frequency=200:sample_rate=16000:duration=1 \
   -f lavfi -i sine=frequency=120:sample_rate=16000:duration=1 \
   -filter_complex '[0:a][1:a]concat=n=2:v=0:a=1[a]' -map '[a]' -c:a pcm_f32le "$tmp/sound.wav"
# Generated video: red left half, blue right half, 2 s at 24 fps, with the audio muxed in.
ff -f lavfi -i color=red:s=160x120:r=24:d=2 -f lavfi -i color=blue:s=160x120:r=24:d=2 \
   -i "$tmp/sound.wav" -filter_complex '[0:v][1:v]hstack[v]' -map '[v]' -map 2:a \
   -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$tmp/clip.mp4"

"$py" scripts/measure_identity.py --clip "$tmp/clip.mp4" --audio "$tmp/sound.wav" \
  --subject "name=A,face=$tmp/face_a.png,voice=$tmp/voice_a.wav,region=left" \
  --subject "name=B,face=$tmp/face_b.png,voice=$tmp/voice_b.wav,region=right" \
  --json "$tmp/out.json" --markdown "$tmp/out.md"

"$py" - "$tmp/out.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = {e["name"]: e for e in r["subjects"]}
fails = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails.append(what)
def near(v, want, tol=0.03):
    return v is not None and abs(v - want) <= tol * want
for me, other in (("A", "B"), ("B", "A")):
    c = s[me]["colour"]
    check(c["mean_delta_e"] < c["delta_e_to_other_refs"][other],
          f"{me}: own colour ΔE {c['mean_delta_e']:.1f} < ΔE to {other} {c['delta_e_to_other_refs'][other]:.1f}")
    check(c["bound"] is True, f"{me}: colour bound")
pa, pb = s["A"]["pitch"], s["B"]["pitch"]
check(near(pa["ref_hz"], 200), f"reference A pitch {pa['ref_hz']} ≈ 200 Hz")
check(near(pb["ref_hz"], 120), f"reference B pitch {pb['ref_hz']} ≈ 120 Hz")
check(near(pa["turn_hz"], 200), f"first-half pitch {pa['turn_hz']} ≈ 200 Hz")
check(near(pb["turn_hz"], 120), f"second-half pitch {pb['turn_hz']} ≈ 120 Hz")
check(pa["bound"] is True and pb["bound"] is True, "voice bound for both turns")
sys.exit(1 if fails else 0)
EOF
grep -q '| A | left |' "$tmp/out.md" || { echo "FAIL: markdown table lacks subject A" >&2; exit 1; }

# Lip sync: the "mouth" flickers with noise exactly while a tone sounds (0.5 s on/off);
# the audio is then delayed 3 frames (0.125 s at 24 fps), so the best lag must be -3
# (negative = mouth leads the audio) with a high correlation.
ff -f lavfi -i "color=gray:s=160x120:r=24:d=4,noise=alls=80:allf=t:enable='lt(mod(t,1),0.5)'" \
   -c:v libx264 -pix_fmt yuv420p "$tmp/lip.mp4"
ff -f lavfi -i "sine=frequency=150:sample_rate=16000:duration=4,volume=0:enable='gte(mod(t-0.125,1),0.5)'" \
   -c:a pcm_s16le "$tmp/lip.wav"
"$py" scripts/measure_identity.py --clip "$tmp/lip.mp4" --audio "$tmp/lip.wav" \
  --subject "name=S,face=$tmp/face_a.png,voice=$tmp/lip.wav,region=full" \
  --json "$tmp/lip.json" >/dev/null
"$py" - "$tmp/lip.json" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))["subjects"][0]["lip_sync"]
ok = l["best_lag_frames"] == -3 and l["best_r"] > 0.9 and l["best_r"] > l["lag0_r"]
print(("ok   " if ok else "FAIL ") + f"lip sync: best lag {l['best_lag_frames']} (want -3), "
      f"r@best {l['best_r']:.3f}, r@0 {l['lag0_r']:.3f}")
sys.exit(0 if ok else 1)
EOF

# A missing input must fail with a message that names the file.
if err=$("$py" scripts/measure_identity.py --clip "$tmp/clip.mp4" \
          --subject "name=A,face=$tmp/nope.png,voice=$tmp/voice_a.wav" 2>&1); then
  echo "FAIL: missing face image did not fail" >&2; exit 1
fi
[[ "$err" == *nope.png* ]] || { echo "FAIL: error does not name the file: $err" >&2; exit 1; }
echo "ok   missing input rejected: $err"
echo "PASS"
