#!/usr/bin/env bash
# Self-test for scripts/measure_identity.py: synthesises a two-subject clip with
# ffmpeg alone (and, for likeness, heads drawn by numpy) (red left half / blue right half; 1 s of 200 Hz then 1 s of 120 Hz),
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
grep -q 'pairing (given assignment closest of all): colour yes' "$tmp/out.md" \
  || { echo "FAIL: markdown lacks the pairing line" >&2; exit 1; }

# Timbre: voices whose harmonics follow different spectral envelopes (weights as functions of
# frequency): "dark" (falling above 300 Hz), "bright" (1.5-3.2 kHz strong) and a distractor
# with a formant at 550-900 Hz. References at 150 Hz; the generated turns at 180 Hz with the
# same envelopes: the same timbre three semitones higher, not the same samples.
harmonics() {  # f0 awk-weight-of-f -> aevalsrc expression of harmonics 1..20 (no commas:
               # the filter graph parser would split on them)
  awk -v f0="$1" "BEGIN { for (n = 1; n <= 20; n++) { f = f0 * n; \
      printf \"%s%.4f*sin(2*PI*%g*t)\", (n > 1 ? \"+\" : \"0.1*(\"), $2, f }; print \")\" }"
}
dark='1 / (1 + (f / 300) ^ 2)'; bright='(f >= 1500 && f <= 3200 ? 1 : 0.05)'
formant='(f >= 550 && f <= 900 ? 1 : 0.1)'
tone() { ff -f lavfi -i "aevalsrc=$(harmonics "$1" "$2"):s=16000:d=$3" -c:a pcm_s16le "$4"; }
tone 150 "$dark" 1.5 "$tmp/v_dark.wav"
tone 150 "$bright" 1.5 "$tmp/v_bright.wav"
tone 150 "$formant" 1.5 "$tmp/v_formant.wav"
tone 180 "$dark" 1 "$tmp/g_dark.wav"
tone 180 "$bright" 1 "$tmp/g_bright.wav"
cat2() { ff -i "$1" -i "$2" -filter_complex '[0:a][1:a]concat=n=2:v=0:a=1[a]' -map '[a]' \
            -c:a pcm_s16le "$3"; }
cat2 "$tmp/g_dark.wav" "$tmp/g_bright.wav" "$tmp/timbre_ab.wav"
cat2 "$tmp/g_bright.wav" "$tmp/g_dark.wav" "$tmp/timbre_ba.wav"
# Picture: red left, crimson (#C00040) right: B's half is nearer A's red than B's blue (a
# colour cast shared by both places), yet the given assignment is still the closer one.
ff -f lavfi -i color=red:s=160x120:r=24:d=2 -f lavfi -i color=0xC00040:s=160x120:r=24:d=2 \
   -filter_complex '[0:v][1:v]hstack[v]' -map '[v]' -c:v libx264 -pix_fmt yuv444p "$tmp/cast.mp4"
for order in ab ba; do
  "$py" scripts/measure_identity.py --clip "$tmp/cast.mp4" --audio "$tmp/timbre_$order.wav" \
    --subject "name=A,face=$tmp/face_a.png,voice=$tmp/v_dark.wav,region=left" \
    --subject "name=B,face=$tmp/face_b.png,voice=$tmp/v_bright.wav,region=right" \
    --voice-pool "$tmp/v_formant.wav" --voice-pool "$tmp/v_dark.wav" \
    --json "$tmp/timbre_$order.json" >/dev/null
done
"$py" - "$tmp/timbre_ab.json" "$tmp/timbre_ba.json" <<'EOF'
import json, sys
ab, ba = (json.load(open(p)) for p in sys.argv[1:3])
fails = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails.append(what)
for e in ab["subjects"]:
    t = e["timbre"]
    check(t["bound"] is True and t["rank"] == 1 and t["pool_size"] == 3 and t["rank_fraction"] == 0,
          f"{e['name']}: own voice's timbre nearest ({t['own_distance']:.2f} vs "
          f"{t['distance_to_other_refs']}), rank {t['rank']} of {t['pool_size']} "
          "(a subject's own reference given again as a pool voice is left out)")
check(ab["pairing"]["timbre"]["bound"] is True, "turns in order: timbre pairing holds")
for e in ba["subjects"]:
    check(e["timbre"]["bound"] is False and e["timbre"]["rank"] > 1,
          f"{e['name']}: turns swapped, timbre not bound (rank {e['timbre']['rank']})")
check(ba["pairing"]["timbre"]["bound"] is False, "turns swapped: timbre pairing fails")
b = {e["name"]: e for e in ab["subjects"]}["B"]["colour"]
check(b["bound"] is False and ab["pairing"]["colour"]["bound"] is True,
      f"colour cast: B alone is nearer A's colour ({b['mean_delta_e']:.1f} vs "
      f"{b['delta_e_to_other_refs']['A']:.1f}), the pairing still holds "
      f"({ab['pairing']['colour']['own_cost']:.1f} < {ab['pairing']['colour']['best_other_cost']:.1f})")
sys.exit(1 if fails else 0)
EOF

# Speaker: Subject A's mouth (left) moves in the first second, B's (right) in the second, the
# picture shakes all over in both (a shared camera move); the audio is any two turns. In order
# the pairing "speaker" holds; with the sides exchanged it must fail.
for side in ab ba; do
  if [[ $side == ab ]]; then first=left; else first=right; fi
  ff -f lavfi -i "color=gray:s=80x120:r=24:d=2,noise=alls=80:allf=t:enable='lt(t,1)'" \
     -f lavfi -i "color=gray:s=80x120:r=24:d=2,noise=alls=80:allf=t:enable='gte(t,1)'" \
     -filter_complex "$([[ $first == left ]] && echo '[0:v][1:v]' || echo '[1:v][0:v]')hstack,noise=alls=10:allf=t[v]" \
     -map '[v]' -c:v libx264 -pix_fmt yuv420p "$tmp/speaker_$side.mp4"
  "$py" scripts/measure_identity.py --clip "$tmp/speaker_$side.mp4" --audio "$tmp/sound.wav" \
    --subject "name=A,face=$tmp/face_a.png,voice=$tmp/voice_a.wav,region=left" \
    --subject "name=B,face=$tmp/face_b.png,voice=$tmp/voice_b.wav,region=right" \
    --json "$tmp/speaker_$side.json" >/dev/null
done
"$py" - "$tmp/speaker_ab.json" "$tmp/speaker_ba.json" <<'EOF'
import json, sys
ab, ba = (json.load(open(p))["pairing"]["speaker"] for p in sys.argv[1:3])
ok = ab["bound"] is True and ba["bound"] is False
print(("ok   " if ok else "FAIL ") + f"speaker pairing: in order {ab['bound']} (cost {ab['own_cost']:.2f} "
      f"vs {ab['best_other_cost']:.2f}), sides exchanged {ba['bound']}")
sys.exit(0 if ok else 1)
EOF

# Voice-face: A's red face and B's blue face on either side, and either side's mouth moving in
# the first second (A's turn). Each turn comes with its own speaker's face when the side that
# moves first is the red one, wherever red stands: bound for (red left, left first) and (red
# right, right first), not for the other two, although the colour and speaker pairings (which
# keep to the given sides) fail whenever red is on the right.
for faces in ab ba; do
  if [[ $faces == ab ]]; then left=red; right=blue; else left=blue; right=red; fi
  for first in left right; do
    if [[ $first == left ]]; then moves='lt(t,1)'; other='gte(t,1)'; else moves='gte(t,1)'; other='lt(t,1)'; fi
    ff -f lavfi -i "color=$left:s=80x120:r=24:d=2,noise=alls=60:allf=t:enable='$moves'" \
       -f lavfi -i "color=$right:s=80x120:r=24:d=2,noise=alls=60:allf=t:enable='$other'" \
       -filter_complex '[0:v][1:v]hstack[v]' -map '[v]' -c:v libx264 -pix_fmt yuv444p "$tmp/vf_${faces}_$first.mp4"
    "$py" scripts/measure_identity.py --clip "$tmp/vf_${faces}_$first.mp4" --audio "$tmp/sound.wav" \
      --subject "name=A,face=$tmp/face_a.png,voice=$tmp/voice_a.wav,region=left" \
      --subject "name=B,face=$tmp/face_b.png,voice=$tmp/voice_b.wav,region=right" \
      --json "$tmp/vf_${faces}_$first.json" >/dev/null
  done
done
"$py" - "$tmp" <<'EOF2'
import json, sys
fails = []
for faces, first, want in (("ab", "left", True), ("ab", "right", False), ("ba", "right", True), ("ba", "left", False)):
    p = json.load(open(f"{sys.argv[1]}/vf_{faces}_{first}.json"))["pairing"]
    ok = p["voice_face"]["bound"] is want and p["colour"]["bound"] is (faces == "ab")
    print(("ok   " if ok else "FAIL ") + f"voice-face: red {'left' if faces == 'ab' else 'right'}, {first} "
          f"moves first: {p['voice_face']['bound']} (want {want}; colour pairing {p['colour']['bound']}, "
          f"speaker pairing {p['speaker']['bound']})")
    if not ok:
        fails.append(faces + first)
sys.exit(1 if fails else 0)
EOF2

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

# Likeness: three heads of the same colours (tan face, black hair) and different layouts (A short
# hair on a wide face, B long hair beside a narrow one, C a beard), drawn by numpy. The references
# are 64×64 on grey; the clip shows A's and B's heads half as large again, on blue, moving a few
# pixels each frame. The layout, not the colours, must make each region likest its own
# reference (C is a pool face), and exchanging the sides must undo it. (Own likeness stays well
# below 1: the template keeps a margin of its grey backdrop, which the clip paints blue.) A flat
# region is like no reference.
"$py" - "$tmp" <<'EOF'
import subprocess, sys
import numpy as np
out = sys.argv[1]
TAN, BLACK, GREY, BLUE = (200, 150, 110), (20, 20, 20), (128, 128, 128), (40, 60, 160)
HEADS = {  # boxes (x0, y0, x1, y1, colour) on a 64×64 canvas
    "A": [(14, 14, 50, 54, TAN), (12, 8, 52, 20, BLACK), (22, 30, 28, 34, BLACK), (36, 30, 42, 34, BLACK)],
    "B": [(22, 12, 42, 56, TAN), (14, 8, 50, 14, BLACK), (14, 8, 22, 58, BLACK), (42, 8, 50, 58, BLACK)],
    "C": [(16, 10, 48, 56, TAN), (16, 40, 48, 58, BLACK), (24, 22, 30, 26, BLACK), (34, 22, 40, 26, BLACK)],
}
def draw(canvas, head, x, y, k):
    for x0, y0, x1, y1, c in HEADS[head]:
        canvas[int(y + y0 * k):int(y + y1 * k), int(x + x0 * k):int(x + x1 * k)] = c
def save(frames, path, rate=None):
    h, w = frames[0].shape[:2]
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}"]
    cmd += (["-r", str(rate)] if rate else []) + ["-i", "-"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv444p", "-qp", "10", path] if rate else ["-frames:v", "1", path]
    subprocess.run(cmd, input=b"".join(f.astype(np.uint8).tobytes() for f in frames), check=True)
for head in HEADS:
    ref = np.full((64, 64, 3), GREY, np.uint8)
    draw(ref, head, 0, 0, 1)
    save([ref], f"{out}/head_{head}.png")
for name, (left, right) in {"ab": ("A", "B"), "ba": ("B", "A"), "flat": (None, "B")}.items():
    frames = []
    for i in range(48):
        f = np.full((128, 256, 3), BLUE, np.uint8)
        if left:
            draw(f, left, 10 + i % 6, 8 + i % 4, 1.5)
        draw(f, right, 140 - i % 5, 12 + i % 3, 1.5)
        frames.append(f)
    save(frames, f"{out}/like_{name}.mp4", 24)
EOF
for name in ab ba flat; do
  "$py" scripts/measure_identity.py --clip "$tmp/like_$name.mp4" --audio "$tmp/sound.wav" \
    --subject "name=A,face=$tmp/head_A.png,voice=$tmp/voice_a.wav,region=left" \
    --subject "name=B,face=$tmp/head_B.png,voice=$tmp/voice_b.wav,region=right" \
    --face-pool "$tmp/head_C.png" --face-pool "$tmp/head_A.png" --json "$tmp/like_$name.json" >/dev/null
done
"$py" - "$tmp" <<'EOF'
import json, sys
r = {n: json.load(open(f"{sys.argv[1]}/like_{n}.json")) for n in ("ab", "ba", "flat")}
fails = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails.append(what)
for e in r["ab"]["subjects"]:
    k = e["likeness"]
    check(k["bound"] is True and k["rank"] == 1 and k["pool_size"] == 3 and k["own"] > 0.5,
          f"{e['name']}: own head likest ({k['own']:.3f} vs {k['to_other_refs']}), rank {k['rank']} "
          f"of {k['pool_size']} (an own reference given again as a pool face is left out)")
check(r["ab"]["pairing"]["likeness"]["bound"] is True, "heads in place: likeness pairing holds")
for e in r["ba"]["subjects"]:
    k = e["likeness"]
    check(k["bound"] is False and k["rank"] > 1, f"{e['name']}: sides exchanged, not bound (rank {k['rank']})")
check(r["ba"]["pairing"]["likeness"]["bound"] is False, "sides exchanged: likeness pairing fails")
flat = r["flat"]["subjects"][0]["likeness"]
check(abs(flat["own"]) < 0.1 and max(abs(v) for v in flat["to_other_refs"].values()) < 0.1,
      f"flat region: like no reference ({flat['own']:.3f}, {flat['to_other_refs']})")
sys.exit(1 if fails else 0)
EOF

# A region too small to search (16×16 pixels) has no likeness rather than a made-up rank.
ff -f lavfi -i color=gray:s=16x16:r=24:d=1 -c:v libx264 -pix_fmt yuv444p "$tmp/tiny.mp4"
"$py" scripts/measure_identity.py --clip "$tmp/tiny.mp4" --audio "$tmp/sound.wav" \
  --subject "name=A,face=$tmp/head_A.png,voice=$tmp/voice_a.wav,region=full" \
  --face-pool "$tmp/head_C.png" --json "$tmp/tiny.json" >/dev/null
"$py" - "$tmp/tiny.json" <<'EOF'
import json, sys
k = json.load(open(sys.argv[1]))["subjects"][0]["likeness"]
ok = k["own"] is None and k["rank"] is None and k["rank_fraction"] is None
print(("ok   " if ok else "FAIL ") + f"too small a region: no likeness ({k})")
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
