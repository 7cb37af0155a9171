"""Augmentations of 28x28 training digits: other writers' positions, angles, sizes, pens, slants and wobbles.

Each function takes a batch of images, float32 [B, 784] or [B, ..., 28, 28] (any shape holding B 28x28
images), and returns a new batch of the same shape: every image changed by its own random numbers, drawn
from NumPy's global RNG so that --seed fixes them, and drawn anew on every call (every epoch).
`background` is the value of empty paper (-1 or 0, digits.data.PIXEL_RANGES); it fills whatever a
transform uncovers. digits.data.load_data applies them to training batches only, in this order:
restroked (pen), warped (angle and size), narrowed (width), slanted (slant), elastic (wobble), blurred
(softness), shifted (position); warped to elastic as one sampling, distorted(), when a width, a slant or
a field is asked for. An option at 0 is
skipped and draws nothing, so a run without it draws exactly the numbers it always drew.

Coordinates: r is the row (down), c the column (right), both measured from the image's centre 13.5 when
a transform is about the centre. Transforms that move pixels by fractions are written backwards, as
usual: each output pixel (r, c) reads the input at a source point, interpolated bilinearly.
"""
import functools

import numpy as np

SIZE = 28
CENTRE = (SIZE - 1) / 2  # 13.5: the centre of a 28x28 image, between its two middle pixels


def shifted(images, max_shift, background):
    """Each 28x28 image moved by its own random offset in [-max_shift, max_shift] pixels per axis, the
    uncovered border filled with `background` (NumPy's global RNG, so --seed fixes the offsets)."""
    count = len(images)
    padded = np.pad(images.reshape(count, 28, 28), ((0, 0), (max_shift, max_shift), (max_shift, max_shift)),
                    constant_values=background)
    rows, cols = np.random.randint(0, 2 * max_shift + 1, size=(2, count, 1)) + np.arange(28)
    return padded[np.arange(count)[:, None, None], rows[:, :, None], cols[:, None, :]].reshape(images.shape)


def warped(images, max_degrees, max_scale, background):
    """Each 28x28 image turned about its centre by its own random angle in [-max_degrees, max_degrees]
    (at most 30) and resized by its own factor in [1 - max_scale, 1 + max_scale] (max_scale below 1),
    with bilinear interpolation and `background` where the image uncovers the border."""
    count, centre = len(images), 13.5
    # only what is asked for is drawn, so a run without scaling draws the angles it always drew
    angles = np.deg2rad(np.random.uniform(-max_degrees, max_degrees, size=(count, 1, 1))).astype(np.float32) \
        if max_degrees else np.zeros((count, 1, 1), np.float32)
    scales = np.random.uniform(1 - max_scale, 1 + max_scale, size=(count, 1, 1)).astype(np.float32) \
        if max_scale else np.ones((count, 1, 1), np.float32)
    # the farthest an output pixel reads: a corner (13.5 * sqrt 2 from the centre) shrunk by the smallest
    # scale, whatever the angle; plus one for the bilinear neighbour
    margin = int(np.ceil(centre * np.sqrt(2) / (1 - max_scale) - centre)) + 2
    padded = np.pad(images.reshape(count, 28, 28), ((0, 0), (margin, margin), (margin, margin)),
                    constant_values=background)
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float32) - centre
    # each output pixel reads the input at its own position turned back by the angle and divided by the scale
    source_rows = (np.cos(angles) * rows - np.sin(angles) * cols) / scales + centre + margin
    source_cols = (np.sin(angles) * rows + np.cos(angles) * cols) / scales + centre + margin
    top, left = np.floor(source_rows), np.floor(source_cols)
    down, right = source_rows - top, source_cols - left
    width = 28 + 2 * margin
    corner = (np.arange(count)[:, None, None] * width + top.astype(int)) * width + left.astype(int)
    pixels = padded.ravel()
    turned = ((1 - down) * ((1 - right) * pixels[corner] + right * pixels[corner + 1])
              + down * ((1 - right) * pixels[corner + width] + right * pixels[corner + width + 1]))
    return turned.reshape(images.shape)


def restroked(images, max_width, background):
    """Each 28x28 image's strokes thickened or thinned by its own random width w in [-max_width, max_width]
    (at most 1): the image blended, by |w|, towards its grey dilation (w > 0: each pixel the brightest of
    itself and its four neighbours, one pixel more ink on every side) or its erosion (w < 0: the darkest)."""
    count = len(images)
    square = images.reshape(count, 28, 28)
    padded = np.pad(square, ((0, 0), (1, 1), (1, 1)), constant_values=background)
    neighbours = np.stack([padded[:, 1:-1, 1:-1], padded[:, :-2, 1:-1], padded[:, 2:, 1:-1],
                           padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]])
    widths = np.random.uniform(-max_width, max_width, size=(count, 1, 1)).astype(np.float32)
    target = np.where(widths > 0, neighbours.max(axis=0), neighbours.min(axis=0))
    return (square + np.abs(widths) * (target - square)).reshape(images.shape)


def slanted(images, max_slant, background):
    """Each 28x28 image sheared horizontally about its centre row by its own factor s in [-max_slant,
    max_slant] (a writer's slant; s = tan of the slant angle, 0.3 is about 17 degrees):

        output(r, c) = input(r, c - s (r - 13.5)),

    so a vertical stroke c = c0 becomes the line c = c0 + s (r - 13.5): with rows counted downwards, s > 0
    leans the top to the left, s < 0 to the right. Rows keep their place; the middle row does not move.
    Bilinear interpolation (here only along the row), `background` beyond the border. Draws nothing when
    max_slant is 0 (the images come back unchanged). distorted() with only a slant."""
    return distorted(images, 0, 0, max_slant, 0, 4.0, background)


def narrowed(images, max_aspect, background):
    """Each 28x28 image made narrower or wider, its height kept: its columns resized about the centre
    column by its own factor w in [1 - max_aspect, 1 + max_aspect] (max_aspect below 1),

        output(r, c) = input(r, 13.5 + (c - 13.5) / w),

    so the digit's width times w, its height and its place the same: the shape of other writers' digits
    (the UCI digits, fitted into 20x20 as the app fits a photo, are about 25% narrower than MNIST's for
    most digits, and their 1s wider). --scale resizes both axes by one factor, so it never changes this
    ratio. Bilinear, `background` beyond the border. Draws nothing when max_aspect is 0 (the images come
    back unchanged). distorted() with only the width."""
    return distorted(images, 0, 0, 0, 0, 4.0, background, max_aspect=max_aspect)


def elastic(images, alpha, sigma, background):
    """Each 28x28 image distorted by its own random smooth displacement field (Simard, Steinkraus and
    Platt 2003, "Best practices for convolutional neural networks applied to visual document analysis"):
    a writer's wobble. Per image and per axis, uniform noise u(r, c) in [-1, 1] is smoothed by a Gaussian
    of standard deviation `sigma` pixels (normalised to sum 1, cut at 4 sigma, the border reflected) and
    scaled by `alpha`:

        dr = alpha * (G_sigma * u_r),   dc = alpha * (G_sigma * u_c),
        output(r, c) = input(r + dr(r, c), c + dc(r, c))          (bilinear, `background` outside).

    Simard et al. used sigma = 4 and alpha = 34 on MNIST: the smoothed noise then has a standard deviation
    of about 0.05, so a pixel moves by about 2 pixels (1 in 100 by more than 4.5), its neighbours nearly
    with it. A small sigma gives a random jitter, a large one an almost rigid shift; alpha is the strength.
    Draws nothing when alpha is 0 (the images come back unchanged). distorted() with only the field."""
    return distorted(images, 0, 0, 0, alpha, sigma, background)


def distorted(images, max_degrees, max_scale, max_slant, alpha, sigma, background, max_aspect=0):
    """warped(), then narrowed(), slanted() and elastic(), in one bilinear sampling instead of four.

    Every bilinear sampling at points between pixels blurs the image a little (a point halfway between
    two pixels reads their mean); chained samplings blur it more each time, and a network that only ever
    sees such blurred digits reads MNIST's sharp ones worse. So the three maps are composed and each output
    pixel p = (r, c) reads the input once, at

        q = p + d(p)                                   the elastic field (alpha, sigma), else q = p
        q' = (q_r, q_c - s (q_r - 13.5))               the slant s, else q' = q
        q" = (q'_r, 13.5 + (q'_c - 13.5) / w)          the width factor w, else q" = q'
        source = R(-a) (q" - 13.5) / k + 13.5          the turn a and size k of warped(), else q"

    (R(-a) turns back by the angle a, as warped() does). The random numbers are drawn in that order and only
    for what is asked: angles, scales, widths, slants, then the noise, so with max_aspect, max_slant and
    alpha at 0 it draws exactly what warped() draws and gives its images (to float rounding)."""
    count = len(images)
    angles = np.deg2rad(np.random.uniform(-max_degrees, max_degrees, size=(count, 1, 1))).astype(np.float32) \
        if max_degrees else None
    scales = np.random.uniform(1 - max_scale, 1 + max_scale, size=(count, 1, 1)).astype(np.float32) \
        if max_scale else None
    widths = np.random.uniform(1 - max_aspect, 1 + max_aspect, size=(count, 1, 1)).astype(np.float32) \
        if max_aspect else None
    slants = np.random.uniform(-max_slant, max_slant, size=(count, 1, 1)).astype(np.float32) \
        if max_slant else None
    noise = np.random.uniform(-1, 1, size=(count, 2, SIZE, SIZE)).astype(np.float32) if alpha else None
    if angles is None and scales is None and widths is None and slants is None and noise is None:
        return images.copy()
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    rows, cols = np.broadcast_to(rows, (count, SIZE, SIZE)), np.broadcast_to(cols, (count, SIZE, SIZE))
    if noise is not None:
        kernel = gaussian_matrix(sigma)
        # the 2-D Gaussian is separable: smooth the columns of each noise image (K u), then its rows (. K^T)
        field = alpha * np.einsum("ij,bajk,lk->bail", kernel, noise, kernel, optimize=True)
        rows, cols = rows + field[:, 0], cols + field[:, 1]
    if slants is not None:
        cols = cols - slants * (rows - CENTRE)
    if widths is not None:
        cols = (cols - CENTRE) / widths + CENTRE
    if angles is not None or scales is not None:
        rows, cols = rows - CENTRE, cols - CENTRE
        if angles is not None:
            cos, sin = np.cos(angles), np.sin(angles)
            rows, cols = cos * rows - sin * cols, sin * rows + cos * cols
        if scales is not None:
            rows, cols = rows / scales, cols / scales
        rows, cols = rows + CENTRE, cols + CENTRE
    return resampled(images, rows, cols, background)


def blurred(images, max_sigma, background):
    """Half the 28x28 images, at random, blurred by a Gaussian of their own width sigma in (0, max_sigma]
    pixels and their contrast stretched back, the other half left sharp: sigma = max(0, u) with u uniform
    in [-max_sigma, max_sigma] (one draw per image). A blunt pen, a low-resolution scan or an enlarged
    photo (the UCI digits are 8x8 scans enlarged, far softer than MNIST's strokes). With x = input -
    background (the ink, 0 on paper):

        y = B_sigma x B_sigma^T,
        B_sigma[i, j] = exp(-(i - j)^2 / (2 sigma^2)) / sum_k exp(-k^2 / (2 sigma^2))   (k over all integers),
        output = background + y * max(x) / max(y),

    a separable Gaussian over the paper extended with `background` beyond the border (ink that spreads
    past the border is lost, none comes in), then scaled so that its darkest ink is as dark as the
    input's: the app's preprocessing (digits.preprocess) stretches every photo's contrast that way, so a
    soft digit reaches the network with full-ink stroke centres and a wider grey rim. sigma = 0 is the
    identity. Keeping half sharp keeps the network reading sharp digits (MNIST's) as well as soft ones.
    Draws nothing when max_sigma is 0 (the images come back unchanged)."""
    if not max_sigma:
        return images.copy()
    count = len(images)
    sigmas = np.maximum(np.random.uniform(-max_sigma, max_sigma, size=(count, 1, 1)), 0)
    offsets = np.arange(SIZE)[:, None] - np.arange(SIZE)             # i - j
    wide = np.arange(-3 * SIZE, 3 * SIZE + 1)                           # the normalising sum's k
    safe = np.where(sigmas > 0, sigmas, 1.0)
    weights = np.exp(-offsets ** 2 / (2 * safe ** 2))
    totals = np.exp(-wide ** 2 / (2 * safe ** 2)).sum(axis=2, keepdims=True)
    kernels = np.where(sigmas > 0, weights / totals, np.eye(SIZE)).astype(np.float32)   # [B, 28, 28]
    ink = images.reshape(count, SIZE, SIZE) - np.float32(background)
    soft = np.einsum("bij,bjk,blk->bil", kernels, ink, kernels, optimize=True)
    peak, soft_peak = ink.max(axis=(1, 2), keepdims=True), soft.max(axis=(1, 2), keepdims=True)
    soft = soft * np.where(soft_peak > 0, peak / np.where(soft_peak > 0, soft_peak, 1), 1) + np.float32(background)
    return soft.astype(images.dtype, copy=False).reshape(images.shape)


@functools.lru_cache(maxsize=8)
def gaussian_matrix(sigma, size=SIZE):
    """The size x size matrix K with (K x)[i] = sum_k g(k) x[reflect(i + k)], |k| <= 4 sigma: a 1-D Gaussian
    blur g(k) ~ exp(-k^2 / (2 sigma^2)), summing to 1, with the signal mirrored at its ends (d c b a | a b c
    d | d c b a; scipy.ndimage's mode "reflect", so K x equals gaussian_filter1d(x, sigma))."""
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights /= weights.sum()
    source = (np.arange(size)[:, None] + offsets) % (2 * size)     # mirrored with period 2 * size ...
    source = np.where(source < size, source, 2 * size - 1 - source)  # ... and reflected into 0..size-1
    matrix = np.zeros((size, size))
    np.add.at(matrix, (np.repeat(np.arange(size), len(offsets)), source.ravel()), np.tile(weights, size))
    matrix = matrix.astype(np.float32)
    matrix.flags.writeable = False  # shared by every call (the cache): nobody may change it
    return matrix


def resampled(images, source_rows, source_cols, background):
    """The images read at the given points: output[b, r, c] = input[b] at (source_rows[b, r, c],
    source_cols[b, r, c]), bilinear between the four pixels around that point, with `background`
    everywhere outside the image (so a point half a pixel beyond the border reads half background).
    source_rows and source_cols are [B, 28, 28] (or broadcast to it); returns the images' shape."""
    count = len(images)
    # two pixels of background around the image, and points beyond it clipped to the first of them: a point
    # farther out reads background all the same
    padded = np.pad(images.reshape(count, SIZE, SIZE), ((0, 0), (2, 2), (2, 2)), constant_values=background)
    source_rows = np.clip(source_rows, -1, SIZE) + 2
    source_cols = np.clip(source_cols, -1, SIZE) + 2
    top, left = np.floor(source_rows), np.floor(source_cols)
    down, right = source_rows - top, source_cols - left
    width = SIZE + 4
    corner = (np.arange(count)[:, None, None] * width + top.astype(int)) * width + left.astype(int)
    pixels = padded.ravel()
    sampled = ((1 - down) * ((1 - right) * pixels[corner] + right * pixels[corner + 1])
               + down * ((1 - right) * pixels[corner + width] + right * pixels[corner + width + 1]))
    return sampled.astype(images.dtype, copy=False).reshape(images.shape)
