"""Face likeness: does a screen region show the reference's head (its outline, hair, hat, features)?

Colour distances (measure_identity.py) say whether a region has a face's colours; they cannot tell
a blob of the right colours from a drawn head. Likeness asks for the layout: the reference photo,
cropped to the head with a margin of its backdrop, is searched for in the region at every position
and at several sizes, and the best normalised cross-correlation (CIELAB, each channel's mean taken
out, so a colour cast or a different backdrop colour does not count) is the region's likeness to
that reference. A region that shows the reference's head scores near 1; one of the right colours
without its layout scores no better than any other head.

The correlation is masked (Padfield, "Masked object registration in the Fourier domain", 2012):
a head may leave the frame, as zoomed-in shots cut off the neck or the hair, and only the part of
the template inside the frame is compared, as long as that is at least MIN_OVERLAP of it.

Frames and templates are compared at half resolution: the measure is about a head's layout, not
about pixels, and the FFTs are four times cheaper.
"""

import numpy as np

# Template heights (half-resolution pixels) searched: a quarter of a 128-pixel frame to more than
# its height, in steps of about 1.25.
HEIGHTS = (16, 20, 25, 32, 40, 50, 63, 79)
MIN_OVERLAP = 0.6        # share of a template that must lie inside the region to count
BACKDROP_DE = 8.0        # ΔE from the reference's corner colour above which a pixel is the head
MARGIN = 0.15            # backdrop kept around the head box, as a share of its size: the outline counts


def half_resolution(lab):
    """2×2 box average of an (h, w, 3) image (odd edges dropped)."""
    h, w = lab.shape[0] // 2 * 2, lab.shape[1] // 2 * 2
    return lab[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3))


def resize(img, h, w):
    """Bilinear resize of an (H, W, C) array to (h, w, C), pixel centres aligned."""
    H, W = img.shape[:2]
    ys = np.clip((np.arange(h) + 0.5) * H / h - 0.5, 0, H - 1)
    xs = np.clip((np.arange(w) + 0.5) * W / w - 0.5, 0, W - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, H - 1), np.minimum(x0 + 1, W - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def reference_template(lab):
    """The head of a reference photo (full-resolution CIELAB, (h, w, 3)), cropped with MARGIN of
    backdrop around it, at half resolution. The backdrop is the median of the four corners; a
    photo without a distinct backdrop is used whole."""
    corners = np.concatenate([lab[:4, :4].reshape(-1, 3), lab[:4, -4:].reshape(-1, 3),
                              lab[-4:, :4].reshape(-1, 3), lab[-4:, -4:].reshape(-1, 3)])
    head = np.linalg.norm(lab - np.median(corners, axis=0), axis=2) > BACKDROP_DE
    if head.sum() < 16:
        return half_resolution(lab)
    ys, xs = np.nonzero(head)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    my, mx = int((y1 - y0) * MARGIN), int((x1 - x0) * MARGIN)
    crop = lab[max(0, y0 - my):min(lab.shape[0], y1 + my), max(0, x0 - mx):min(lab.shape[1], x1 + mx)]
    return half_resolution(crop)


class Region:
    """One half-resolution region frame, zero-padded so templates may overlap its edges, with the
    Fourier transforms every template's correlation reuses."""

    def __init__(self, lab):
        self.h, self.w = lab.shape[:2]
        # A template counts while MIN_OVERLAP of it is inside, so it may stick out by the rest of
        # its largest size (aspect up to 1.5). Circular correlation needs no more padding: a valid
        # position plus a template offset never wraps round.
        pad = int(np.ceil((1 - MIN_OVERLAP) * max(HEIGHTS) * 1.5))
        self.size = self.shape = (self.h + 2 * pad, self.w + 2 * pad)
        f = np.zeros(self.size + (3,))
        f[pad:pad + self.h, pad:pad + self.w] = lab
        inside = np.zeros(self.size)
        inside[pad:pad + self.h, pad:pad + self.w] = 1
        self.F = [np.fft.rfft2(f[..., c], s=self.shape) for c in range(3)]
        self.F2 = sum(np.fft.rfft2(f[..., c] ** 2, s=self.shape) for c in range(3))
        self.M = np.fft.rfft2(inside, s=self.shape)

    def inverse(self, X, h, w):
        return np.fft.irfft2(X, s=self.shape)[:self.size[0] - h + 1, :self.size[1] - w + 1]

    def fits(self, h, w):
        """Whether a template of h × w can lie mostly (MIN_OVERLAP) inside the region."""
        return not (h * w * MIN_OVERLAP > self.h * self.w or h > 1.6 * self.h or w > 1.6 * self.w)

    def spectra(self, template):
        """The template's transforms at every HEIGHTS size that fits; they depend only on the
        region's shape, so every frame of a region reuses them."""
        out = []
        conj = lambda a: np.conj(np.fft.rfft2(a, s=self.shape))
        for h in HEIGHTS:
            w = max(1, int(round(h * template.shape[1] / template.shape[0])))
            if not self.fits(h, w):
                continue
            t = resize(template, h, w)
            out.append((h, w, conj(np.ones((h, w))), [conj(t[..., c]) for c in range(3)],
                        conj((t ** 2).sum(axis=2))))
        return out

    def best_correlation(self, spectra):
        """Highest masked NCC over positions and the sizes of `spectra` (Region.spectra of a
        region of this shape); -1 when no size fits."""
        best = -1.0
        for h, w, ones, tcs, sq in spectra:
            n = np.maximum(self.inverse(self.M * ones, h, w), 1.0)   # template pixels inside
            num = var_f = var_t = 0
            for c in range(3):
                f_sum = self.inverse(self.F[c] * ones, h, w)      # Σ f over the overlap
                t_sum = self.inverse(self.M * tcs[c], h, w)       # Σ t over the overlap
                num = num + self.inverse(self.F[c] * tcs[c], h, w) - f_sum * t_sum / n
                var_f = var_f - f_sum ** 2 / n
                var_t = var_t - t_sum ** 2 / n
            var_f = var_f + self.inverse(self.F2 * ones, h, w)
            var_t = var_t + self.inverse(self.M * sq, h, w)
            ok = n >= MIN_OVERLAP * h * w
            ncc = num / np.sqrt(np.maximum(var_f, 1e-6) * np.maximum(var_t, 1e-6))
            if ok.any():
                best = max(best, float(ncc[ok].max()))
        return best


def likeness(frames, templates):
    """Mean over `frames` (half-resolution CIELAB regions) of each template's best correlation;
    None where no frame was sampled or the region is too small for any template size."""
    regions = [Region(f) for f in frames]
    out = []
    for t in templates:
        # One region's frames share a shape, so the template's transforms are made once.
        spectra = regions[0].spectra(t) if regions else []
        scores = [r.best_correlation(spectra) for r in regions]
        out.append(float(np.mean(scores)) if scores and min(scores) > -1.0 else None)
    return out
