"""What the app and `eval.py --image` show: the preprocessing steps, the conv feature maps, and the
robustness check on other people's handwriting (scikit-learn's UCI digits rendered as photos)."""
import re

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from PIL import Image

from conftest import run_script
from digits.data import load_course_data, load_data
from digits.errors import UserError
from digits.handwriting import DIGIT, INK, PAGE, PAPER, as_photo, load_uci_digits, uci_photos
from digits.onednn import accelerate
from digits.preprocess import mnist_steps, to_mnist
from digits.reading import feature_maps, read
from digits.training import TrainConfig, predict
from models import build_model, load_trained


def test_the_preprocessing_steps_end_in_what_the_network_reads():
    photos, _ = uci_photos(seed=1)
    gray = photos[0].astype(np.float32)
    steps = mnist_steps(gray, (-1.0, 1.0))
    assert list(steps) == ["grayscale", "inverted", "cropped to the ink", "fitted into 20x20", "centred in 28x28",
                           "normalised"]
    np.testing.assert_array_equal(steps["normalised"], to_mnist(gray, (-1.0, 1.0)))
    np.testing.assert_array_equal(steps["inverted"], 255 - gray)  # dark ink on light paper is turned round
    assert max(steps["fitted into 20x20"].shape) == 20
    centred = steps["centred in 28x28"]
    rows, cols = np.indices(centred.shape)
    centre = ((rows * centred).sum() / centred.sum(), (cols * centred).sum() / centred.sum())
    assert np.allclose(centre, 13.5, atol=1.0), centre  # MNIST's rule: centre of mass at the middle


@pytest.mark.parametrize("fast", [False, True], ids=["paddle", "onednn"])
def test_feature_maps_are_the_conv_layers_outputs(small_datafile, fast):
    """conv1 and conv2 after ReLU, as the course's forward computes them, also when training's oneDNN
    layers (and its fused stages) run the model."""
    paddle.seed(0)
    model = build_model("cnn", 10)
    if fast:
        accelerate(model)
    model.eval()
    image = load_course_data(small_datafile)["eval"][0][0].reshape(1, 1, 28, 28)
    maps = feature_maps(model, image)
    x = paddle.to_tensor(image)
    with paddle.no_grad():
        conv1 = F.relu(model.conv1(x))
        conv2 = F.relu(model.conv2(model.pool1(conv1)))
    assert maps["conv1"].shape == (20, 28, 28) and maps["conv2"].shape == (20, 14, 14)
    np.testing.assert_allclose(maps["conv1"], conv1.numpy()[0], atol=1e-5)
    np.testing.assert_allclose(maps["conv2"], conv2.numpy()[0], atol=1e-4)
    assert maps["conv1"].max() > 0


def test_uci_digits_become_photos_of_dark_ink_on_light_paper():
    images, labels = load_uci_digits()
    photos, photo_labels = uci_photos(seed=0)
    assert photos.shape == (1797, PAGE, PAGE) and photos.dtype == np.uint8
    np.testing.assert_array_equal(photo_labels, labels)
    assert np.bincount(labels).min() >= 170  # all ten digits, about 180 each
    assert (photos[:, 0, 0] >= PAPER - 2).all() and photos.min() < INK + 40  # light paper, dark ink
    np.testing.assert_array_equal(uci_photos(seed=0)[0][:20], photos[:20])  # one seed, one set of photos
    assert not np.array_equal(uci_photos(seed=1)[0][:20], photos[:20])  # another seed moves them
    # each photo is its 8x8 digit drawn at some place on the page, and drawn there the digit is itself enlarged
    offsets = [(x, y) for x in range(PAGE - DIGIT + 1) for y in range(PAGE - DIGIT + 1)]
    for image, photo in zip(images[:5], photos[:5]):
        x, y = next(offset for offset in offsets if np.array_equal(as_photo(image, offset), photo))
        ink = PAPER - photo[y:y + DIGIT, x:x + DIGIT].astype(np.float32)
        shrunk = np.asarray(Image.fromarray(ink).resize((8, 8), Image.Resampling.BOX))
        assert np.corrcoef(shrunk.ravel(), image.ravel())[0, 1] > 0.8  # blur and bicubic soften it


@pytest.mark.full
def test_the_robustness_bench_gives_the_apps_answers(tmp_path, small_datafile):
    """bench/bench_robustness.py's accuracy on the UCI photos is the share the app's path (digits.reading)
    reads right, photo by photo; its MNIST column is the eval split's accuracy."""
    done = run_script(["train.py", "--epochs", "1", "--out", str(tmp_path / "run")], tmp_path, small_datafile)
    assert done.returncode == 0, done.stderr
    bench = run_script(["bench/bench_robustness.py", str(tmp_path / "run")], tmp_path, small_datafile)
    assert bench.returncode == 0, bench.stderr
    row = next(line for line in bench.stdout.splitlines() if str(tmp_path / "run") in line)
    mnist, uci = (float(v) for v in re.findall(r"([\d.]+)%", row)[:2])
    model, loss, _ = load_trained(str(tmp_path / "run"))
    predicted, truth, _ = predict(model, load_data("eval", 500, image_shape=model.input_shape, label_dtype="int64",
                                                   datafile=small_datafile), loss)
    assert mnist == round(100 * np.mean(predicted == truth), 2)
    pixel_range = load_course_data(small_datafile).pixel_range
    photos, labels = uci_photos(seed=0)
    right = [read(model, loss, photo, photo.astype(np.float32), pixel_range).predicted == label
             for photo, label in zip(photos, labels)]
    assert uci == pytest.approx(100 * np.mean(right), abs=0.006)


def test_augmentation_settings_are_checked():
    with pytest.raises(UserError, match=r"--stroke 2: give 0 to 1"):
        TrainConfig(stroke=2)
    with pytest.raises(UserError, match=r"--scale 0.5: give 0 to 0.3"):
        TrainConfig(scale=0.5)


def test_reading_uses_the_trained_network_not_its_training_mode(small_datafile):
    """digits.training.predict leaves a model training (dropout on, batch norm on batch statistics);
    read_images, which the app and the robustness bench call after it, reads with eval mode: the same
    answers every time, whatever ran before."""
    from digits.reading import read_images
    paddle.seed(0)
    model = build_model("wide_cnn", 10)  # dropout and batch norm
    images = load_course_data(small_datafile)["eval"][0][:200]
    model.eval()
    expected = read_images(model, "ce", images)[1]
    predict(model, load_data("eval", 100, image_shape=model.input_shape, label_dtype="int64",
                             datafile=small_datafile), "ce")
    assert model.training  # what predict leaves behind
    for _ in range(2):
        np.testing.assert_array_equal(read_images(model, "ce", images)[1], expected)
