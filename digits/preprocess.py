"""Turn a photo of a handwritten digit into an MNIST-like 28x28 image.

The steps are how MNIST itself was made: light ink on a dark background, the digit cropped to its ink,
scaled to fit a 20x20 box with its aspect ratio kept, then placed in 28x28 so that its centre of mass
sits at the centre. Finally pixels are put into the range of the data the model was trained on.
"""
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import UserError

INK_THRESHOLD = 0.25  # a pixel is ink when it is this far from the background towards the darkest ink


def load_grayscale(path):
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"), dtype=np.float32)
    except FileNotFoundError:
        raise UserError(f"image {path} not found") from None
    except (UnidentifiedImageError, OSError) as e:
        raise UserError(f"{path} is not an image Pillow can read ({e}): pass a PNG or JPEG photo of one digit") from None


def to_mnist(gray, pixel_range=(-1.0, 1.0), name="the image"):
    """A grayscale array (any size, 0-255) -> float32 [28, 28] in `pixel_range`, digit bright on dark."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background > 127:  # dark ink on light paper: invert, MNIST digits are light on black
        gray, background = 255.0 - gray, 255.0 - background
    span = float(gray.max()) - background
    if span < 16:
        raise UserError(f"no digit found in {name}: it is blank or has almost no contrast")
    ink = np.clip((gray - background) / span, 0.0, 1.0)  # 0 background, 1 darkest ink

    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]

    height, width = ink.shape
    scale = 20.0 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
                       dtype=np.float32)

    canvas = np.zeros((28, 28), dtype=np.float32)
    ys, xs = np.indices(digit.shape)
    mass = digit.sum()
    top = int(round(14 - (ys * digit).sum() / mass))
    left = int(round(14 - (xs * digit).sum() / mass))
    top = min(max(top, 0), 28 - digit.shape[0])   # keep the whole digit inside the frame
    left = min(max(left, 0), 28 - digit.shape[1])
    canvas[top:top + digit.shape[0], left:left + digit.shape[1]] = digit

    background_value, ink_value = pixel_range
    return (background_value + canvas / 255.0 * (ink_value - background_value)).astype(np.float32)


def load_digit(path, pixel_range=(-1.0, 1.0)):
    return to_mnist(load_grayscale(path), pixel_range, name=path)


def digit_photo(digit, path, offset=(20, 30)):
    """Draw a 28x28 uint8 MNIST digit as a photo of handwriting: dark ink on light paper, 5x larger,
    off-centre. A stand-in for the student's own photo, to show what the preprocessing undoes."""
    paper = Image.new("L", (260, 200), 230)
    paper.paste(Image.fromarray(255 - digit).resize((140, 140), Image.Resampling.BICUBIC), offset)
    paper.save(path)
    return path
