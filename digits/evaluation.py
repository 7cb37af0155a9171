"""Evaluating a trained model: per-digit accuracy with a confusion matrix, and reading digit photos."""
import os
import re
import zipfile

import numpy as np

from .errors import UserError
from .export import is_export
from .data import load_course_data
from .plots import plot_confusion, save
from .prepare import ensure_datafile
from .preprocess import load_photo, mnist_steps
from .reading import class_means, read, read_images, what_the_network_saw
from .runs import Run
from .training import predict


def report(model, loss, loader, split, figure):
    """Print loss, accuracy and per-digit accuracy over a loader; draw the confusion matrix to `figure`."""
    predicted, truth, mean_loss = predict(model, loader, loss)
    accuracy = float(np.mean(predicted == truth))
    print(f"{split}: {len(truth)} images, {'MSE' if loss == 'mse' else 'loss'} {mean_loss:.4f}, "
          f"accuracy {100 * accuracy:.2f}%")
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    for digit in range(10):
        total = confusion[digit].sum()
        share = confusion[digit, digit] / total if total else float("nan")
        print(f"  digit {digit}: {100 * share:6.2f}%  of {total}")
    write_figure(figure, lambda: plot_confusion(confusion, figure, f"{split} confusion matrix"))
    return accuracy


FIGURE_PHOTOS = 12  # rows of "what the network saw": a figure of hundreds of rows takes minutes and gigabytes
PHOTO_BATCH = 200   # photos prepared, then read by the network at once: memory stays bounded however many


def photo_label(path):
    """The digit a photo's name says it shows, or None: a folder named 0-9 (photos/7/a.png), or a file name
    that starts with one digit and then no other (7.png, 7_anna.jpg, 3-b.png; not 2024.png)."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
    if re.fullmatch(r"\d", folder):
        return int(folder)
    found = re.match(r"(\d)(?!\d)", os.path.basename(path))
    return int(found.group(1)) if found else None


MEANS_FILE = "training_means.npz"  # beside a model folder's weights: what reading a photo needs of its data


def data_notes(folder, datafile):
    """What eval.py says before evaluating the run in `folder` on `datafile`: nothing when it is the file the
    run was trained on; else that it is another file (or that the run's own file is gone), and when its pixels
    are in another range than the run learned from (the accuracy then says little)."""
    if is_export(folder) or not os.path.exists(os.path.join(folder, "config.json")):
        return []
    config, data = Run.open(folder).config, load_course_data(datafile)
    notes, trained_on = [], config.get("data")
    same = config.get("data_key") in (None, data.key)
    if trained_on and not os.path.exists(trained_on):
        notes.append(f"note: the file {folder} was trained on, {trained_on}, is gone: evaluating on {datafile} "
                     f"instead ({'the same contents' if same else 'other contents'})")
    elif not same:
        notes.append(f"note: evaluating on {datafile}, not the file {folder} was trained on"
                     + (f" ({trained_on})" if trained_on else ""))
    if config.get("pixel_range") and tuple(config["pixel_range"]) != tuple(data.pixel_range):
        notes.append(f"warning: {datafile} stores pixels in [{data.pixel_range[0]:g}, {data.pixel_range[1]:g}], "
                     f"{folder} learned from [{config['pixel_range'][0]:g}, {config['pixel_range'][1]:g}]: the "
                     f"accuracy below says little; evaluate on a file in the run's range")
    return notes


def photo_reference(folder, datafile=None):
    """(pixel range, the training mean image of each digit [10, 28, 28]) for reading photos with the model in
    `folder`: from its training_means.npz when it ships one (pretrained/: no data file needed), else from the
    course file `datafile` (built or found as usual)."""
    path = os.path.join(folder, MEANS_FILE)
    if os.path.isfile(path):
        try:
            with np.load(path, allow_pickle=False) as saved:  # plain arrays only: a pickle inside is refused
                pixel_range, means = tuple(float(v) for v in saved["pixel_range"]), saved["means"].astype(np.float32)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            raise UserError(f"{path} is damaged or not what this project writes: rebuild it with "
                            f"python pretrained/build.py, or get the project's copy again") from None
        if len(pixel_range) != 2 or means.shape != (10, 28, 28):
            raise UserError(f"{path} holds arrays of the wrong shape: rebuild it with python pretrained/build.py")
        return pixel_range, means
    datafile = ensure_datafile(datafile)
    return load_course_data(datafile).pixel_range, class_means(datafile)


def predict_photos(model, loss, paths, reference, figure):
    """Read digit photos the way MNIST was made and print each answer, then a summary (how many of each digit;
    the accuracy over the photos whose names carry their digit, see photo_label), and draw what the network
    saw for the first FIGURE_PHOTOS of them to `figure` (digits.reading). `reference` is photo_reference()'s
    (pixel range, training means), or a course file to take them from. Returns the predicted digits. A photo
    that cannot be read is one line and the others go on; at the end a UserError says how many failed."""
    if not isinstance(reference, tuple):
        reference = load_course_data(reference).pixel_range, class_means(reference)
    pixel_range, means = reference
    shown, predicted, failed = [], [], []
    for start in range(0, len(paths), PHOTO_BATCH):
        prepared, names = [], []
        for path in paths[start:start + PHOTO_BATCH]:
            try:
                as_given, gray = load_photo(path)
                if len(shown) < FIGURE_PHOTOS:  # the whole reading, every step, for the figure
                    shown.append(read(model, loss, as_given, gray, pixel_range, name=os.path.basename(path)))
                    steps = shown[-1].steps
                else:
                    steps = mnist_steps(gray, pixel_range, os.path.basename(path))
            except UserError as error:
                failed.append(error)
                if len(paths) > 1:
                    print(f"{path}: error: {error}")
                continue
            prepared.append(steps["normalised"])
            names.append(path)
        if prepared:
            digits, scores = read_images(model, loss, np.stack(prepared))
            for path, digit, score in zip(names, digits, scores):
                confidence = f"regressed value {float(score):.2f}" if loss == "mse" else f"{100 * score[digit]:.1f}%"
                print(f"{path}: {digit} ({confidence})")
                predicted.append((path, int(digit)))
    summarise_photos(predicted, failed)
    if shown:
        fig = what_the_network_saw(shown, means, pixel_range)
        write_figure(figure, lambda: save(fig, figure))
        if len(paths) > len(shown):
            print(f"the figure shows the first {len(shown)} of the {len(paths)} photos")
    if failed:
        raise UserError(str(failed[0]) if len(paths) == 1 else
                        f"{len(failed)} of the {len(paths)} photos could not be read (each is named above, "
                        f"first: {failed[0]}); the others' answers are above")
    return np.array([digit for _, digit in predicted])


def summarise_photos(predicted, failed):
    """How many photos were read as each digit, and how many were right where their names say the digit."""
    counts = np.bincount([digit for _, digit in predicted], minlength=10)
    print(f"read {len(predicted)} photo{'s' * (len(predicted) != 1)}: "
          + ", ".join(f"{digit}: {count}" for digit, count in enumerate(counts) if count)
          + (f"; {len(failed)} could not be read" if failed else ""))
    labelled = [(photo_label(path), digit) for path, digit in predicted if photo_label(path) is not None]
    if labelled:
        right = sum(label == digit for label, digit in labelled)
        print(f"accuracy over the {len(labelled)} photos whose names give their digit: {right} right, "
              f"{100 * right / len(labelled):.2f}%")


def write_figure(path, draw):
    """Run draw(), which writes the figure `path`. When that folder cannot be written (a read-only run
    folder, a full disk) say so in one line: the numbers printed before are the result, the figure
    only shows them."""
    try:
        draw()
    except OSError as e:
        print(f"could not write the figure {path} ({e.strerror or e}): skipped it, the results above are complete")
    else:
        print(f"wrote {path}")
