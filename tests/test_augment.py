"""digits.augment's width (horizontal resizing), slant (horizontal shear), elastic distortion (Simard et al. 2003)
and blur: what their maths implies, checked on drawn lines and real digits, and how load_data applies them."""
import numpy as np
import pytest

from digits.augment import (blurred, distorted, elastic, gaussian_matrix, narrowed, resampled, restroked, shifted,
                            slanted, warped)
from digits.data import load_course_data, load_data
from digits.errors import UserError
from digits.training import TrainConfig

BACKGROUND, INK = -1.0, 1.0


def vertical_line(column=14, count=1):
    """Images of one vertical stroke, a pixel wide, from row 4 to row 23."""
    images = np.full((count, 28, 28), BACKGROUND, np.float32)
    images[:, 4:24, column] = INK
    return images.reshape(count, 784)


def digits_and_background(datafile):
    data = load_course_data(datafile)
    return data["train"][0][:64], data.pixel_range[0]


def state():
    return np.random.get_state()[1].copy(), np.random.get_state()[2]


@pytest.mark.parametrize("augment", [lambda x, bg: narrowed(x, 0.3, bg), lambda x, bg: slanted(x, 0.4, bg),
                                     lambda x, bg: elastic(x, 34, 4, bg), lambda x, bg: blurred(x, 1.5, bg)],
                         ids=["aspect", "slant", "elastic", "blur"])
def test_shape_dtype_and_range_are_kept(small_datafile, augment):
    images, background = digits_and_background(small_datafile)
    for batch in (images, images.reshape(-1, 1, 28, 28)):
        np.random.seed(0)
        result = augment(batch, background)
        assert result.shape == batch.shape and result.dtype == np.float32
        # bilinear interpolation blends pixels (and background): never beyond the paper or the ink
        assert result.min() >= background - 1e-6 and result.max() <= 1 + 1e-6
        assert np.abs(result - batch).max() > 0.5  # really changed
        assert not np.array_equal(augment(batch, background), result)  # new numbers every call (epoch)


@pytest.mark.parametrize("augment", [lambda x, bg: narrowed(x, 0, bg), lambda x, bg: slanted(x, 0, bg),
                                     lambda x, bg: elastic(x, 0, 4, bg), lambda x, bg: blurred(x, 0, bg)],
                         ids=["aspect", "slant", "elastic", "blur"])
def test_zero_changes_nothing_and_draws_nothing(small_datafile, augment):
    images, background = digits_and_background(small_datafile)
    np.random.seed(1)
    before = state()
    result = augment(images, background)
    np.testing.assert_array_equal(result, images)
    after = state()
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1] == after[1]
    assert result is not images  # a new batch, as with any other setting


def test_resampling_at_the_pixels_is_the_identity_and_whole_pixels_move_exactly(small_datafile):
    """A zero displacement field reads every pixel where it is; a field of one whole pixel is a shift,
    the uncovered row filled with background; half a pixel beyond the border reads half background."""
    images, background = digits_and_background(small_datafile)
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float32)
    rows, cols = np.broadcast_to(rows, (len(images), 28, 28)), np.broadcast_to(cols, (len(images), 28, 28))
    np.testing.assert_array_equal(resampled(images, rows, cols, background), images)
    down = resampled(images, rows - 1, cols, background).reshape(-1, 28, 28)  # each pixel reads the one above
    square = images.reshape(-1, 28, 28)
    np.testing.assert_array_equal(down[:, 1:], square[:, :-1])
    np.testing.assert_array_equal(down[:, 0], np.full((len(images), 28), background, np.float32))
    white = np.full((1, 784), INK, np.float32)
    edge = resampled(white, np.full((1, 28, 28), 27.5), np.full((1, 28, 28), -0.5), BACKGROUND)
    # half a pixel beyond the last row and the first column: a quarter of the four neighbours is the image
    np.testing.assert_allclose(edge, np.full((1, 784), 0.25 * INK + 0.75 * BACKGROUND), atol=1e-6)
    far = resampled(white, np.full((1, 28, 28), -50.0), np.full((1, 28, 28), 80.0), BACKGROUND)
    np.testing.assert_array_equal(far, np.full((1, 784), BACKGROUND))


def horizontal_line(count=1):
    """Images of one horizontal stroke, a pixel high, in row 14 from column 4 to column 23 (centred on 13.5)."""
    images = np.full((count, 28, 28), BACKGROUND, np.float32)
    images[:, 14, 4:24] = INK
    return images.reshape(count, 784)


def test_aspect_resizes_the_width_by_the_drawn_factor_and_keeps_the_height():
    """output(r, c) = input(r, 13.5 + (c - 13.5) / w): a horizontal stroke 20 pixels long, centred, becomes
    one about 20 w long, still centred and in its row; a vertical stroke keeps its rows (its height)."""
    np.random.seed(11)
    widths = np.random.uniform(0.7, 1.3, size=30)
    np.random.seed(11)
    result = narrowed(horizontal_line(30), 0.3, BACKGROUND).reshape(-1, 28, 28) - BACKGROUND
    for w, image in zip(widths, result):
        np.testing.assert_array_equal(np.delete(image, 14, axis=0), 0)  # only its row has ink
        row = image[14] / (INK - BACKGROUND)
        assert abs((row * np.arange(28)).sum() / row.sum() - 13.5) < 1e-4  # still centred
        assert abs(row.sum() - 20 * w) <= 1  # the ink along the row: its length, to a pixel of interpolation
    assert widths.min() < 0.75 and widths.max() > 1.25  # narrower and wider both checked
    np.random.seed(12)
    tall = narrowed(vertical_line(column=13, count=10) + vertical_line(column=14, count=10) - BACKGROUND, 0.3,
                    BACKGROUND).reshape(-1, 28, 28) - BACKGROUND  # a 2-pixel stroke about the centre column
    for image in tall:
        assert (image[4:24].sum(axis=1) > 0).all() and not image[:4].any() and not image[24:].any()


def test_aspect_matches_pillows_affine_resize_of_the_columns(small_datafile):
    from PIL import Image
    images, background = digits_and_background(small_datafile)
    np.random.seed(13)
    widths = np.random.uniform(0.7, 1.3, size=len(images))
    np.random.seed(13)
    result = narrowed(images, 0.3, background).reshape(-1, 28, 28)
    for image, w, got in zip(images.reshape(-1, 28, 28), widths, result):
        # Pillow maps each output point (x, y) (pixel centres at +0.5) to the input point (14 + (x - 14) / w, y)
        expected = Image.fromarray(image, mode="F").transform(
            (28, 28), Image.Transform.AFFINE, (1 / w, 0, 14 - 14 / w, 0, 1, 0),
            resample=Image.Resampling.BILINEAR, fillcolor=background)
        np.testing.assert_allclose(got, np.asarray(expected), atol=1e-4)


def test_slant_turns_a_vertical_line_into_one_leaning_by_the_drawn_factor():
    """output(r, c) = input(r, c - s (r - 13.5)): the stroke's centre in row r moves to 14 + s (r - 13.5),
    each row keeps its ink (the stroke stays inside), and the rows stay where they are."""
    line = vertical_line(count=40)
    np.random.seed(2)
    slants = np.random.uniform(-0.5, 0.5, size=40)
    np.random.seed(2)
    result = slanted(line, 0.5, BACKGROUND).reshape(-1, 28, 28)
    ink = result - BACKGROUND  # 0 on paper, 2 at full ink
    rows = np.arange(4, 24)
    for s, image in zip(slants, ink):
        centres = (image[rows] * np.arange(28)).sum(axis=1) / image[rows].sum(axis=1)
        np.testing.assert_allclose(centres, 14 + s * (rows - 13.5), atol=1e-4)
        np.testing.assert_allclose(image[rows].sum(axis=1), INK - BACKGROUND, atol=1e-5)
        np.testing.assert_array_equal(image[:4], 0)
        np.testing.assert_array_equal(image[24:], 0)
    assert slants.min() < -0.3 and slants.max() > 0.3  # both leanings, strongly, are checked


def test_slant_matches_pillows_affine_shear(small_datafile):
    from PIL import Image
    images, background = digits_and_background(small_datafile)
    np.random.seed(3)
    slants = np.random.uniform(-0.3, 0.3, size=len(images))
    np.random.seed(3)
    result = slanted(images, 0.3, background).reshape(-1, 28, 28)
    for image, s, got in zip(images.reshape(-1, 28, 28), slants, result):
        # Pillow maps each output point (x, y) (pixel centres at +0.5) to the input point (x - s (y - 14), y)
        expected = Image.fromarray(image, mode="F").transform(
            (28, 28), Image.Transform.AFFINE, (1, -s, 14 * s, 0, 1, 0),
            resample=Image.Resampling.BILINEAR, fillcolor=background)
        np.testing.assert_allclose(got, np.asarray(expected), atol=1e-4)


def test_the_gaussian_matrix_is_scipys_reflected_gaussian_filter():
    ndimage = pytest.importorskip("scipy.ndimage")
    for sigma in (2, 4, 6.5):
        kernel = gaussian_matrix(sigma)
        np.testing.assert_allclose(kernel.sum(axis=1), 1, atol=1e-6)  # smoothing keeps a constant constant
        signal = np.random.default_rng(0).uniform(-1, 1, size=(28, 5))
        np.testing.assert_allclose(kernel @ signal, ndimage.gaussian_filter1d(signal, sigma, axis=0, mode="reflect"),
                                   atol=1e-6)
    with pytest.raises(ValueError):
        gaussian_matrix(4)[0, 0] = 1  # the cached matrix is shared: read-only


def test_elastic_is_simards_smoothed_field_with_bilinear_sampling(small_datafile):
    """Against an independent implementation: scipy's gaussian_filter of the same noise for the field, and
    map_coordinates (order 1, background beyond the border) for the sampling."""
    ndimage = pytest.importorskip("scipy.ndimage")
    images, background = digits_and_background(small_datafile)
    np.random.seed(4)
    noise = np.random.uniform(-1, 1, size=(len(images), 2, 28, 28)).astype(np.float32)
    np.random.seed(4)
    result = elastic(images, 34, 4, background).reshape(-1, 28, 28)
    rows, cols = np.mgrid[0:28, 0:28]
    moves = []
    for image, (u_rows, u_cols), got in zip(images.reshape(-1, 28, 28), noise, result):
        d_rows = 34 * ndimage.gaussian_filter(u_rows.astype(np.float64), 4, mode="reflect")
        d_cols = 34 * ndimage.gaussian_filter(u_cols.astype(np.float64), 4, mode="reflect")
        expected = ndimage.map_coordinates(image.astype(np.float64), [rows + d_rows, cols + d_cols], order=1,
                                           mode="grid-constant", cval=background)
        np.testing.assert_allclose(got, expected, atol=1e-4)
        moves.append(np.hypot(d_rows, d_cols))
    # Simard's alpha 34, sigma 4 on 28x28: a smooth wobble of a couple of pixels, not a scramble
    assert 1 < np.mean(moves) < 3 and np.percentile(moves, 99) < 6


def test_elastic_field_scales_with_alpha_and_sigma_makes_it_smooth():
    """The displacement field itself, read back through ramp images (bilinear sampling of a ramp is exact:
    output(r, c) = c + dc(r, c) for the column ramp): twice alpha on the same noise is twice the field, and a
    larger sigma gives a smoother one (neighbouring pixels' moves differ less, relative to their size)."""
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float32)
    count = 20

    def field(alpha, sigma):
        moves = []
        for ramp in (rows, cols):  # the same seed, so the same field, read once per axis
            np.random.seed(7)
            moves.append(elastic(np.repeat(ramp.reshape(1, 784), count, axis=0), alpha, sigma, BACKGROUND)
                         .reshape(count, 28, 28) - ramp)
        return np.stack(moves, axis=1)[:, :, 8:20, 8:20]  # inside: every source point is in the image

    one, two = field(2, 4), field(4, 4)
    assert np.abs(one).max() > 0.05  # the field is there
    np.testing.assert_allclose(two, 2 * one, atol=1e-4)

    def roughness(moves):
        return np.abs(np.diff(moves, axis=3)).mean() / np.sqrt(np.mean(moves ** 2))

    assert roughness(field(1, 8)) < roughness(field(1, 2)) / 2


def test_blur_is_a_gaussian_over_background_paper_with_the_contrast_stretched_back(small_datafile):
    """Against scipy: the ink (input - background) filtered by a Gaussian of the drawn sigma with paper (0)
    beyond the border, scaled so that its peak is the input's; sigma = max(0, u), so about half the images
    come back exactly as they were, and the rest are softer but as dark at their darkest."""
    ndimage = pytest.importorskip("scipy.ndimage")
    images, background = digits_and_background(small_datafile)
    np.random.seed(14)
    sigmas = np.maximum(np.random.uniform(-1.5, 1.5, size=len(images)), 0)
    np.random.seed(14)
    result = blurred(images, 1.5, background).reshape(-1, 28, 28)
    for image, sigma, got in zip(images.reshape(-1, 28, 28), sigmas, result):
        if sigma == 0:
            np.testing.assert_array_equal(got, image)
            continue
        ink = image.astype(np.float64) - background
        soft = ndimage.gaussian_filter(ink, sigma, mode="constant", cval=0.0, truncate=40 / sigma)
        np.testing.assert_allclose(got, background + soft * ink.max() / soft.max(), atol=1e-5)
        assert got.max() == pytest.approx(image.max(), abs=1e-5)  # as dark at its darkest
        if sigma > 0.5:  # a grey rim where paper was
            assert ((got > background + 0.05) & (image <= background + 0.05)).any()
    assert 0.3 < np.mean(sigmas == 0) < 0.7 and sigmas.max() > 1.2


def test_blur_spreads_a_dot_into_a_symmetric_bell_and_keeps_its_centre():
    dot = np.full((1, 28, 28), BACKGROUND, np.float32)
    dot[0, 13:15, 13:15] = INK  # a 2x2 dot about the centre 13.5
    for seed in range(20):
        np.random.seed(seed)
        sigma = max(0.0, np.random.uniform(-1, 1))
        np.random.seed(seed)
        ink = blurred(dot.reshape(1, 784), 1, BACKGROUND).reshape(28, 28) - BACKGROUND
        np.testing.assert_allclose(ink, ink[::-1, :], atol=1e-6)  # symmetric top to bottom,
        np.testing.assert_allclose(ink, ink[:, ::-1], atol=1e-6)  # left to right,
        np.testing.assert_allclose(ink, ink.T, atol=1e-6)         # and across the diagonal
        assert ink.max() == pytest.approx(INK - BACKGROUND, abs=1e-5)
        assert (np.count_nonzero(ink > 1e-3) > 4) == (sigma > 0.3)  # spread only when blurred


def test_load_data_applies_them_to_training_batches_in_order_and_old_runs_draw_the_same(small_datafile):
    """Train batches are the documented pipeline with the same seed: shuffle, restroked, warped (with a
    width, a slant or a field: distorted, one sampling), blurred, shifted; valid and eval never change; and a run without the new options draws exactly what
    the functions drew before them (nothing new is drawn for an option at 0)."""
    images = load_course_data(small_datafile)["train"][0]
    background = load_course_data(small_datafile).pixel_range[0]
    options = dict(shift=2, rotate=10, scale=0.2, stroke=0.7)

    def first_batch(**more):
        np.random.seed(6)
        batch = next(iter(load_data("train", 50, datafile=small_datafile, **options, **more)()))[0]
        return batch, state()

    def by_hand(new):
        np.random.seed(6)
        batch = images[np.random.permutation(len(images))[:50]]
        batch = restroked(batch, 0.7, background)
        batch = (blurred(distorted(batch, 10, 0.2, 0.3, 34, 4, background, max_aspect=0.25), 1, background) if new
                 else warped(batch, 10, 0.2, background))
        return shifted(batch, 2, background), state()

    for new, more in ((False, {}), (False, dict(aspect=0, slant=0, elastic_alpha=0, blur=0)),
                      (True, dict(aspect=0.25, slant=0.3, elastic_alpha=34, blur=1))):
        (got, got_state), (expected, expected_state) = first_batch(**more), by_hand(new)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(got_state[0], expected_state[0])
    for mode in ("valid", "eval"):
        plain = np.concatenate([x for x, _ in load_data(mode, datafile=small_datafile, aspect=0.25, slant=0.3,
                                                        elastic_alpha=34, blur=1)()])
        np.testing.assert_array_equal(plain, load_course_data(small_datafile)[mode][0])


def test_one_sampling_is_the_four_transforms_in_turn_without_their_blur(small_datafile):
    """distorted() composes warped, narrowed, slanted and elastic: on ramp images, which bilinear sampling
    reads exactly, it gives what the four give one after another with the same random numbers (drawn in
    the same order); on digits it keeps them sharper (more pixels at full ink) than four samplings do. With
    no width, slant or field it is warped(), drawing the same numbers."""
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float32)
    ramps = np.stack([rows, cols, rows + 2 * cols]).reshape(3, 784)
    np.random.seed(8)
    one = distorted(ramps, 5, 0.1, 0.2, 10, 4, BACKGROUND, max_aspect=0.2).reshape(3, 28, 28)
    np.random.seed(8)
    four = elastic(slanted(narrowed(warped(ramps, 5, 0.1, BACKGROUND), 0.2, BACKGROUND), 0.2, BACKGROUND), 10, 4,
                   BACKGROUND).reshape(3, 28, 28)
    np.testing.assert_allclose(one[:, 9:19, 9:19], four[:, 9:19, 9:19], atol=1e-3)  # inside: no background read
    assert np.abs(one - ramps.reshape(3, 28, 28))[:, 9:19, 9:19].max() > 0.5  # and it did move them

    images, background = digits_and_background(small_datafile)
    np.random.seed(9)
    one = distorted(images, 10, 0.2, 0.3, 34, 4, background, max_aspect=0.3)
    np.random.seed(9)
    four = elastic(slanted(narrowed(warped(images, 10, 0.2, background), 0.3, background), 0.3, background), 34, 4,
                   background)
    assert (one > 0.9).mean() > 1.3 * (four > 0.9).mean()

    np.random.seed(10)
    expected, expected_state = warped(images, 10, 0.2, background), state()
    np.random.seed(10)
    np.testing.assert_allclose(distorted(images, 10, 0.2, 0, 0, 4, background), expected, atol=1e-4)
    np.testing.assert_array_equal(state()[0], expected_state[0])


@pytest.mark.parametrize("field, value, message", [
    ("aspect", 0.6, r"--aspect 0.6: give 0 to 0.5"),
    ("slant", 1.5, r"--slant 1.5: give 0 to 1"),
    ("slant", -0.1, r"--slant -0.1: give 0 to 1"),
    ("elastic", 100, r"--elastic 100: give 0 to 60"),
    ("elastic_sigma", 1, r"--elastic-sigma 1: give 2 to 10"),
    ("blur", 3, r"--blur 3: give 0 to 2"),
])
def test_the_options_are_checked(field, value, message):
    with pytest.raises(UserError, match=message):
        TrainConfig(**{field: value})
    defaults = TrainConfig()
    assert (defaults.aspect, defaults.slant, defaults.elastic, defaults.elastic_sigma, defaults.blur) == (0, 0, 0, 4.0, 0)
