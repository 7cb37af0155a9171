"""Turn a photo of a handwritten digit into an MNIST-like 28x28 image.

The steps are how MNIST itself was made: light ink on a dark background, the digit cropped to its ink,
scaled to fit a 20x20 box with its aspect ratio kept, then placed in 28x28 so that its centre of mass
sits at the centre. Finally pixels are put into the range of the data the model was trained on.
"""
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import UserError

INK_THRESHOLD = 0.25  # a pixel is ink when it is this far from the background towards the darkest ink
MAX_SIDE = 1024  # pixels: larger photos are shrunk as they are opened (upright_and_small)


def load_grayscale(path):
    """A photo as a float32 grayscale array in 0-255, whatever its bit depth or transparency."""
    return load_photo(path)[1]


def load_photo(path, name=None):
    """A photo as given (uint8 RGB or RGBA, for showing) and as a float32 grayscale array in 0-255;
    errors call it `name` (default: its path)."""
    name = name or path
    try:
        with warnings.catch_warnings():
            # Pillow only warns about an image somewhat over its size limit; such an image is no photo of
            # one digit either, and reading it could take gigabytes
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image = upright_and_small(image)
                return as_shown(image), to_gray(image)
    except FileNotFoundError:
        raise UserError(f"image {name} not found") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise UserError(f"{name} is too large to read safely ({e}): pass a smaller photo of one digit") from None
    except UnidentifiedImageError:  # its message names the file by its path again
        raise UserError(f"{name} is not an image Pillow can read: pass a PNG or JPEG photo of one digit") from None
    except OSError as e:  # a truncated or corrupt image
        raise UserError(f"{name} is not an image Pillow can read ({e}): pass a PNG or JPEG photo of one digit") from None


def upright_and_small(image):
    """The image as its camera held it (a phone stores a photo sideways with an EXIF orientation tag) and
    at most MAX_SIDE pixels on its longer side: a photo of one digit needs far fewer, and every later step
    (the arrays, the figure) then costs a bounded amount whatever was uploaded. A JPEG is decoded at a
    reduced scale directly."""
    if image.format == "JPEG":
        image.draft(image.mode, (MAX_SIDE, MAX_SIDE))
    image.load()
    image = ImageOps.exif_transpose(image)
    if max(image.size) > MAX_SIDE:
        scale = MAX_SIDE / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        # 16/32-bit and palette images shrink by nearest pixels (a filter would need 8-bit channels)
        method = Image.Resampling.NEAREST if is_wide(image) or image.mode in ("P", "1") else Image.Resampling.BOX
        image = image.resize(size, method)
    return image


def is_wide(image):
    """16- or 32-bit pixels, which convert("L") would clip to 255."""
    return image.mode in ("I", "F") or image.mode.startswith("I;16")


def has_transparency(image):
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def as_shown(image):
    """A Pillow image as an array matplotlib shows as it looks: 8-bit RGB, or RGBA when it has transparency."""
    if is_wide(image):
        return to_gray(image).astype(np.uint8)
    return np.asarray(image.convert("RGBA" if has_transparency(image) else "RGB"))


def to_gray(image):
    """A Pillow image -> float32 grayscale array in 0-255."""
    if is_wide(image):  # convert("L") would turn most of the picture white
        values = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16"):
            full_scale = 65535
        else:  # 32-bit: the smallest usual full scale that holds the brightest pixel
            scales = (1.0, 255, 65535, 2**31 - 1) if image.mode == "F" else (255, 65535, 2**31 - 1)
            full_scale = next((s for s in scales if values.max() <= s), values.max())
        return np.clip(values * (255.0 / full_scale), 0, 255).astype(np.float32)
    if has_transparency(image):
        image = flattened(image)
    return np.asarray(image.convert("L"), dtype=np.float32)


def flattened(image):
    """An image with transparency composited onto an opaque background that contrasts with its ink.

    A drawing app exports a digit as ink on a transparent background, whose hidden colour is often
    black, like the usual ink: dropping the alpha channel would leave a blank picture. Dark ink goes
    onto white, light ink onto black.
    """
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64)
    if not alpha.any():
        return Image.new("L", rgba.size, 255)  # nothing is visible: to_mnist reports a blank image
    ink = np.asarray(rgba.convert("L"), dtype=np.float64)
    shade = 255 if (ink * alpha).sum() / alpha.sum() < 128 else 0
    background = Image.new("RGBA", rgba.size, (shade, shade, shade, 255))
    return Image.alpha_composite(background, rgba).convert("L")


def to_mnist(gray, pixel_range=(-1.0, 1.0), name="the image"):
    """A grayscale array (any size, 0-255) -> float32 [28, 28] in `pixel_range`, digit bright on dark."""
    return mnist_steps(gray, pixel_range, name)["normalised"]


def mnist_steps(gray, pixel_range=(-1.0, 1.0), name="the image"):
    """Every step of to_mnist, in order, as {step: image} (what the app and eval.py --image draw):
    grayscale, inverted (light ink on black, as MNIST), cropped to the ink, fitted into 20x20,
    centred by centre of mass in 28x28 (all 0-255), then normalised into `pixel_range`."""
    steps = {"grayscale": gray}
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background > 127:  # dark ink on light paper: invert, MNIST digits are light on black
        gray, background = 255.0 - gray, 255.0 - background
    steps["inverted"] = gray
    span = float(gray.max()) - background
    if span < 16:
        raise UserError(f"no digit found in {name}: it is blank or has almost no contrast")
    ink = np.clip((gray - background) / span, 0.0, 1.0)  # 0 background, 1 darkest ink

    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    steps["cropped to the ink"] = ink * 255

    height, width = ink.shape
    scale = 20.0 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
                       dtype=np.float32)
    steps["fitted into 20x20"] = digit

    canvas = np.zeros((28, 28), dtype=np.float32)
    ys, xs = np.indices(digit.shape)
    mass = digit.sum()
    top = int(round(14 - (ys * digit).sum() / mass))
    left = int(round(14 - (xs * digit).sum() / mass))
    top = min(max(top, 0), 28 - digit.shape[0])   # keep the whole digit inside the frame
    left = min(max(left, 0), 28 - digit.shape[1])
    canvas[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    steps["centred in 28x28"] = canvas

    background_value, ink_value = pixel_range
    steps["normalised"] = (background_value + canvas / 255.0 * (ink_value - background_value)).astype(np.float32)
    return steps


def load_digit(path, pixel_range=(-1.0, 1.0)):
    return to_mnist(load_grayscale(path), pixel_range, name=path)


def digit_photo(digit, path, offset=(20, 30)):
    """Draw a 28x28 uint8 MNIST digit as a photo of handwriting: dark ink on light paper, 5x larger,
    off-centre. A stand-in for the student's own photo, to show what the preprocessing undoes."""
    paper = Image.new("L", (260, 200), 230)
    paper.paste(Image.fromarray(255 - digit).resize((140, 140), Image.Resampling.BICUBIC), offset)
    paper.save(path)
    return path
