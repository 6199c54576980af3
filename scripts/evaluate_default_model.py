#!/usr/bin/env python3
"""Evaluate a Presence generation model against the synthetic worlds (model-card numbers).

Questions answered, on a "seen" world (the training world: the same synth_dataset settings and
seed as samples/graphs/train_default_model.json) and an "unseen" world (same settings, seed 99 =
new identities):
  * does the generated face follow the face reference  (CIELAB ΔE, own vs other subject; likeness:
                                                          the reference's head searched in the region,
                                                          and the own one's rank among other people's),
  * does the voice follow the voice reference           (median F0 in semitones, per turn; timbre:
                                                          mel-cepstral distance, and the rank of the
                                                          own reference among every speaker's),
  * do the lips move with the speech                    (mouth motion vs audio RMS, Pearson r),
  * in two-subject clips does each voice come with its own face ("bound" flags per subject, and
    "pair-bound" per clip: the given assignment of references closer than the swapped one;
    "speaker": the face whose mouth moves during a turn is that turn's speaker's place; and
    "voice-face": the face that moves during a turn looks like that turn's speaker, wherever it
    stands).

For every picked manifest clip a generation graph is written (load_model -> identity_encode per
subject -> caption_compose -> sampler -> vae_decode -> mux_video / save_audio) with the clip's own
front face reference, voice reference and caption fields, run with the presence binary, and
measured with scripts/measure_identity.py. The dataset's own clip (picture mp4 + sound wav) is
measured against the same references: the "ground truth" ceiling of each metric; so is that
clip encoded and decoded again by the model's VAEs and vocoder (vae_encode -> vae_decode), the
"round trip": what the model's own decoders keep of the truth, the ceiling of what it can
generate. At the end
contact_sheet.png (face refs | 4 generated frames | 2 dataset frames per clip) and
contact_sheet.md (what each row and column is) are written.

Usage:
  scripts/evaluate_default_model.sh [--model-args JSON] [--out DIR] [--clips N]
  scripts/evaluate_default_model.sh --out DIR --contact-sheet-only   # redo contact_sheet.png only
  scripts/evaluate_default_model.sh --kinds two --clips 15 ...       # a binding study
  scripts/evaluate_default_model.sh --remeasure --out DIR ...        # measure DIR's clips again
  /usr/bin/python3 scripts/evaluate_default_model.py --help

Only the standard library is used here (measure_identity.py needs numpy and ffmpeg).
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEASURE = os.path.join(ROOT, "scripts", "measure_identity.py")

RECIPE = os.path.join(ROOT, "samples", "graphs", "train_default_model.json")


def recipe_world(recipe=RECIPE):
    """The training world's synth_dataset settings, read from the recipe graph (the "seen" world
    is that world; the "unseen" one changes only the seed, so it has new identities)."""
    with open(recipe, encoding="utf-8") as f:
        params = dict(json.load(f)["nodes"]["world"]["params"])
    seed = params.pop("seed")
    params.pop("folder", None)
    return params, seed


WORLD_SETTINGS, SEEN_SEED = recipe_world()
WORLDS = [("seen", SEEN_SEED), ("unseen", 99)]

GEN = {"width": 128, "height": 128, "fps": 24.0, "steps": 12, "seed": 42, "reference_size": 64,
       "min_voice_seconds": 0.1, "views": "front", "sampler_args": {}, "flip_sides": False,
       "recolour_degrees": 0.0, "blank_appearance": False}
RECOLOUR_DIR = None      # where --recolour-refs writes the turned references (set in main)
# What each clip is measured on: the model's clip, the dataset's own and its VAE round trip.
SOURCES = ("generated", "round_trip", "ground_truth")
DEFAULT_MODEL_ARGS = '{"preset": "small", "seed": 0}'


def log(msg):
    print(msg, flush=True)


def presence_binary():
    b = os.environ.get("PRESENCE") or os.path.join(ROOT, "build", "release", "bin", "presence")
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        sys.exit(f"error: presence binary not found or not executable: {b} (set $PRESENCE)")
    return os.path.abspath(b)


def run_graph(binary, graph, graph_path, out_dir, log_path):
    """Write `graph` to graph_path and run it into out_dir; the log goes to log_path."""
    with open(graph_path, "w", encoding="utf-8") as f:
        json.dump(graph, f, indent=2)
        f.write("\n")
    with open(log_path, "w", encoding="utf-8") as lf:
        res = subprocess.run([binary, "run", graph_path, "--out", out_dir],
                             stdout=lf, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        with open(log_path, encoding="utf-8", errors="replace") as lf:
            tail = "".join(lf.readlines()[-20:])
        raise RuntimeError(f"presence run {graph_path} failed (exit {res.returncode}); "
                           f"log {log_path}:\n{tail}")


# ----------------------------------------------------------------------------
# Worlds
# ----------------------------------------------------------------------------

def make_world(binary, worlds_dir, name, seed, tmp):
    """Generate (or reuse) a synthetic world; returns its folder.

    Reused only when the stored settings equal the requested ones (the generator is
    deterministic, so a reused world is byte-identical to a fresh one).
    """
    folder = os.path.join(worlds_dir, name)
    params = dict(WORLD_SETTINGS, seed=seed)
    stamp = os.path.join(worlds_dir, f"{name}.settings.json")
    if os.path.isfile(os.path.join(folder, "manifest.jsonl")) and os.path.isfile(stamp):
        with open(stamp, encoding="utf-8") as f:
            if json.load(f) == params:
                log(f"[world {name}] reusing {folder}")
                return folder
    if os.path.exists(folder):
        shutil.rmtree(folder)
    graph = {"format": "presence-graph", "version": 1,
             "name": f"evaluation world '{name}' (seed {seed})",
             "nodes": {"world": {"type": "presence.synth_dataset",
                                 "params": dict(params, folder=name)}},
             "outputs": []}
    t0 = time.time()
    log(f"[world {name}] generating seed {seed} ...")
    run_graph(binary, graph, os.path.join(tmp, f"world_{name}.json"), worlds_dir,
              os.path.join(worlds_dir, f"{name}.log"))
    with open(stamp, "w", encoding="utf-8") as f:
        json.dump(params, f, indent=2)
    log(f"[world {name}] done in {time.time() - t0:.0f} s")
    return folder


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def pick_clips(manifest, n, prefer_val, counts=(2, 1)):
    """First n two-subject and first n one-subject 'av' clips in manifest order (`counts`: the
    subject counts wanted).

    With prefer_val the val split is taken first and topped up from train when it has too few.
    """
    picked = []
    for count in counts:
        pool = [c for c in manifest if c.get("kind") == "av" and len(c.get("subjects", [])) == count
                and c.get("video") and c.get("audio")]
        if prefer_val:
            pool = [c for c in pool if c.get("split") == "val"] + \
                   [c for c in pool if c.get("split") != "val"]
        picked += pool[:n]
    return picked


# ----------------------------------------------------------------------------
# Generation graph
# ----------------------------------------------------------------------------

def caption_fields(clip):
    """caption_compose parameters that re-compose the manifest caption text.

    appearance, place and speech come from the subjects; actions and voice descriptions exist
    only in the composed text ("Subject N, [on the <place>, ]<appearance>, <actions>." /
    "Subject N speaks with <voice>.").
    """
    cap = clip.get("caption", {})
    text = cap.get("text", "")
    params = {k: cap.get(k, "") or "" for k in ("scene", "camera", "ambience", "sound_effects")}
    for s in clip["subjects"]:
        n = s.get("slot", 0) + 1
        app = s.get("appearance", "") or ""
        # A world with random_sides states the place after the anchor ("Subject 1, on the left, ").
        pos = s.get("position", "")
        place = f"on the {pos}, " if pos in ("left", "right") else ""
        if place and f"Subject {n}, {place}" not in text:
            place = ""
        if place:
            # --flip-sides: the caption names the other side (a probe of whether the model reads
            # it); the measurement still takes each subject where the dataset drew it.
            flipped = {"left": "right", "right": "left"}[pos]
            params[f"subject{n}_position"] = flipped if GEN["flip_sides"] else pos
        actions = ""
        if app:
            m = re.search(rf"Subject {n}, {re.escape(place + app)}, (.*?)\.(?: |$)", text)
            if m:
                actions = m.group(1)
        m = re.search(rf"Subject {n} speaks with (.*?)\.(?: |$)", text)
        voice = m.group(1) if m else ""
        speech = "\n".join(line.get("text", "") for line in s.get("speech", []) or [])
        if not speech:  # fall back on the <S>...<E> of the text
            speech = "\n".join(re.findall(rf"Subject {n} says: <S>(.*?)<E>", text))
        # --blank-appearance: the caption does not describe the faces (a probe of whether the
        # colours come from the face reference or from the caption's words).
        params.update({f"subject{n}_appearance": "" if GEN["blank_appearance"] else app,
                       f"subject{n}_actions": actions,
                       f"subject{n}_voice": voice, f"subject{n}_speech": speech})
    return params


def sampler_frames(duration, fps):
    """The frame count 1 + 4k nearest duration * fps (what the video VAE accepts)."""
    k = max(0, int(round((duration * fps - 1) / 4.0)))
    return 1 + 4 * k


def front_ref(world, subject):
    refs = subject.get("face_refs") or []
    front = [r for r in refs if r.get("view") == "front"] or refs
    if not front:
        raise RuntimeError(f"subject {subject.get('identity')} has no face reference")
    return face_image(world, front[0]["path"])


def hue_matrix(degrees):
    """RGB rotation by `degrees` about the grey axis, as presence::media::rotateHue (and so
    load_dataset's colour_copies) turns colours: rows are the output channels."""
    a = math.radians(degrees)
    c, s, t = math.cos(a), math.sin(a) / math.sqrt(3.0), (1.0 - math.cos(a)) / 3.0
    return [[c + t, t - s, t + s], [t + s, c + t, t - s], [t - s, t + s, c + t]]


def face_image(world, rel):
    """A face reference file of the world; with --recolour-refs a copy with its hues turned
    (ffmpeg's colorchannelmixer with hue_matrix, clamped), written once under the output folder.
    Generation is given it and every source is measured against it."""
    path = os.path.join(world, rel)
    if not GEN["recolour_degrees"]:
        return path
    out = os.path.join(RECOLOUR_DIR, f"{GEN['recolour_degrees']:g}deg",
                       os.path.basename(os.path.normpath(world)), os.path.splitext(rel)[0] + ".png")
    if not os.path.isfile(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        m = hue_matrix(GEN["recolour_degrees"])
        mix = ":".join(f"{a}{b}={m[i][j]:.6f}" for i, a in enumerate("rgb") for j, b in enumerate("rgb"))
        tmp = out + ".partial.png"
        res = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", path, "-vf",
                              f"format=rgb24,colorchannelmixer={mix}", "-frames:v", "1", tmp],
                             capture_output=True)
        if res.returncode != 0:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise RuntimeError(f"ffmpeg could not recolour {path}: {res.stderr.decode(errors='replace')}")
        os.replace(tmp, out)
    return out


def voice_ref(world, subject):
    ref = subject.get("voice_ref")
    if not ref or not ref.get("path"):
        raise RuntimeError(f"subject {subject.get('identity')} has no voice reference")
    return os.path.join(world, ref["path"])


def face_paths(world, subject):
    """The face image(s) generation is given: the front view, or (GEN["views"] == "all") every
    view, which identity_encode packs into one grid as stage 3 trains on."""
    if GEN["views"] in ("front", "front3"):
        return os.path.abspath(front_ref(world, subject))
    refs = subject.get("face_refs") or []
    return "\n".join(os.path.abspath(face_image(world, r["path"])) for r in refs)


def generation_graph(world, clip, model_params, frames):
    nodes = {"model": {"type": "presence.load_model", "params": model_params}}
    prev = None
    for i, s in enumerate(clip["subjects"]):
        nodes[f"face_{i}"] = {"type": "presence.load_image",
                              "params": {"paths": face_paths(world, s), "fit": "resize"}}
        nodes[f"voice_{i}"] = {"type": "presence.load_audio",
                               "params": {"path": os.path.abspath(voice_ref(world, s))}}
        inputs = {"model": "model.model", "face": f"face_{i}.image", "voice": f"voice_{i}.audio"}
        if prev:
            inputs["identities"] = f"{prev}.identities"
        nodes[f"subject_{i}"] = {"type": "presence.identity_encode", "inputs": inputs,
                                 "params": {"name": s["identity"], "slot": s.get("slot", i),
                                            "reference_size": GEN["reference_size"],
                                            # front3: the photo repeated into a three-view grid
                                            "min_views": 3 if GEN["views"] == "front3" else 1,
                                            # synthetic voice refs are 3 words, often < 1 s
                                            "min_voice_seconds": GEN["min_voice_seconds"]}}
        prev = f"subject_{i}"
    nodes["caption"] = {"type": "presence.caption_compose",
                        "inputs": {"model": "model.model", "identities": f"{prev}.identities"},
                        "params": caption_fields(clip)}
    nodes["sampler"] = {"type": "presence.sampler",
                        "inputs": {"model": "model.model", "caption": "caption.caption",
                                   "identities": f"{prev}.identities"},
                        "params": {"frames": frames, "width": GEN["width"], "height": GEN["height"],
                                   "fps": GEN["fps"], "steps": GEN["steps"], "seed": GEN["seed"],
                                   "preview_every": 0, **GEN["sampler_args"]}}
    nodes["decode"] = {"type": "presence.vae_decode",
                       "inputs": {"model": "model.model", "latent": "sampler.latent"}}
    nodes["save_mp4"] = {"type": "presence.mux_video",
                         "inputs": {"image": "decode.image", "audio": "decode.audio"},
                         "params": {"fps": GEN["fps"], "crf": 18, "filename_prefix": "clip"}}
    nodes["save_wav"] = {"type": "presence.save_audio", "inputs": {"audio": "decode.audio"},
                         "params": {"filename_prefix": "sound"}}
    return {"format": "presence-graph", "version": 1,
            "name": f"evaluation: generate {clip['id']}", "nodes": nodes, "outputs": []}


def round_trip_graph(world, clip, model_params):
    """The dataset's clip encoded and decoded again by the model's VAEs (and vocoder): what they
    keep of it, the ceiling of anything the model can generate."""
    nodes = {"model": {"type": "presence.load_model", "params": model_params},
             "video": {"type": "presence.load_video",
                       "params": {"path": os.path.abspath(os.path.join(world, clip["video"]))}},
             "sound": {"type": "presence.load_audio",
                       "params": {"path": os.path.abspath(os.path.join(world, clip["audio"]))}},
             "encode": {"type": "presence.vae_encode",
                        "inputs": {"model": "model.model", "video": "video.video", "audio": "sound.audio"}},
             "decode": {"type": "presence.vae_decode",
                        "inputs": {"model": "model.model", "latent": "encode.latent"}},
             "save_mp4": {"type": "presence.mux_video",
                          "inputs": {"image": "decode.image", "audio": "decode.audio"},
                          "params": {"fps": GEN["fps"], "crf": 18, "filename_prefix": "clip"}},
             "save_wav": {"type": "presence.save_audio", "inputs": {"audio": "decode.audio"},
                          "params": {"filename_prefix": "sound"}}}
    return {"format": "presence-graph", "version": 1,
            "name": f"evaluation: VAE round trip of {clip['id']}", "nodes": nodes, "outputs": []}


# ----------------------------------------------------------------------------
# Measurement
# ----------------------------------------------------------------------------

def logged_caption(log_path):
    """The caption text caption_compose logged ('caption: caption (N tokens): TEXT'), or None."""
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"\s*caption: caption \(\d+ tokens\): (.*)$", line.rstrip("\n"))
            if m:
                return m.group(1)
    return None


def voice_pool(world, manifest):
    """One voice reference per identity of the world (the first the manifest gives), for ranking
    a subject's own reference among every speaker's by timbre."""
    pool = {}
    for c in manifest:
        for s in c.get("subjects", []):
            ref = s.get("voice_ref") or {}
            if ref.get("path") and s["identity"] not in pool:
                pool[s["identity"]] = os.path.abspath(os.path.join(world, ref["path"]))
    return pool


def clip_regions(clip):
    """Screen regions in slot order: one subject full frame; two subjects their manifest
    `position`, else left/right.

    synth_dataset.cpp places a subject on the left at x = -0.25·aspect and one on the right at
    +0.25·aspect, and face_renderer.cpp maps increasing pixel x to increasing scene x (camera
    pans move the window by at most ±0.12, faces stay in their half). Worlds written before
    `position` existed always put Subject 1 (slot 0) on the left.
    """
    subs = sorted(clip["subjects"], key=lambda s: s.get("slot", 0))
    if len(subs) == 1:
        return ["full"]
    regions = [s.get("position", "") for s in subs]
    return regions if sorted(regions) == ["left", "right"] else ["left", "right"]


def face_pool(world, manifest):
    """One front face reference per identity of the world (the first the manifest gives), in
    identity order, for ranking a subject's own reference among other people's by likeness."""
    pool = {}
    for c in manifest:
        for s in c.get("subjects", []):
            if s.get("face_refs") and s["identity"] not in pool:
                pool[s["identity"]] = os.path.abspath(front_ref(world, s))
    return dict(sorted(pool.items()))


# Likeness is ranked among this many other people's faces (the first in identity order that are
# not in the clip): a rank resolution of 1/24 at less than half the whole world's search time.
FACE_POOL_SIZE = 24


def subject_args(world, clip, pool=None, faces=None):
    """--subject arguments in slot order, each with its screen region (clip_regions)."""
    subs = sorted(clip["subjects"], key=lambda s: s.get("slot", 0))
    regions = clip_regions(clip)
    out = []
    for s, region in zip(subs, regions):
        name = f"S{s.get('slot', 0) + 1}_{s['identity']}"
        out += ["--subject", f"name={name},face={os.path.abspath(front_ref(world, s))},"
                f"voice={os.path.abspath(voice_ref(world, s))},region={region}"]
    # Other speakers only: another utterance of the subject's own voice is no rival.
    here = {s["identity"] for s in subs}
    for identity, path in sorted((pool or {}).items()):
        if identity not in here:
            out += ["--voice-pool", path]
    others = [path for identity, path in (faces or {}).items() if identity not in here]
    for path in others[:FACE_POOL_SIZE]:
        out += ["--face-pool", path]
    return out


def measure(clip_path, audio_path, subjects, json_path, log_path):
    for path in (clip_path, audio_path):
        if not os.path.isfile(path):
            raise RuntimeError(f"nothing to measure: {path} does not exist (--remeasure needs an "
                               "earlier run's outputs in --out)")
    cmd = [sys.executable, MEASURE, "--clip", clip_path, "--audio", audio_path,
           "--json", json_path] + subjects
    with open(log_path, "w", encoding="utf-8") as lf:
        res = subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        raise RuntimeError(f"measure_identity failed (exit {res.returncode}); see {log_path}")
    with open(json_path, encoding="utf-8") as f:
        return json.load(f)


def subject_rows(report, clip_kind):
    """Flatten a measure_identity report into one metric row per subject."""
    rows = []
    two = len(report["subjects"]) > 1
    for s in report["subjects"]:
        c, p, t, l = s["colour"], s["pitch"], s["timbre"], s["lip_sync"]
        k = s.get("likeness") or {}       # reports measured before likeness existed have none
        others = list(c["delta_e_to_other_refs"].values())
        st = p.get("turn_semitones") if two else p.get("clip_semitones")
        # The pairing is one verdict per clip: it goes on the clip's first row only, so that
        # means over rows count each clip once.
        pair = report.get("pairing", {}) if not rows else {}
        rows.append({
            "subject": s["name"], "clips": clip_kind,
            "own_de": c["mean_delta_e"],
            "other_de": min(others) if others else None,
            "colour_bound": c["bound"],
            "abs_semitones": abs(st) if st is not None else None,
            "voice_bound": p.get("bound") if two else None,
            "timbre_own": t["own_distance"], "timbre_rank": t["rank_fraction"],
            "timbre_bound": t["bound"] if two else None,
            "likeness": k.get("own"), "likeness_rank": k.get("rank_fraction"),
            "likeness_pair": pair.get("likeness", {}).get("bound"),
            "face_pair": pair.get("colour", {}).get("bound"),
            "pitch_pair": pair.get("pitch", {}).get("bound"),
            "timbre_pair": pair.get("timbre", {}).get("bound"),
            "speaker_pair": pair.get("speaker", {}).get("bound"),
            "voice_face_pair": pair.get("voice_face", {}).get("bound"),
            "lip_r0": l["lag0_r"], "lip_rbest": l["best_r"], "best_lag": l["best_lag_frames"],
        })
    return rows


def mean(vals):
    vals = [float(v) for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return (sum(vals) / len(vals), len(vals)) if vals else (None, 0)


def aggregate(rows):
    agg = {}
    for key in [k for k, _, _ in COLUMNS]:
        m, n = mean(rows_val(r[key]) for r in rows)
        agg[key] = m
        agg[key + "_n"] = n
    agg["subjects"] = len(rows)
    return agg


def rows_val(v):
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    return v


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------

COLUMNS = [("own_de", "own-face ΔE ↓", ".1f"), ("other_de", "other-face ΔE", ".1f"),
           ("colour_bound", "colour-bound ↑", ".2f"), ("face_pair", "face pair-bound ↑", ".2f"),
           ("abs_semitones", "abs pitch Δ (st) ↓", ".2f"),
           ("voice_bound", "voice-bound ↑", ".2f"), ("pitch_pair", "pitch pair-bound ↑", ".2f"),
           ("timbre_own", "timbre dist ↓", ".1f"), ("timbre_rank", "timbre rank ↓", ".2f"),
           ("timbre_bound", "timbre-bound ↑", ".2f"), ("timbre_pair", "timbre pair-bound ↑", ".2f"),
           ("likeness", "likeness ↑", ".3f"), ("likeness_rank", "likeness rank ↓", ".2f"),
           ("likeness_pair", "likeness pair-bound ↑", ".2f"),
           ("speaker_pair", "speaker pair-bound ↑", ".2f"),
           ("voice_face_pair", "voice-face pair-bound ↑", ".2f"),
           ("lip_r0", "lip r@0 ↑", "+.3f"), ("lip_rbest", "lip r@best ↑", "+.3f")]


def cell(agg, key, spec):
    v = agg.get(key)
    if v is None:
        return "n/a"
    return f"{format(v, spec)} ({agg[key + '_n']})"


def markdown(summary):
    out = ["# Presence model evaluation (synthetic worlds)", "",
           f"Model: `{json.dumps(summary['model_params'])}`  ",
           f"Generation: {GEN['width']}×{GEN['height']} @ {GEN['fps']:g} fps, {GEN['steps']} steps, "
           f"seed {GEN['seed']}, reference_size {GEN['reference_size']}, face views: {GEN['views']}"
           + (f", sampler `{json.dumps(GEN['sampler_args'])}`" if GEN["sampler_args"] else "")
           + (f", face references hue-turned by {GEN['recolour_degrees']:g}° (every source measured "
              "against the turned ones)" if GEN["recolour_degrees"] else "")
           + (", captions without the subjects' appearance" if GEN["blank_appearance"] else "") + "; "
           + " + ".join(f"{summary['clips_per_kind']} {k}-subject" for k in
                      {"both": ("two", "one"), "two": ("two",), "one": ("one",)}[summary.get("kinds", "both")])
           + " av clips per world.",
           "", "Each cell: mean (number of values). generated = the model's clip; ground truth = the "
           "dataset's own clip measured against the same references (the ceiling); round trip = that "
           "clip encoded and decoded by the model's VAEs and vocoder (what they keep of it: the ceiling "
           "of anything this model generates).", "",
           "| world | source | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
           "|---|---|" + "---|" * len(COLUMNS)]
    for key in ("all",):
        for world in summary["worlds"]:
            for src in SOURCES:
                agg = summary["aggregate"][world][src][key]
                out.append(f"| {world} | {src.replace('_', ' ')} | "
                           + " | ".join(cell(agg, k, s) for k, _, s in COLUMNS) + " |")
    out += ["", "## By clip type", "",
            "| world | source | clips | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
            "|---|---|---|" + "---|" * len(COLUMNS)]
    for world in summary["worlds"]:
        for src in SOURCES:
            for key in ("two_subject", "one_subject"):
                agg = summary["aggregate"][world][src][key]
                out.append(f"| {world} | {src.replace('_', ' ')} | {key.replace('_', '-')} | "
                           + " | ".join(cell(agg, k, s) for k, _, s in COLUMNS) + " |")
    out += ["", "## Per clip", "",
            "| world | clip | split | subjects | source | subject | region | own ΔE | other ΔE | "
            "colour bound | abs st | voice bound | timbre dist | timbre rank | timbre bound | "
            "likeness | likeness rank | "
            "pair-bound face / pitch / timbre / speaker / voice-face / likeness | r@0 | r@best (lag) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in summary["clips"]:
        for src in SOURCES:
            for r, region in zip(c[src]["rows"], c["regions"]):
                f = lambda v, s: "n/a" if v is None else ("yes" if v is True else "no" if v is False else format(v, s))
                out.append(f"| {c['world']} | {c['clip']} | {c['split']} | {c['subject_count']} | "
                           f"{src.replace('_', ' ')} | {r['subject']} | {region} | {f(r['own_de'], '.1f')} | "
                           f"{f(r['other_de'], '.1f')} | {f(r['colour_bound'], '')} | "
                           f"{f(r['abs_semitones'], '.2f')} | {f(r['voice_bound'], '')} | "
                           f"{f(r.get('timbre_own'), '.1f')} | {f(r.get('timbre_rank'), '.2f')} | "
                           f"{f(r.get('timbre_bound'), '')} | {f(r.get('likeness'), '.3f')} | "
                           f"{f(r.get('likeness_rank'), '.2f')} | {f(r.get('face_pair'), '')} / "
                           f"{f(r.get('pitch_pair'), '')} / {f(r.get('timbre_pair'), '')} / "
                           f"{f(r.get('speaker_pair'), '')} / {f(r.get('voice_face_pair'), '')} / "
                           f"{f(r.get('likeness_pair'), '')} | "
                           f"{f(r['lip_r0'], '+.3f')} | {f(r['lip_rbest'], '+.3f')} ({r['best_lag']}) |")
    out += ["", "Definitions:",
            "- own-face ΔE: CIELAB ΔE76 between the subject's screen region (mean over the clip, central "
            "60 %) and its front face reference; one-subject clips use the full frame, two-subject clips "
            "the half where synth_dataset drew the subject (the manifest's `position`; Subject 1 on the left "
            "in worlds without `random_sides`).",
            "- other-face ΔE: the same region against the *other* subject's reference (two-subject only); "
            "colour-bound = own ΔE < other ΔE.",
            "- |pitch Δ|: |12·log2(F0 gen / F0 ref)| of median YIN F0, own voice reference; two-subject "
            "clips use the subject's turn (audio split in equal halves, Subject 1 first); voice-bound = the "
            "turn is closer in pitch to its own reference than to the other's.",
            "- timbre: Euclidean distance between mean mel-cepstra (c1..c12, 40 mel bands 100 Hz-7 kHz, "
            "bands floored 40 dB below each frame's loudest) of the generated speech (the subject's turn "
            "in two-subject clips) and the voice reference; timbre rank: the share of the world's other "
            "speakers (one reference each) whose reference is nearer than the own one (0 = own nearest, "
            "0.5 = chance); timbre-bound: nearer its own reference than the other subject's.",
            "- likeness: does the region show the reference's head (outline, hair, hat, features) "
            "rather than only its colours: the reference photo, cropped to the head with a margin of "
            "backdrop, searched in the subject's region over positions and sizes (every 12th frame, "
            "half resolution); the best normalised cross-correlation (CIELAB, each channel's mean "
            "out; 1 = the same picture), averaged over the frames (scripts/face_likeness.py). "
            f"likeness rank: the share of {FACE_POOL_SIZE} other identities' front references (and the "
            "other subject's) likelier than the own one (0 = own likest, 0.5 = chance); likeness "
            "pair-bound: the given assignment of the two heads to the two places is likelier than "
            "the swapped one.",
            "- pair-bound (two-subject clips, one value per clip): the given assignment of the two "
            "references to the two places (face colour) or turns (pitch, timbre) costs less than the "
            "swapped one; a shift shared by both subjects cannot decide it. speaker pair-bound: the "
            "place whose mouth moves more during a turn (against its own mean) is the place where the "
            "dataset drew that turn's speaker. voice-face pair-bound: the place that looks most like "
            "subject k (the cheaper colour assignment) is the place whose mouth moves more during "
            "subject k's turn, whichever side each face was drawn on: each turn comes with its own "
            "speaker's face (which voice the turn carries is the pitch and timbre pairings' question).",
            "- lip r: Pearson r of mouth-area frame difference vs audio RMS per frame, at lag 0 and the best "
            "lag within ±5 frames (the best-lag value is biased upwards: a max over 11 lags).",
            "- Means count the values that exist (n/a pitch = no voiced frames).", ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------
# Contact sheet
# ----------------------------------------------------------------------------
# One PNG that shows, per evaluated clip, what the model was asked for (face references), what it
# made (generated frames) and what the dataset holds (ground-truth frames). ffmpeg does all the
# decoding / scaling / PNG writing; the tiles come back as raw RGB bytes and are laid out here in
# plain Python, so no image library (PIL) and no text rendering is needed.

TILE = 128                          # tile edge in pixels (the generation size, so no resampling)
GAP = 4                             # grey gap between tiles and between rows
GAP_RGB = (200, 200, 200)           # light grey: gaps
FILL_RGB = (90, 90, 90)             # dark grey: "no image" tile (2nd face of one-subject clips,
                                    # generated frames of --skip-generated runs); darker than the
                                    # gaps and than the face refs' mid-grey background
GEN_POINTS = (0.0, 1 / 3, 2 / 3, 1.0)   # generated frames: first, ~1/3, ~2/3, last
GT_POINTS = (1 / 3, 2 / 3)              # ground-truth frames
SHEET_COLUMNS = (["face reference, Subject 1 (slot 0)",
                  "face reference, Subject 2 (slot 1); grey for one-subject clips"] +
                 [f"generated frame at {p}" for p in ("start", "~1/3", "~2/3", "end")] +
                 [f"ground-truth (dataset) frame at {p}" for p in ("~1/3", "~2/3")])


def ffmpeg_tile(path, vf):
    """Decode the first frame ffmpeg's filter chain `vf` lets through as TILE×TILE raw RGB."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-vf", f"{vf},scale={TILE}:{TILE}",
           "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if res.returncode != 0 or len(res.stdout) != TILE * TILE * 3:
        raise RuntimeError(f"ffmpeg could not make a tile from {path} ({vf}): "
                           f"{res.stderr.decode(errors='replace').strip()[-300:]}")
    return res.stdout


def video_frame_count(path):
    """Frames in the first video stream (packets are counted: nb_frames is not always set)."""
    res = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                          "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        return int(res.stdout.strip().split(",")[0])
    except ValueError:
        raise RuntimeError(f"ffprobe could not count the frames of {path}: {res.stderr.strip()}")


def video_tiles(path, points):
    """Tiles of the frames at fractions `points` of the clip (0 = first frame, 1 = last)."""
    last = video_frame_count(path) - 1
    # select by frame index, not by time: exact first/last frame, no seeking surprises
    return [ffmpeg_tile(path, f"select=eq(n\\,{int(round(p * last))})") for p in points]


def fill_tile():
    return bytes(FILL_RGB) * (TILE * TILE)


def sheet_row_tiles(out, world, clip, entry):
    """The 8 tiles of one row: 2 face refs, 4 generated frames, 2 ground-truth frames."""
    subs = sorted(clip["subjects"], key=lambda s: s.get("slot", 0))
    faces = [ffmpeg_tile(front_ref(world, s), "null") for s in subs[:2]]
    faces += [fill_tile()] * (2 - len(faces))
    gen = os.path.join(out, entry["world"], entry["clip"], "generated", "clip.mp4")
    # --skip-generated runs (or a failed clip) have no generated video: grey tiles keep columns
    gen_tiles = video_tiles(gen, GEN_POINTS) if os.path.isfile(gen) else [fill_tile()] * 4
    gt_tiles = video_tiles(os.path.join(world, clip["video"]), GT_POINTS)
    return faces + gen_tiles + gt_tiles


def compose_sheet(rows):
    """Lay rows of equal-length tile lists onto one RGB canvas; returns (width, height, bytes)."""
    cols = len(rows[0])
    width = cols * TILE + (cols - 1) * GAP
    height = len(rows) * TILE + (len(rows) - 1) * GAP
    canvas = bytearray(bytes(GAP_RGB) * (width * height))
    stride, line = width * 3, TILE * 3
    for r, tiles in enumerate(rows):
        for c, tile in enumerate(tiles):
            x0, y0 = c * (TILE + GAP), r * (TILE + GAP)
            for y in range(TILE):
                o = (y0 + y) * stride + x0 * 3
                canvas[o:o + line] = tile[y * line:(y + 1) * line]
    return width, height, bytes(canvas)


def write_png(path, width, height, rgb):
    res = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i", "-",
                          "-frames:v", "1", path], input=rgb, stderr=subprocess.PIPE)
    if res.returncode != 0:
        raise RuntimeError(f"ffmpeg could not write {path}: {res.stderr.decode(errors='replace')}")


def sheet_order(summary):
    """Clips in sheet order: per world (summary order: seen, then unseen), two-subject first."""
    worlds = summary["worlds"]
    return sorted(summary["clips"], key=lambda c: (worlds.index(c["world"]), -c["subject_count"]))


def sheet_markdown(entries, identities, width, height):
    out = ["# Contact sheet", "",
           f"`contact_sheet.png`: {len(entries)} rows × {len(SHEET_COLUMNS)} tiles of "
           f"{TILE}×{TILE} px, {GAP} px light-grey gaps ({width}×{height} px). "
           "Plain dark-grey tiles mean 'no image'.", "", "Columns (left to right):", ""]
    out += [f"{i + 1}. {c}" for i, c in enumerate(SHEET_COLUMNS)]
    out += ["", "| row | world | clip | split | subjects | identities (slot order) |",
            "|---|---|---|---|---|---|"]
    for i, (e, ids) in enumerate(zip(entries, identities)):
        out.append(f"| {i + 1} | {e['world']} | {e['clip']} | {e.get('split', '')} | "
                   f"{e['subject_count']} | {', '.join(ids)} |")
    return "\n".join(out) + "\n"


def contact_sheet(out, summary):
    """Write <out>/contact_sheet.png and contact_sheet.md from summary + the files under out.

    Only reads what an evaluation left in `out` (worlds/<world>/manifest.jsonl for the face
    references and dataset clips, <world>/<clip>/generated/clip.mp4), so it can be rebuilt
    with --contact-sheet-only without regenerating or re-measuring.
    """
    entries = sheet_order(summary)
    if not entries:
        raise RuntimeError("no clips in the summary: nothing to put on a contact sheet")
    manifests = {}
    rows, identities = [], []
    for e in entries:
        world = os.path.join(out, "worlds", e["world"])
        if e["world"] not in manifests:
            manifests[e["world"]] = {c["id"]: c for c in
                                     read_jsonl(os.path.join(world, "manifest.jsonl"))}
        clip = manifests[e["world"]][e["clip"]]
        rows.append(sheet_row_tiles(out, world, clip, e))
        # slot order, like the face columns (summary's "identities" is in manifest order)
        identities.append([s["identity"] for s in
                           sorted(clip["subjects"], key=lambda s: s.get("slot", 0))])
    width, height, rgb = compose_sheet(rows)
    png = os.path.join(out, "contact_sheet.png")
    write_png(png, width, height, rgb)
    with open(os.path.join(out, "contact_sheet.md"), "w", encoding="utf-8") as f:
        f.write(sheet_markdown(entries, identities, width, height))
    log(f"wrote {png} ({width}x{height}, {len(rows)} rows) and contact_sheet.md")


def contact_sheet_only(out):
    """--contact-sheet-only: rebuild the sheet from an earlier run's summary.json."""
    path = os.path.join(out, "summary.json")
    if not os.path.isfile(path):
        print(f"error: {path} not found (run the evaluation first)", file=sys.stderr)
        return 1
    with open(path, encoding="utf-8") as f:
        summary = json.load(f)
    # The references generation was given: a recoloured run's turned ones.
    global RECOLOUR_DIR
    GEN["recolour_degrees"] = summary.get("generation", {}).get("recolour_degrees", 0.0)
    RECOLOUR_DIR = os.path.join(out, "recoloured_refs")
    try:
        contact_sheet(out, summary)
    except (RuntimeError, KeyError, OSError) as e:
        print(f"error: contact sheet: {e}", file=sys.stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-args", default=DEFAULT_MODEL_ARGS,
                    help="JSON object merged into load_model's params (default: %(default)s = random weights)")
    ap.add_argument("--out", default="out/eval", help="output folder (default: %(default)s)")
    ap.add_argument("--clips", type=int, default=4,
                    help="clips per world and kind (two-subject, one-subject) (default: %(default)s)")
    ap.add_argument("--worlds", default="seen,unseen", help="which worlds (default: %(default)s)")
    ap.add_argument("--kinds", choices=("both", "two", "one"), default="both",
                    help="which clips: two-subject and one-subject, or only one kind (a binding "
                         "study on more two-subject clips: --kinds two --clips 20) (default: %(default)s)")
    ap.add_argument("--views", choices=("front", "front3", "all"), default="front",
                    help="face references given to generation: the front view (one photo), the "
                         "front view repeated into a three-view grid (identity_encode min_views 3, as "
                         "the sample graphs do), or all views packed into a grid (default: %(default)s)")
    ap.add_argument("--sampler-args", default="{}",
                    help="JSON object merged into the sampler's params, e.g. "
                         "'{\"negative_pass_faces\": \"keep\"}'; a \"seed\" replaces the evaluation's "
                         "sampler seed (42), to see how much of a figure is the sampling's draw "
                         "(default: %(default)s)")
    ap.add_argument("--flip-sides", action="store_true",
                    help="captions that state places (random_sides worlds) name the other side at "
                         "generation; the measurement keeps the dataset's sides, so a model that "
                         "follows the caption scores face pair-bound below 0.5")
    ap.add_argument("--recolour-refs", type=float, default=0.0, metavar="DEGREES",
                    help="give generation face references with their hues turned by DEGREES about "
                         "the grey axis (as load_dataset's colour_copies), and measure every source "
                         "against them: a model that copies its reference follows the turn, one that "
                         "paints the identity it learned stays near the dataset's clip (ground truth)")
    ap.add_argument("--blank-appearance", action="store_true",
                    help="captions without the subjects' appearance (caption_compose's subjectN_"
                         "appearance empty): do the colours come from the face reference or the words?")
    ap.add_argument("--skip-generated", action="store_true",
                    help="measure only the ground truth (no generation, no round trip)")
    ap.add_argument("--round-trip-only", action="store_true",
                    help="measure the ground truth and the VAE round trip, without generating (the "
                         "model's VAEs alone; --model-args needs no dit_checkpoint)")
    ap.add_argument("--remeasure", action="store_true",
                    help="measure again the clips an earlier run left in --out (same options), "
                         "without running any graph: for a changed measure_identity.py")
    ap.add_argument("--contact-sheet-only", action="store_true",
                    help="only rebuild contact_sheet.png / .md from an existing --out folder "
                         "(no generation, no measuring, no presence binary needed)")
    ap.add_argument("--recipe", default=RECIPE,
                    help="training graph whose 'world' node gives the worlds' settings: the seen "
                         "world is its world, the unseen one the same settings with seed 99 "
                         "(default: the shipped recipe)")
    args = ap.parse_args(argv)
    GEN["views"] = args.views
    GEN["flip_sides"] = args.flip_sides
    GEN["recolour_degrees"] = args.recolour_refs
    GEN["blank_appearance"] = args.blank_appearance
    if args.contact_sheet_only:
        return contact_sheet_only(os.path.abspath(args.out))
    global WORLD_SETTINGS, SEEN_SEED, WORLDS, RECOLOUR_DIR
    try:
        WORLD_SETTINGS, SEEN_SEED = recipe_world(args.recipe)
    except (OSError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as e:
        ap.error(f"--recipe {args.recipe}: no readable 'world' node ({e!r})")
    if SEEN_SEED == WORLDS[1][1]:
        ap.error(f"--recipe {args.recipe}: its world's seed {SEEN_SEED} is the unseen world's; "
                 "the two worlds would be the same")
    WORLDS = [("seen", SEEN_SEED), WORLDS[1]]
    if args.clips < 1:
        ap.error("--clips must be at least 1")
    try:
        extra = json.loads(args.model_args)
    except json.JSONDecodeError as e:
        ap.error(f"--model-args is not JSON: {e}")
    if not isinstance(extra, dict):
        ap.error("--model-args must be a JSON object")
    try:
        GEN["sampler_args"] = json.loads(args.sampler_args)
    except json.JSONDecodeError as e:
        ap.error(f"--sampler-args is not JSON: {e}")
    if not isinstance(GEN["sampler_args"], dict):
        ap.error("--sampler-args must be a JSON object")
    if "seed" in GEN["sampler_args"]:
        # one seed, stated once: the summary's header and generation settings say the one used
        seed = GEN["sampler_args"].pop("seed")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            ap.error(f"--sampler-args: seed must be a non-negative integer, not {seed!r}")
        GEN["seed"] = seed
    model_params = {"preset": "small", "device": "auto", "seed": 0}
    model_params.update(extra)
    for k in ("dit_checkpoint", "text_checkpoint", "tokenizer", "video_vae_checkpoint",
              "audio_vae_checkpoint", "vocoder_checkpoint"):
        if model_params.get(k):
            p = os.path.abspath(model_params[k])
            if not os.path.exists(p):
                sys.exit(f"error: {k} does not exist: {p}")
            model_params[k] = p
    wanted = [w for w in args.worlds.split(",") if w]
    unknown = set(wanted) - {n for n, _ in WORLDS}
    if unknown:
        ap.error(f"unknown worlds: {sorted(unknown)}")

    binary = presence_binary()
    out = os.path.abspath(args.out)
    RECOLOUR_DIR = os.path.join(out, "recoloured_refs")
    worlds_dir = os.path.join(out, "worlds")
    os.makedirs(worlds_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="presence_eval_")
    t_start = time.time()
    summary = {"model_params": model_params, "clips_per_kind": args.clips, "kinds": args.kinds,
               "generation": GEN,
               "recipe": os.path.abspath(args.recipe), "world_seeds": dict(WORLDS),
               "world_settings": WORLD_SETTINGS, "worlds": [], "clips": [], "aggregate": {},
               "presence": binary}
    try:
        for name, seed in WORLDS:
            if name not in wanted:
                continue
            world = make_world(binary, worlds_dir, name, seed, tmp)
            manifest = read_jsonl(os.path.join(world, "manifest.jsonl"))
            picked = pick_clips(manifest, args.clips, prefer_val=(name == "seen"),
                                counts={"both": (2, 1), "two": (2,), "one": (1,)}[args.kinds])
            pool = voice_pool(world, manifest)
            faces = face_pool(world, manifest)
            summary["worlds"].append(name)
            log(f"[world {name}] picked {', '.join(c['id'] + '/' + c['split'] + '/' + str(len(c['subjects'])) + 's' for c in picked)}")
            for clip in picked:
                cdir = os.path.join(out, name, clip["id"])
                os.makedirs(cdir, exist_ok=True)
                subs = subject_args(world, clip, pool, faces)
                kind = "two_subject" if len(clip["subjects"]) > 1 else "one_subject"
                entry = {"world": name, "clip": clip["id"], "split": clip["split"], "kind": kind,
                         "subject_count": len(clip["subjects"]), "duration": clip["duration"],
                         "identities": [s["identity"] for s in clip["subjects"]],
                         "regions": clip_regions(clip),
                         "caption": clip.get("caption", {}).get("text", "")}
                # Ground truth: the dataset's picture (mp4 without sound) and sound (wav).
                gt = measure(os.path.join(world, clip["video"]), os.path.join(world, clip["audio"]),
                             subs, os.path.join(cdir, "ground_truth.json"),
                             os.path.join(cdir, "ground_truth.log"))
                entry["ground_truth"] = {"rows": subject_rows(gt, kind)}
                if not args.skip_generated:
                    rdir = os.path.join(cdir, "round_trip")
                    os.makedirs(rdir, exist_ok=True)
                    if not args.remeasure:
                        run_graph(binary, round_trip_graph(world, clip, model_params),
                                  os.path.join(cdir, "round_trip_graph.json"), rdir,
                                  os.path.join(cdir, "round_trip_graph.log"))
                    rt = measure(os.path.join(rdir, "clip.mp4"), os.path.join(rdir, "sound.wav"),
                                 subs, os.path.join(cdir, "round_trip.json"),
                                 os.path.join(cdir, "round_trip.log"))
                    entry["round_trip"] = {"rows": subject_rows(rt, kind)}
                else:
                    entry["round_trip"] = {"rows": []}
                if not (args.skip_generated or args.round_trip_only):
                    frames = sampler_frames(clip["duration"], GEN["fps"])
                    gdir = os.path.join(cdir, "generated")
                    os.makedirs(gdir, exist_ok=True)
                    t0 = time.time()
                    if not args.remeasure:
                        run_graph(binary, generation_graph(world, clip, model_params, frames),
                                  os.path.join(cdir, "generate.json"), gdir,
                                  os.path.join(cdir, "generate.log"))
                    gen_s = time.time() - t0      # ~0 with --remeasure: nothing generated
                    composed = logged_caption(os.path.join(cdir, "generate.log"))
                    entry["caption_matches_manifest"] = (composed == entry["caption"]) if composed else None
                    if composed and composed != entry["caption"]:
                        log(f"[{name} {clip['id']}] note: composed caption differs from the manifest text")
                    t1 = time.time()
                    rep = measure(os.path.join(gdir, "clip.mp4"), os.path.join(gdir, "sound.wav"),
                                  subs, os.path.join(cdir, "generated.json"),
                                  os.path.join(cdir, "generated.log"))
                    entry["generated"] = {"rows": subject_rows(rep, kind), "frames": frames,
                                          "generate_seconds": round(gen_s, 1),
                                          "measure_seconds": round(time.time() - t1, 1)}
                    log(f"[{name} {clip['id']}] {kind}: generated {frames} frames in {gen_s:.0f} s")
                else:
                    entry["generated"] = {"rows": []}
                summary["clips"].append(entry)

        for name in summary["worlds"]:
            summary["aggregate"][name] = {}
            for src in SOURCES:
                clips = [c for c in summary["clips"] if c["world"] == name]
                rows = {k: [r for c in clips if k in ("all", c["kind"]) for r in c[src]["rows"]]
                        for k in ("all", "two_subject", "one_subject")}
                summary["aggregate"][name][src] = {k: aggregate(v) for k, v in rows.items()}
        summary["total_seconds"] = round(time.time() - t_start, 1)
        with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2, ensure_ascii=False)
            f.write("\n")
        md = markdown(summary)
        with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as f:
            f.write(md)
        print(md.split("## By clip type")[0])
        log(f"wrote {os.path.join(out, 'summary.json')} and summary.md in {summary['total_seconds']:.0f} s")
        try:
            contact_sheet(out, summary)
        except (RuntimeError, KeyError, OSError) as e:
            # the metrics are written already; a missing picture must not fail the evaluation
            log(f"warning: contact sheet not written: {e}")
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
