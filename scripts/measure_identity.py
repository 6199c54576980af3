#!/usr/bin/env python3
"""Measure how well a generated clip follows its identity references.

For every subject (a face photo, a voice clip and a screen region) this reports:
  * face colour  - CIELAB ΔE76 between the reference face and the subject's region
                   (mean colour and 3-colour k-means palette), plus ΔE to every
                   other subject's reference, so "binding" = own < others;
  * voice pitch  - median F0 of the reference voice vs. the generated audio
                   (whole clip, and the subject's own turn when several subjects
                   speak in order), as a semitone difference;
  * voice timbre - distance between the mean mel-cepstrum (c1..c12: the spectral
                   envelope, loudness excluded) of the reference voice and of the
                   generated speech (the subject's turn when several speak), to the
                   other subjects' references, and the rank of the own reference
                   among those and any --voice-pool references of other speakers;
  * likeness     - does the region show the reference's head (outline, hair, hat, features),
                   not only its colours: the best masked normalised cross-correlation of
                   the reference photo searched over positions and sizes in the region
                   (face_likeness.py), against the other subjects' references and any
                   --face-pool references of other people, with the own one's rank;
  * lip sync     - Pearson correlation between mouth-area motion and the audio RMS
                   envelope at the video frame rate, at lag 0 and the best lag
                   within ±5 frames.
With two or more subjects the clip is also checked as a whole ("pairing"): is the
given assignment of references to places / turns the closest of all assignments?
A shift common to every subject (a colour cast of the decoder, say) cannot decide
it. "speaker" pairs places with turns instead: the place whose mouth moves most in
a turn should be that turn's subject's place (where the dataset put it). "voice_face"
asks the paper's question without regard to sides: the place that looks most like
subject k (by colour) is the place whose mouth moves during subject k's turn.

Usage:
  python3 scripts/measure_identity.py --clip CLIP.mp4 [--audio SOUND.wav] \\
      --subject name=A,face=FACE_A.png,voice=VOICE_A.wav,region=left \\
      --subject name=B,face=FACE_B.png,voice=VOICE_B.wav,region=right \\
      [--voice-pool OTHER_SPEAKER.wav ...] [--face-pool OTHER_FACE.png ...] [--json out.json] [--markdown out.md] [--fps 24]

Only the standard library, numpy and the ffmpeg/ffprobe executables are used.
Without --audio the clip's own audio track is measured.
"""

import argparse
import functools
import itertools
import json
import math
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:  # say what to do rather than print a bare traceback
    sys.exit("error: numpy is required (apt-get install -y python3-numpy), "
             f"not importable from {sys.executable}")

import face_likeness

SAMPLE_RATE = 16000          # every audio input is resampled to this, mono
REGIONS = ("full", "left", "right")
MAX_LAG = 5                  # frames searched either side for the lip-sync lag
LIKENESS_EVERY = 12          # likeness: every 12th frame (2 a second at 24 fps) is searched
MEL_BANDS = 40               # timbre: mel bands 100 Hz..7 kHz, 25 ms frames, 10 ms hop
CEPSTRA = 12                 # c1..c12 (c0, the loudness, is left out)
SPEECH_DB = 30.0             # frames within this many dB of the loud frames count as speech
FLOOR_DB = 40.0              # mel bands are floored this far below the frame's loudest band


class InputError(Exception):
    """A missing or unreadable input; the message names the file."""


# ----------------------------------------------------------------------------
# Decoding (ffmpeg / ffprobe via subprocess)
# ----------------------------------------------------------------------------

def check_file(path, what):
    if not os.path.isfile(path):
        raise InputError(f"{what} not found: {path}")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what} is not readable: {path}")


def probe_video(path, what):
    """Return (width, height, fps or None) of the first video stream."""
    cmd = ["ffprobe", "-v", "error", "-select_streams", "v:0",
           "-show_entries", "stream=width,height,avg_frame_rate,r_frame_rate",
           "-of", "json", path]
    res = subprocess.run(cmd, capture_output=True, text=True)
    try:
        stream = json.loads(res.stdout)["streams"][0]
        w, h = int(stream["width"]), int(stream["height"])
    except (ValueError, KeyError, IndexError):
        msg = res.stderr.strip().splitlines()
        raise InputError(f"{what} has no decodable image/video stream: {path}"
                         + (f" ({msg[-1]})" if msg else ""))
    fps = None
    # avg_frame_rate is the real rate for VFR inputs; r_frame_rate is the fallback.
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = stream.get(key, "0/0").partition("/")
        try:
            val = float(num) / float(den or 1)
        except (ValueError, ZeroDivisionError):
            continue
        if val > 0:
            fps = val
            break
    return w, h, fps


def iter_frames(path, what):
    """Yield RGB frames (h, w, 3) uint8 one at a time, so long clips fit in memory."""
    w, h, _ = probe_video(path, what)
    size = w * h * 3
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo",
                             "-pix_fmt", "rgb24", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while True:
            buf = proc.stdout.read(size)
            if len(buf) < size:
                break
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        if proc.wait() != 0:
            raise InputError(f"ffmpeg could not decode {what}: {path}"
                             + (f" ({err.splitlines()[-1]})" if err else ""))


def load_image(path, what):
    check_file(path, what)
    for frame in iter_frames(path, what):
        return frame.astype(np.float64)
    raise InputError(f"{what} decoded to no pixels: {path}")


def load_audio(path, what):
    """Decode any audio (PCM16, float WAV, a video's track...) to mono f32 at 16 kHz.

    Going through ffmpeg for every format avoids a second code path for the wave module.
    """
    check_file(path, what)
    res = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vn", "-ac", "1",
                          "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"],
                         capture_output=True)
    if res.returncode != 0:
        err = res.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"ffmpeg could not decode {what}: {path}"
                         + (f" ({err[-1]})" if err else ""))
    samples = np.frombuffer(res.stdout, np.float32).astype(np.float64)
    if samples.size == 0:
        raise InputError(f"{what} has no audio samples: {path}")
    return samples


# ----------------------------------------------------------------------------
# Colour
# ----------------------------------------------------------------------------

def srgb_to_lab(rgb):
    """sRGB (0..255, any shape (..., 3)) -> CIELAB under D65."""
    c = np.asarray(rgb, np.float64) / 255.0
    # Undo the sRGB transfer curve so the matrix works on linear light.
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])        # D65 white point
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    L = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1)


def delta_e(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def central(img, frac=0.6):
    """Central `frac` of an image in both directions (drops background/border)."""
    h, w = img.shape[:2]
    y0, x0 = int(round(h * (1 - frac) / 2)), int(round(w * (1 - frac) / 2))
    return img[y0:max(y0 + 1, h - y0), x0:max(x0 + 1, w - x0)]


def kmeans_lab(pixels, k=3, iters=20, max_points=20000):
    """Tiny deterministic k-means on Lab pixels (n, 3) -> (centroids, weights).

    Initial centroids are the pixels at the 1/(2k), 3/(2k)... quantiles of L*,
    so results never depend on a random seed.
    """
    if len(pixels) > max_points:          # fixed stride subsample keeps it fast
        pixels = pixels[:: int(math.ceil(len(pixels) / max_points))]
    order = np.argsort(pixels[:, 0], kind="stable")
    idx = [order[min(len(order) - 1, int(len(order) * (2 * i + 1) / (2 * k)))]
           for i in range(k)]
    cent = pixels[idx].copy()
    for _ in range(iters):
        dist = ((pixels[:, None, :] - cent[None, :, :]) ** 2).sum(-1)
        label = dist.argmin(1)
        new = cent.copy()
        for j in range(k):
            sel = pixels[label == j]
            if len(sel):                  # an empty cluster keeps its old centroid
                new[j] = sel.mean(0)
        if np.allclose(new, cent):
            break
        cent = new
    weights = np.bincount(label, minlength=k) / len(pixels)
    return cent, weights


def palette_distance(ca, cb):
    """Mean ΔE of centroids matched greedily (closest pair first, each used once)."""
    d = np.linalg.norm(ca[:, None, :] - cb[None, :, :], axis=-1)
    used_a, used_b, total = set(), set(), []
    for flat in np.argsort(d, axis=None, kind="stable"):
        i, j = divmod(int(flat), d.shape[1])
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        total.append(d[i, j])
    return float(np.mean(total))


def colour_summary(rgb_img):
    lab = srgb_to_lab(central(rgb_img)).reshape(-1, 3)
    cent, weights = kmeans_lab(lab)
    return {"mean_lab": lab.mean(0), "centroids": cent, "weights": weights}


# ----------------------------------------------------------------------------
# Pitch (YIN)
# ----------------------------------------------------------------------------

def yin_pitch(x, sr=SAMPLE_RATE, frame_s=0.040, hop_s=0.010, fmin=60.0, fmax=500.0,
              threshold=0.15, voiced_max=0.35, energy_db=-35.0):
    """Return per-frame F0 in Hz (NaN where unvoiced) using YIN.

    A frame is voiced when its cumulative-mean-normalised difference at the chosen
    lag is below `voiced_max` (periodic) and its RMS is within `energy_db` of the
    loud frames (so quiet noise between words does not vote).
    """
    n = int(round(frame_s * sr))
    hop = int(round(hop_s * sr))
    tau_min = int(math.floor(sr / fmax))
    tau_max = int(math.ceil(sr / fmin))
    win = n - tau_max                       # integration window that fits every lag
    if len(x) < n:
        return np.array([])
    count = 1 + (len(x) - n) // hop
    f0 = np.full(count, np.nan)
    rms_all = np.array([np.sqrt(np.mean(x[i * hop:i * hop + n] ** 2)) for i in range(count)])
    loud = np.percentile(rms_all, 95)
    min_rms = max(loud * 10 ** (energy_db / 20), 1e-4)
    taus = np.arange(1, tau_max + 1)
    for start in range(0, count, 512):      # chunks bound memory on long audio
        idx = np.arange(start, min(count, start + 512))
        frames = np.stack([x[i * hop:i * hop + n] for i in idx])
        base = frames[:, :win]
        d = np.empty((len(idx), tau_max + 1))
        d[:, 0] = 0.0
        for t in taus:
            diff = base - frames[:, t:t + win]
            d[:, t] = (diff * diff).sum(1)
        # Cumulative mean normalised difference: removes the bias towards lag 0.
        cum = np.cumsum(d[:, 1:], axis=1) / taus
        cmnd = np.ones_like(d)
        cmnd[:, 1:] = np.divide(d[:, 1:], cum, out=np.ones_like(cum), where=cum > 0)
        for row, i in enumerate(idx):
            if rms_all[i] < min_rms:
                continue
            c = cmnd[row]
            # First dip under the threshold (then walk to its bottom) avoids
            # picking a multiple of the period (octave-down errors).
            below = np.nonzero(c[tau_min:tau_max] < threshold)[0]
            if below.size:
                t = tau_min + int(below[0])
                while t + 1 < tau_max and c[t + 1] < c[t]:
                    t += 1
            else:
                t = tau_min + int(np.argmin(c[tau_min:tau_max]))
            if c[t] > voiced_max:
                continue
            # Parabolic interpolation for sub-sample period precision.
            if tau_min < t < tau_max:
                a, b, cc = c[t - 1], c[t], c[t + 1]
                den = a - 2 * b + cc
                shift = 0.5 * (a - cc) / den if den > 0 else 0.0
            else:
                shift = 0.0
            f0[i] = sr / (t + shift)
    return f0


def median_f0(x):
    f0 = yin_pitch(x)
    voiced = f0[~np.isnan(f0)] if f0.size else f0
    if voiced.size == 0:
        return None, 0.0
    return float(np.median(voiced)), float(voiced.size / f0.size)


def semitones(f_gen, f_ref):
    if not f_gen or not f_ref:
        return None
    return 12.0 * math.log2(f_gen / f_ref)


# ----------------------------------------------------------------------------
# Timbre (mean mel-cepstrum)
# ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)   # one per FFT size: built once, not once per voice
def mel_filterbank(n_fft, sr=SAMPLE_RATE, bands=MEL_BANDS, fmin=100.0, fmax=7000.0):
    """Triangular HTK-mel filters, (bands, n_fft // 2 + 1)."""
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)
    hz = lambda m: 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)
    edges = hz(np.linspace(mel(fmin), mel(fmax), bands + 2))
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    fb = np.zeros((bands, freqs.size))
    for i in range(bands):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        fb[i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return fb


def timbre_vector(x, sr=SAMPLE_RATE):
    """Mean of c1..c12 of the mel-cepstrum over the speech frames, or None without speech.

    The cepstrum's low coefficients describe the spectral envelope (vocal tract, voice quality,
    and a vocoder's colouring); c0 is the level and is dropped, so loudness does not count.
    """
    frame, hop, n_fft = int(0.025 * sr), int(0.010 * sr), 512
    if x.size < frame:
        return None
    count = 1 + (x.size - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(count)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(frame), n_fft)) ** 2
    energy_db = 10.0 * np.log10(spec.sum(1) + 1e-12)
    speech = energy_db >= np.percentile(energy_db, 95) - SPEECH_DB
    if speech.sum() < 5 or energy_db.max() < -80.0:       # silence: no timbre to speak of
        return None
    mel = spec[speech] @ mel_filterbank(n_fft, sr).T
    # The low bands are narrow enough to resolve single harmonics; the deep gaps between them
    # are pitch, not timbre, and would dominate the cepstrum. Raising every band to at least
    # FLOOR_DB below the frame's loudest keeps the envelope and drops most of the pitch.
    mel = np.maximum(mel, mel.max(1, keepdims=True) * 10.0 ** (-FLOOR_DB / 10.0))
    logmel = np.log(np.maximum(mel, 1e-20))
    n = MEL_BANDS                                            # orthonormal DCT-II
    k = np.arange(1, CEPSTRA + 1)[:, None]
    dct = math.sqrt(2.0 / n) * np.cos(math.pi * k * (np.arange(n)[None, :] + 0.5) / n)
    return (logmel @ dct.T).mean(0)


def timbre_distance(a, b):
    if a is None or b is None:
        return None
    return float(np.linalg.norm(a - b))


def turn_activity(motion, turns, k):
    """Mean mouth motion during turn k (turns of equal length) minus the mean over the clip;
    None when the clip is too short to split."""
    if motion.size < turns:
        return None
    part = np.array_split(motion, turns)[k]
    return float(part.mean() - motion.mean())


def assignment_totals(cost):
    """{permutation p (place i -> reference p[i]): total cost}; None when a cost is missing."""
    n = len(cost)
    if any(c is None for row in cost for c in row):
        return None
    return {p: sum(cost[i][p[i]] for i in range(n)) for p in itertools.permutations(range(n))}


def best_assignment(cost):
    """cost[i][j]: subject i's place/turn against reference j. True when the identity
    assignment (i -> i) costs less than every other; None when a cost is missing."""
    totals = assignment_totals(cost)
    if totals is None:
        return None, None, None
    own = totals.pop(tuple(range(len(cost))))
    rival = min(totals.values())
    return own < rival, float(own), float(rival)


def cheapest_assignment(cost):
    """The permutation p (place i -> reference p[i]) of least total cost; None when a cost is
    missing or two permutations tie for least."""
    totals = assignment_totals(cost)
    if totals is None:
        return None
    ranked = sorted(totals.items(), key=lambda kv: kv[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def negated(v):
    """-v, or None where the value is missing (too few frames for the turns)."""
    return None if v is None else -v


# ----------------------------------------------------------------------------
# Lip sync
# ----------------------------------------------------------------------------

def pearson(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return None                          # undefined for constant series
    return float(np.corrcoef(a, b)[0, 1])


def audio_envelope(x, fps, count):
    """RMS of the audio over each video frame's time span; zero past the audio's end."""
    env = np.zeros(count)
    for i in range(count):
        a = int(round(i * SAMPLE_RATE / fps))
        b = int(round((i + 1) * SAMPLE_RATE / fps))
        seg = x[a:b]
        if seg.size:
            env[i] = math.sqrt(float(np.mean(seg ** 2)))
    return env


def lag_correlations(motion, env, max_lag=MAX_LAG):
    """Correlation of motion[t] with env[t - lag]; positive lag = mouth trails audio."""
    out = {}
    n = len(motion)
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            m, e = motion[lag:], env[:n - lag]
        else:
            m, e = motion[:n + lag], env[-lag:]
        out[lag] = pearson(m, e)
    return out


# ----------------------------------------------------------------------------
# Clip analysis
# ----------------------------------------------------------------------------

def region_slice(region, width):
    half = width // 2
    return {"full": slice(0, width), "left": slice(0, half), "right": slice(half, width)}[region]


def analyse_video(path, subjects):
    """One pass over the clip: per subject, the mean region image, mouth motion and the region
    frames likeness searches (half-resolution CIELAB, every LIKENESS_EVERY-th frame)."""
    check_file(path, "clip")
    w, h, fps = probe_video(path, "clip")
    sums = {s["name"]: None for s in subjects}
    motion = {s["name"]: [] for s in subjects}
    sampled = {s["name"]: [] for s in subjects}
    prev = {}
    count = 0
    r0, r1 = int(round(h * 0.55)), max(int(round(h * 0.85)), int(round(h * 0.55)) + 1)
    for frame in iter_frames(path, "clip"):
        count += 1
        for s in subjects:
            name = s["name"]
            reg = frame[:, region_slice(s["region"], w)].astype(np.float64)
            sums[name] = reg.copy() if sums[name] is None else sums[name] + reg
            if (count - 1) % LIKENESS_EVERY == 0:
                sampled[name].append(face_likeness.half_resolution(srgb_to_lab(reg)))
            rw = reg.shape[1]
            c0 = int(round(rw * 0.25))
            c1 = max(int(round(rw * 0.75)), c0 + 1)
            mouth = reg[r0:r1, c0:c1]
            if name in prev:
                motion[name].append(float(np.abs(mouth - prev[name]).mean()))
            prev[name] = mouth
    if count == 0:
        raise InputError(f"clip decoded to no frames: {path}")
    means = {k: v / count for k, v in sums.items()}
    return means, {k: np.array(v) for k, v in motion.items()}, sampled, count, fps


def parse_subject(text):
    fields = {}
    for part in text.split(","):
        key, sep, val = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"subject field without '=': {part!r}")
        fields[key.strip()] = val.strip()
    missing = [k for k in ("name", "face", "voice") if not fields.get(k)]
    if missing:
        raise argparse.ArgumentTypeError(f"subject {text!r} lacks {', '.join(missing)}")
    fields.setdefault("region", "full")
    if fields["region"] not in REGIONS:
        raise argparse.ArgumentTypeError(
            f"subject {fields['name']}: region must be one of {'|'.join(REGIONS)}")
    return fields


def rival_paths(pool, own, what):
    """The pool's files, checked, without repeats and without the subjects' own references (another
    copy of one's own reference is no rival)."""
    own = {os.path.realpath(p) for p in own}
    out = []
    for p in pool or []:
        check_file(p, what)
        if os.path.realpath(p) not in own and p not in out:
            out.append(p)
    return out


def measure(args):
    subjects = args.subject
    names = [s["name"] for s in subjects]
    if len(set(names)) != len(names):
        raise InputError(f"subject names must be unique: {names}")

    # Check every path first so the user learns about all-missing inputs early.
    check_file(args.clip, "clip")
    if args.audio:
        check_file(args.audio, "audio")
    for s in subjects:
        check_file(s["face"], f"face image of subject {s['name']}")
        check_file(s["voice"], f"voice reference of subject {s['name']}")
    pool_paths = rival_paths(args.voice_pool, [s["voice"] for s in subjects], "--voice-pool reference")
    face_pool = rival_paths(args.face_pool, [s["face"] for s in subjects], "--face-pool reference")

    faces = {s["name"]: load_image(s["face"], f"face image of subject {s['name']}") for s in subjects}
    refs = {n: colour_summary(img) for n, img in faces.items()}
    templates = {n: face_likeness.reference_template(srgb_to_lab(img)) for n, img in faces.items()}
    pool_templates = [face_likeness.reference_template(srgb_to_lab(load_image(p, "--face-pool reference")))
                      for p in face_pool]
    # Decode the reference voices before the (slow) clip pass so bad files fail fast.
    ref_voice = {s["name"]: load_audio(s["voice"], f"voice reference of subject {s['name']}")
                 for s in subjects}
    ref_pitch = {n: median_f0(x) for n, x in ref_voice.items()}
    ref_timbre = {n: timbre_vector(x) for n, x in ref_voice.items()}
    pool_timbre = [timbre_vector(load_audio(p, "--voice-pool reference")) for p in pool_paths]
    region_means, motion, sampled, frame_count, probed_fps = analyse_video(args.clip, subjects)
    # like[i][j]: region of subject i against subject j's reference; pool_like[i]: against the pool.
    like, pool_like = [], []
    for s in subjects:
        scores = face_likeness.likeness(sampled[s["name"]],
                                        [templates[n] for n in names] + pool_templates)
        like.append(scores[:len(names)])
        pool_like.append(scores[len(names):])
    fps = args.fps or probed_fps or 24.0

    audio = load_audio(args.audio, "audio") if args.audio else load_audio(args.clip, "audio track of the clip (or pass --audio)")
    clip_f0, clip_voiced = median_f0(audio)
    # Subjects speak in turns in their listed order: split the audio into equal turns.
    turns = []
    speech = [audio]                  # what each subject's timbre is measured on
    if len(subjects) > 1:
        edges = np.linspace(0, len(audio), len(subjects) + 1).astype(int)
        speech = [audio[edges[i]:edges[i + 1]] for i in range(len(subjects))]
        turns = [median_f0(seg) for seg in speech]
    gen_timbre = [timbre_vector(seg) for seg in speech]

    env = audio_envelope(audio, fps, frame_count)

    report = {"clip": args.clip, "audio": args.audio or args.clip, "fps": fps,
              "frames": frame_count, "audio_seconds": len(audio) / SAMPLE_RATE,
              "clip_pitch_hz": clip_f0, "clip_voiced_fraction": clip_voiced,
              "subjects": []}
    gen_lab = {}                      # each place's mean colour, reused by the pairing below
    for i, s in enumerate(subjects):
        name = s["name"]
        gen = colour_summary(region_means[name])
        gen_lab[name] = gen["mean_lab"]
        own = refs[name]
        others = {o: delta_e(gen["mean_lab"], refs[o]["mean_lab"]) for o in names if o != name}
        colour = {
            "ref_mean_lab": own["mean_lab"].round(2).tolist(),
            "gen_mean_lab": gen["mean_lab"].round(2).tolist(),
            "mean_delta_e": delta_e(gen["mean_lab"], own["mean_lab"]),
            "palette_delta_e": palette_distance(gen["centroids"], own["centroids"]),
            "delta_e_to_other_refs": others,
            "palette_delta_e_to_other_refs": {
                o: palette_distance(gen["centroids"], refs[o]["centroids"]) for o in others},
        }
        colour["bound"] = (colour["mean_delta_e"] < min(others.values())) if others else None

        ref_f0, ref_voiced = ref_pitch[name]
        pitch = {"ref_hz": ref_f0, "ref_voiced_fraction": ref_voiced,
                 "clip_hz": clip_f0, "clip_semitones": semitones(clip_f0, ref_f0)}
        if turns:
            pitch["turn"] = i + 1
            pitch["turn_hz"] = turns[i][0]
            pitch["turn_semitones"] = semitones(turns[i][0], ref_f0)

        tv = gen_timbre[i if turns else 0]
        own_t = timbre_distance(tv, ref_timbre[name])
        other_t = {o: timbre_distance(tv, ref_timbre[o]) for o in names if o != name}
        pool_t = [timbre_distance(tv, v) for v in pool_timbre]
        rivals = [d for d in list(other_t.values()) + pool_t if d is not None]
        timbre = {"own_distance": own_t, "distance_to_other_refs": other_t,
                  "bound": (own_t < min(other_t.values())
                            if turns and own_t is not None and None not in other_t.values() else None),
                  "pool_size": 1 + len(rivals) if own_t is not None else None,
                  "rank": 1 + sum(d < own_t for d in rivals) if own_t is not None else None}
        # 0 = own reference nearest, 1 = farthest, 0.5 = chance.
        timbre["rank_fraction"] = ((timbre["rank"] - 1) / len(rivals)
                                   if own_t is not None and rivals else None)

        # None throughout when the region is too small to search (likeness() says so).
        own_l = like[i][i]
        other_l = {o: like[i][j] for j, o in enumerate(names) if o != name}
        # A reference whose shape fits no search size is no rival.
        others_known = [v for v in other_l.values() if v is not None]
        rivals_l = others_known + [v for v in pool_like[i] if v is not None]
        known = own_l is not None
        likeness = {"own": own_l, "to_other_refs": other_l,
                    "bound": own_l > max(others_known) if known and others_known else None,
                    "pool_size": 1 + len(rivals_l) if known else None,
                    "rank": 1 + sum(v > own_l for v in rivals_l) if known else None,
                    # 0 = own reference the likest, 1 = the least, 0.5 = chance.
                    "rank_fraction": (sum(v > own_l for v in rivals_l) / len(rivals_l)
                                      if known and rivals_l else None)}

        # motion[k] is the change from frame k to k+1, so pair it with frame k+1's audio.
        lags = lag_correlations(motion[name], env[1:])
        valid = {k: v for k, v in lags.items() if v is not None}
        best = max(valid, key=lambda k: valid[k]) if valid else None
        lip = {"lag0_r": lags[0], "best_lag_frames": best,
               "best_r": valid[best] if best is not None else None,
               "mean_mouth_motion": float(motion[name].mean()) if motion[name].size else None}

        report["subjects"].append({"name": name, "region": s["region"], "face": s["face"],
                                   "voice": s["voice"], "colour": colour, "pitch": pitch,
                                   "timbre": timbre, "likeness": likeness, "lip_sync": lip})

    # Voice binding: each turn's pitch should be closer to its own speaker than to others.
    if turns:
        for i, entry in enumerate(report["subjects"]):
            own_st = entry["pitch"]["turn_semitones"]
            other_st = [semitones(turns[i][0], ref_pitch[o][0]) for o in names if o != entry["name"]]
            if own_st is None or any(v is None for v in other_st):
                entry["pitch"]["bound"] = None
            else:
                entry["pitch"]["bound"] = abs(own_st) < min(abs(v) for v in other_st)

    # Pairing: the whole clip against every other assignment of references to places/turns.
    if turns:
        def abs_st(i, j):
            v = semitones(turns[i][0], ref_pitch[names[j]][0])
            return abs(v) if v is not None else None
        costs = {
            "colour": [[delta_e(gen_lab[names[i]], refs[names[j]]["mean_lab"]) for j in range(len(names))]
                       for i in range(len(names))],
            "pitch": [[abs_st(i, j) for j in range(len(names))] for i in range(len(names))],
            "timbre": [[timbre_distance(gen_timbre[i], ref_timbre[names[j]]) for j in range(len(names))]
                       for i in range(len(names))],
            # Likeness: each place shows its own subject's head rather than the other's.
            "likeness": [[negated(like[i][j]) for j in range(len(names))] for i in range(len(names))],
            # Speaker: the place whose mouth moves most during a turn (against its own mean, so a
            # camera move that shakes every place cancels) is that turn's speaker's place, where
            # the dataset drew it (voice_face below asks it without regard to sides).
            "speaker": [[negated(turn_activity(motion[names[i]], len(names), j)) for j in range(len(names))]
                        for i in range(len(names))],
        }
        report["pairing"] = {}
        for what, cost in costs.items():
            bound, own, rival = best_assignment(cost)
            report["pairing"][what] = {"bound": bound, "own_cost": own, "best_other_cost": rival}
        # Voice-face: wherever the faces were drawn, the place that looks most like subject k (the
        # colour assignment) is the place whose mouth moves during subject k's turn (the speaker
        # assignment). Both must be decided; it says nothing of which voice the turn carries (the
        # pitch and timbre pairings do).
        by_colour = cheapest_assignment(costs["colour"])
        by_motion = cheapest_assignment(costs["speaker"])
        report["pairing"]["voice_face"] = {
            "bound": (by_colour == by_motion) if by_colour is not None and by_motion is not None else None,
            "faces_by_colour": list(by_colour) if by_colour is not None else None,
            "turns_by_motion": list(by_motion) if by_motion is not None else None}
    return report


# ----------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------

def fmt(v, spec=".2f"):
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def table_rows(report):
    rows = []
    for s in report["subjects"]:
        c, p, t, l, k = s["colour"], s["pitch"], s["timbre"], s["lip_sync"], s["likeness"]
        others = ", ".join(f"{k}:{v:.1f}" for k, v in c["delta_e_to_other_refs"].items()) or "-"
        rows.append([
            s["name"], s["region"],
            fmt(c["mean_delta_e"], ".1f"), fmt(c["palette_delta_e"], ".1f"), others,
            fmt(c["bound"]),
            fmt(p["ref_hz"], ".1f"), fmt(p["clip_hz"], ".1f"), fmt(p["clip_semitones"], "+.2f"),
            fmt(p.get("turn_hz"), ".1f"), fmt(p.get("turn_semitones"), "+.2f"), fmt(p.get("bound")),
            fmt(t["own_distance"], ".2f"),
            f"{t['rank']}/{t['pool_size']}" if t["rank"] is not None else "n/a", fmt(t["bound"]),
            fmt(k["own"], ".3f"), f"{k['rank']}/{k['pool_size']}" if k["rank"] is not None else "n/a",
            fmt(k["bound"]),
            fmt(l["lag0_r"], "+.3f"), fmt(l["best_lag_frames"]), fmt(l["best_r"], "+.3f"),
        ])
    return rows


HEADERS = ["subject", "region", "ΔE mean", "ΔE palette", "ΔE others", "colour bound",
           "ref F0", "clip F0", "clip st", "turn F0", "turn st", "voice bound",
           "timbre dist", "timbre rank", "timbre bound",
           "likeness", "likeness rank", "likeness bound",
           "lip r@0", "best lag", "lip r@best"]


def text_table(report):
    rows = [HEADERS] + table_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    head = (f"clip {report['clip']}: {report['frames']} frames @ {report['fps']:.3g} fps, "
            f"audio {report['audio_seconds']:.2f} s, clip F0 {fmt(report['clip_pitch_hz'], '.1f')} Hz")
    notes = ("ΔE: CIELAB ΔE76 (lower = closer); st: semitones gen vs ref; timbre: mel-cepstral "
             "distance, rank of the own reference among all references (1 = nearest); "
             "likeness: best normalised cross-correlation of the reference head in the region "
             "(1 = the same picture), rank among all references (1 = likest); "
             "lag > 0: mouth motion trails audio (frames)")
    return "\n".join([head, ""] + lines + pairing_lines(report) + ["", notes])


def pairing_lines(report):
    """'pairing: colour yes (own 12.0 < 30.5) ...' for clips with several subjects."""
    if "pairing" not in report:
        return []
    parts = []
    for what, v in report["pairing"].items():
        if "own_cost" not in v:     # voice_face: two assignments compared, no costs of its own
            detail = (f" (faces by colour {v['faces_by_colour']}, turns by motion {v['turns_by_motion']})"
                      if v["bound"] is not None else "")
        else:
            detail = (f" (own {v['own_cost']:.2f} vs best other {v['best_other_cost']:.2f})"
                      if v["bound"] is not None else "")
        parts.append(f"{what} {fmt(v['bound'])}{detail}")
    return ["", "pairing (given assignment closest of all): " + "; ".join(parts)]


def markdown_table(report):
    out = [f"# Identity measurements: `{report['clip']}`", "",
           f"{report['frames']} frames @ {report['fps']:.3g} fps, audio {report['audio_seconds']:.2f} s "
           f"(`{report['audio']}`), clip F0 {fmt(report['clip_pitch_hz'], '.1f')} Hz", "",
           "| " + " | ".join(HEADERS) + " |",
           "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(r) + " |" for r in table_rows(report)]
    out += pairing_lines(report)
    out += ["", "ΔE: CIELAB ΔE76 (lower = closer). st: semitones, 12·log2(gen/ref). "
            "Likeness: best normalised cross-correlation of the reference's head in the region "
            "(1 = the same picture); its rank among every reference given (1 = likest). "
            "Lag > 0: mouth motion trails the audio by that many frames.", ""]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", required=True, help="generated video")
    ap.add_argument("--audio", help="generated audio (default: the clip's audio track)")
    ap.add_argument("--subject", required=True, action="append", type=parse_subject,
                    help="name=N,face=IMG,voice=WAV,region=full|left|right (repeat per subject)")
    ap.add_argument("--voice-pool", action="append", metavar="WAV",
                    help="a voice reference of another speaker, ranked against each subject's own "
                         "for timbre (repeat; the subjects' own references are left out)")
    ap.add_argument("--face-pool", action="append", metavar="IMG",
                    help="a face reference of another person, ranked against each subject's own "
                         "for likeness (repeat; the subjects' own references are left out)")
    ap.add_argument("--json", help="write the full report as JSON here")
    ap.add_argument("--markdown", help="write a markdown table here")
    ap.add_argument("--fps", type=float, help="video frame rate (default: probed from the clip)")
    args = ap.parse_args(argv)
    if args.fps is not None and args.fps <= 0:
        ap.error("--fps must be positive")

    try:
        report = measure(args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:        # ffmpeg/ffprobe themselves missing
        print(f"error: cannot run {e.filename}: is ffmpeg installed?", file=sys.stderr)
        return 2
    print(text_table(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, ensure_ascii=False)
            f.write("\n")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(markdown_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
