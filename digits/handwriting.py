"""Other people's handwriting: a test of how well a model reads digits that are not MNIST's.

MNIST's test set comes from the same writers' population and the same scanning as its training set,
so 99% on it says little about a student's own digit. scikit-learn ships a second, independent set:
the 1,797 UCI "optical recognition of handwritten digits" images (43 other writers, 8x8 pixels of ink
counts 0-16). Each is rendered here the way a user's photo arrives: dark ink on light paper, larger
(40x40, bicubic), at a random place on a 64x64 page, slightly blurred. The app and eval.py read such
photos through digits.preprocess, so this measures the whole path: preprocessing and network.

    python bench/bench_robustness.py runs/A runs/B      # the README's robustness table
"""
import numpy as np
from PIL import Image, ImageFilter

from .errors import UserError

PAGE, DIGIT = 64, 40           # pixels: the photo, and the digit's size on it
PAPER, INK = 240, 20           # grey levels of the page and of the darkest ink
BLUR = 1.0                     # Gaussian blur radius, pixels


def load_uci_digits():
    """The 8x8 UCI digits bundled with scikit-learn: (images uint8 [1797, 8, 8] in 0-16, labels [1797])."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise UserError("scikit-learn is not installed; it ships the UCI digits: pip install scikit-learn") from None
    digits = load_digits()
    return digits.images.astype(np.uint8), digits.target.astype(np.int64)


def as_photo(image, offset):
    """One 8x8 UCI digit (0-16 ink) -> a 64x64 grey photo (uint8): dark ink on light paper at `offset`."""
    shade = (PAPER - image.astype(np.float32) / 16.0 * (PAPER - INK)).astype(np.uint8)
    digit = Image.fromarray(shade).resize((DIGIT, DIGIT), Image.Resampling.BICUBIC)
    page = Image.new("L", (PAGE, PAGE), PAPER)
    page.paste(digit, offset)
    return np.asarray(page.filter(ImageFilter.GaussianBlur(BLUR)))


def uci_photos(seed=0):
    """All 1,797 UCI digits as photos (uint8 [1797, 64, 64]) with their labels; `seed` places them."""
    images, labels = load_uci_digits()
    offsets = np.random.default_rng(seed).integers(0, PAGE - DIGIT + 1, size=(len(images), 2))
    return np.stack([as_photo(image, tuple(int(v) for v in offset)) for image, offset in zip(images, offsets)]), labels


def uci_accuracy(model, loss, pixel_range, seed=0):
    """How well `model` reads the UCI digits rendered as photos, through the app's preprocessing: (accuracy,
    accuracy per digit [10])."""
    from .reading import read_images
    from .preprocess import to_mnist
    photos, labels = uci_photos(seed)
    prepared = np.stack([to_mnist(photo.astype(np.float32), pixel_range) for photo in photos])
    read = np.concatenate([read_images(model, loss, prepared[i:i + 500])[0] for i in range(0, len(prepared), 500)])
    return float(np.mean(read == labels)), np.array([np.mean(read[labels == d] == d) for d in range(10)])
