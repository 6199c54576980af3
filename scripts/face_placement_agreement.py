#!/usr/bin/env python3
"""What decides where a model puts each face: its references, or the sampler's noise?

Reads the summary.json of several two-subject evaluations (scripts/evaluate_default_model.sh
--kinds two) of one world, made by several models and sampler seeds, and compares their
per-clip "face pair-bound" outcomes (each generated face nearer its own reference than the
swapped assignment would be):

  * the same model with another sampler seed: a model that places faces by their references
    gives the same outcome whatever the noise, so its clips agree (15 of 15);
  * other models with the same sampler seed: models that place faces where the noise happens to
    put colour agree with each other, whoever trained them.

At chance, two outcome strings agree in half their clips. Prints each evaluation's outcome string
(1: pair-bound) and both mean agreements; --json writes them as well.

Usage:
  python3 scripts/face_placement_agreement.py EVAL_DIR... [--json OUT]
"""

import argparse
import itertools
import json
import sys
from pathlib import Path


def outcomes(summary):
    """{(world, clip): pair-bound} of a summary's generated two-subject clips."""
    out = {}
    for clip in summary["clips"]:
        if clip.get("subject_count") != 2 or "generated" not in clip:
            continue
        rows = clip["generated"].get("rows", [])
        pair = [r["face_pair"] for r in rows if r.get("face_pair") is not None]
        if pair:  # the clip's first subject carries the pair's flag
            out[(clip["world"], clip["clip"])] = bool(pair[0])
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("evaluations", nargs="+", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    runs = []  # (model, seed, folder, outcomes)
    for folder in args.evaluations:
        path = folder / "summary.json"
        try:
            summary = json.loads(path.read_text())
            model = summary["model_params"].get("dit_checkpoint", "(random weights)")
            seed = summary["generation"]["seed"]
            found = outcomes(summary)
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"face_placement_agreement: {path}: not an evaluation summary ({e})")
        if not found:
            sys.exit(f"face_placement_agreement: {path}: no generated two-subject clip with a pair-bound flag")
        runs.append((model, seed, folder, found))

    clips = sorted(set.intersection(*(set(r[3]) for r in runs)))
    if not clips:
        sys.exit("face_placement_agreement: the evaluations share no two-subject clip")

    def agreement(a, b):
        return sum(a[3][c] == b[3][c] for c in clips)

    same_model = [agreement(a, b) for a, b in itertools.combinations(runs, 2) if a[0] == b[0] and a[1] != b[1]]
    same_seed = [agreement(a, b) for a, b in itertools.combinations(runs, 2) if a[0] != b[0] and a[1] == b[1]]
    mean = lambda xs: sum(xs) / len(xs) if xs else None

    for model, seed, folder, found in runs:
        print(f"{folder}  seed {seed}  {''.join('1' if found[c] else '0' for c in clips)}  "
              f"{sum(found[c] for c in clips)} of {len(clips)}")
    result = {
        "clips": len(clips),
        "same_model_other_seed": {"pairs": len(same_model), "mean_agreeing_clips": mean(same_model)},
        "same_seed_other_model": {"pairs": len(same_seed), "mean_agreeing_clips": mean(same_seed)},
    }
    for key, what in (("same_model_other_seed", "same model, other sampler seed"),
                      ("same_seed_other_model", "same sampler seed, other model")):
        r = result[key]
        shown = "no such pair" if r["mean_agreeing_clips"] is None else f"{r['mean_agreeing_clips']:.2f} of {len(clips)} clips agree"
        print(f"{what}: {shown} ({r['pairs']} pairs; chance {len(clips) / 2:.1f})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
