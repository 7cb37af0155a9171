"""The model that comes with the project (pretrained/robust, the app's default): plain data that loads without
unpickling anything, small, and as accurate as its card says, on MNIST's test digits and on other writers'."""
import json
import os

import numpy as np
import pytest

import digits
from digits.evaluation import MEANS_FILE, photo_reference
from digits.reading import read_images
from models import load_trained
from digits.idx import read_source
from digits.prepare import PIXEL_SCALES
from digits.runs import WEIGHTS_FILE

SHIPPED = os.path.join(digits.PROJECT_ROOT, "pretrained", "robust")


@pytest.fixture(scope="module")
def card():
    with open(os.path.join(SHIPPED, "card.json"), encoding="utf-8") as f:
        return json.load(f)


def test_the_shipped_model_is_small_plain_data(card):
    committed = {"model.npz", "config.json", MEANS_FILE, "card.json", "README.md"}
    assert committed <= set(os.listdir(SHIPPED))
    assert os.path.getsize(os.path.join(SHIPPED, WEIGHTS_FILE)) <= 2_000_000
    for name in (WEIGHTS_FILE, MEANS_FILE):  # numpy archives of plain arrays: no object (pickled) array inside
        with np.load(os.path.join(SHIPPED, name), allow_pickle=False) as archive:
            assert all(archive[key].dtype.kind in "fiu" for key in archive.files)


def test_the_shipped_model_reads_mnist_as_its_card_says(card, source):
    model, loss, trained_on = load_trained(SHIPPED)
    assert trained_on is None  # it needs no course file
    arrays, _ = read_source(source)
    images, labels = PIXEL_SCALES["x/127.5-1"][arrays["test_images"].reshape(-1, 28, 28)], arrays["test_labels"]
    predicted = np.concatenate([read_images(model, loss, images[i:i + 500])[0] for i in range(0, len(images), 500)])
    accuracy = float(np.mean(predicted == labels))
    # the same digits as the card's measure (the course file's eval split); another processor may round one
    # or two borderline digits the other way
    assert accuracy >= 0.995 and abs(accuracy - card["measured"]["mnist_eval"]) <= 3 / 10_000, accuracy


def test_the_shipped_model_reads_other_handwriting_as_its_card_says(card):
    pytest.importorskip("sklearn", reason="scikit-learn ships the UCI digits: pip install -e \".[test]\"")
    from digits.handwriting import uci_accuracy
    model, loss, _ = load_trained(SHIPPED)
    pixel_range, means = photo_reference(SHIPPED)
    assert pixel_range == (-1.0, 1.0) and means.shape == (10, 28, 28)
    accuracy, per_digit = uci_accuracy(model, loss, pixel_range)
    assert abs(accuracy - card["measured"]["uci_photos"]) <= 2 / 1797, accuracy
    np.testing.assert_allclose(per_digit, card["measured"]["uci_per_digit"], atol=0.02)
