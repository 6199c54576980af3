#!/usr/bin/env bash
# Evaluate a Presence generation model on the synthetic "seen" (training, seed 7) and "unseen"
# (seed 99) worlds: face / voice / lip-sync / binding metrics for generated clips and the
# dataset's own clips (the ceiling). Driven by scripts/evaluate_default_model.py.
#
#   scripts/evaluate_default_model.sh [--model-args JSON] [--out DIR] [--clips N] [--views front|front3|all]
#                                     [--sampler-args JSON] [--round-trip-only]
#
#   --model-args  JSON object merged into presence.load_model's params, e.g.
#                 '{"preset":"small","dit_checkpoint":"/abs/dit/model.safetensors.index.json",
#                   "video_vae_checkpoint":"/abs/v.safetensors",
#                   "audio_vae_checkpoint":"/abs/a.safetensors","tokenizer":"/abs/tok.model","seed":0}'
#                 (default '{"preset":"small","seed":0}': random weights)
#   --out DIR     output folder (default out/eval): summary.json, summary.md, contact_sheet.png/.md,
#                 worlds/, <world>/<clip>/
#   --clips N     two-subject and one-subject av clips per world (default 4)
#   --sampler-args JSON object merged into presence.sampler's params, e.g. '{"negative_pass_faces":"keep"}'
#                 (a "seed" there replaces the evaluation's sampler seed, 42)
#   --views V     front (one photo per subject, default), front3 (that photo repeated into a
#                 three-view grid, identity_encode min_views 3) or all (every view packed into a grid)
#   --contact-sheet-only  only rebuild <out>/contact_sheet.png/.md from an existing --out folder
#   --round-trip-only     measure the dataset's clips and their VAE round trip, without generating
#   --recipe GRAPH        training graph whose 'world' node sets the worlds (default: the shipped
#                         samples/graphs/train_default_model.json)
#   --flip-sides          captions that state places name the other side (a probe of whether the
#                         model reads them; the measurement keeps the dataset's sides)
#   --recolour-refs DEG   face references hue-turned by DEG degrees, every source measured
#                         against them (does the model copy its reference or paint what it learned?)
#   --blank-appearance    captions without the subjects' appearance (colours from the reference or the words?)
#
# Environment: PRESENCE = the presence binary (default build/release/bin/presence),
#              PYTHON = the interpreter (default /usr/bin/python3; it needs numpy).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
export PRESENCE="${PRESENCE:-$root/build/release/bin/presence}"
py="${PYTHON:-/usr/bin/python3}"
[ -x "$py" ] || py="$(command -v python3)"
exec "$py" "$here/evaluate_default_model.py" "$@"
