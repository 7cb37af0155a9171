"""Nothing lost, nothing silently wrong: damaged caches, read-only folders, unusual photos, empty
splits, slow or killed downloads, and SIGTERM, each on real data and real code."""
import gzip
import http.server
import json
import os
import pty
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image

import digits
from conftest import SCRIPT_ENV, folder_handler, run_script
from digits import data
from digits.data import cache_paths, load_course_data
from digits.errors import UserError
from digits.fileio import temp_prefix
from digits.idx import FILES, download, read_idx, read_source
from digits.prepare import course_splits
from digits.preprocess import load_digit


def fresh_load(path):
    """Load a course file as a new process would: not from this process's memory of earlier loads."""
    data._loaded.clear()
    return load_course_data(str(path))


def course_copy(small_datafile, folder):
    os.makedirs(folder, exist_ok=True)
    return shutil.copy(small_datafile, os.path.join(folder, "course.json.gz"))


# 1. A damaged cache is noticed and rebuilt

def flip_bit(raw, where):
    raw = bytearray(raw)
    raw[where] ^= 0x10
    return bytes(raw)


@pytest.mark.parametrize("damage", [
    lambda raw: raw[:len(raw) // 2],                 # truncated: the zip directory at the end is gone
    lambda raw: raw[:0],                             # empty: a crash before the first byte landed
    lambda raw: flip_bit(raw, len(raw) // 2),        # a flipped bit inside an array: the zip's CRC catches it
    lambda raw: flip_bit(raw, 100),                  # a flipped bit in the first array's header
    lambda raw: flip_bit(raw, len(raw) - 40),        # a flipped bit in the zip directory
], ids=["truncated", "empty", "bit-in-data", "bit-in-header", "bit-in-directory"])
def test_a_damaged_cache_is_rebuilt_from_the_json(small_datafile, tmp_path, capsys, damage):
    path = course_copy(small_datafile, tmp_path)
    expected = fresh_load(path)
    (cache,) = [c for c in cache_paths(path, data.content_key(path)) if os.path.exists(c)]
    good = open(cache, "rb").read()
    with open(cache, "wb") as f:
        f.write(damage(good))
    capsys.readouterr()

    rebuilt = fresh_load(path)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"the cache {cache} was damaged: rebuilding it from {path}"]
    assert rebuilt.pixel_range == expected.pixel_range
    for mode in data.MODES:
        np.testing.assert_array_equal(rebuilt[mode][0], expected[mode][0])
        np.testing.assert_array_equal(rebuilt[mode][1], expected[mode][1])
    assert open(cache, "rb").read() == good  # rebuilt in place, whole
    fresh_load(path)
    assert capsys.readouterr().out == ""  # and read from then on


def test_a_cache_with_arrays_of_the_wrong_kind_is_rebuilt(small_datafile, tmp_path, capsys):
    # a valid zip whose arrays are not the course's (an older layout, another program's file)
    path = course_copy(small_datafile, tmp_path)
    expected = fresh_load(path)
    (cache,) = [c for c in cache_paths(path, data.content_key(path)) if os.path.exists(c)]
    arrays = dict(np.load(cache))
    arrays["valid_images"] = arrays["valid_images"][:, :700]
    with open(cache, "wb") as f:
        np.savez(f, **arrays)
    capsys.readouterr()
    assert fresh_load(path)["valid"][0].shape == expected["valid"][0].shape
    assert "was damaged: rebuilding it" in capsys.readouterr().out


# 2. Read-only places

def test_a_data_folder_that_cannot_be_written_caches_in_the_user_cache(small_datafile, tmp_path, monkeypatch, capsys):
    # '.cache' beside the data file is a file, so no cache folder can be made there: writes fail for real
    path = course_copy(small_datafile, tmp_path / "data")
    (tmp_path / "data" / ".cache").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    expected = fresh_load(small_datafile)
    got = fresh_load(path)
    np.testing.assert_array_equal(got["train"][0], expected["train"][0])
    name = f"course.json.gz.{data.content_key(path)}.npz"
    assert os.listdir(tmp_path / "user-cache" / "paddle-digits") == [name]
    capsys.readouterr()
    fresh_load(path)
    assert capsys.readouterr().out == ""  # the next load reads that cache


def test_no_writable_cache_location_is_one_user_error(small_datafile, tmp_path, monkeypatch):
    path = course_copy(small_datafile, tmp_path / "data")
    (tmp_path / "data" / ".cache").write_text("not a folder")
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file" / "cache"))
    with pytest.raises(UserError, match="cannot cache the arrays of .*set XDG_CACHE_HOME to a writable folder") as error:
        fresh_load(path)
    assert "\n" not in str(error.value)


def mount_namespaces_work():
    try:
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                              capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


def run_read_only(folders, args, env):
    """Run one of the project's scripts with `folders` mounted read-only, in a private mount namespace
    that only this command sees (chmod does not stop root, a read-only mount does)."""
    quoted = [shlex.quote(str(folder)) for folder in folders]
    mounts = "".join(f"mount --bind {f} {f} && mount -o remount,bind,ro {f} && " for f in quoted)
    command = [sys.executable, os.path.join(digits.PROJECT_ROOT, args[0]), *args[1:]]
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", mounts + 'exec "$@"', "sh",
                           *command], env={**os.environ, **env}, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, small_datafile):
    folder = tmp_path_factory.mktemp("robust-run")
    done = run_script(["train.py", "--epochs", "1", "--out", str(folder / "run")], folder, small_datafile)
    assert done.returncode == 0, done.stderr
    return folder / "run"


@pytest.mark.skipif(not mount_namespaces_work(), reason="needs `unshare --mount` (root or user namespaces)")
@pytest.mark.parametrize("images", [False, True], ids=["report", "photo"])
def test_eval_on_read_only_folders_prints_its_result(trained_run, small_datafile, source, tmp_path, images):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    path = course_copy(small_datafile, tmp_path / "data")  # no cache beside it yet, nor can there be
    args = ["eval.py", str(run), "--data", path]
    if images:
        photo = tmp_path / "photos" / "seven.png"
        photo.parent.mkdir()
        Image.fromarray(255 - first_test_digit(source)).resize((140, 140)).save(photo)
        args += ["--image", str(photo)]
    done = run_read_only([run, tmp_path / "data"], args, {"XDG_CACHE_HOME": str(tmp_path / "user-cache")})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert (f"{photo}: " in done.stdout) if images else ("eval: 500 images" in done.stdout)
    figure = run / ("images.png" if images else "confusion-eval.png")
    assert f"could not write the figure {figure} (Read-only file system): skipped it" in done.stdout
    assert not figure.exists() and not (tmp_path / "data" / ".cache").exists()
    assert len(os.listdir(tmp_path / "user-cache" / "paddle-digits")) == 1


# 3. Photos in other bit depths, with transparency, or too large

def first_test_digit(source):
    images, _ = read_idx(os.path.join(source, FILES["test_images"]))
    return images[0]  # a 7


@pytest.fixture(scope="module")
def ink(source):
    """A real MNIST 7, enlarged on a canvas as a photo would hold it: ink amount 0-255, uint8."""
    canvas = np.zeros((180, 220), dtype=np.uint8)
    digit = Image.fromarray(first_test_digit(source)).resize((140, 140), Image.Resampling.BICUBIC)
    canvas[20:160, 50:190] = np.asarray(digit)
    return canvas


def save(image, path, expected_mode):
    image.save(path)
    with Image.open(path) as saved:
        assert saved.mode == expected_mode, "the test builds the kind of file it means to"
    return str(path)


def gray_on_white(ink):
    return Image.fromarray(255 - ink)


def palette_with_transparent_background(ink):
    # index = ink amount; index 0, the background, is transparent and hides black
    image = Image.frombytes("P", (ink.shape[1], ink.shape[0]), ink.tobytes())
    image.putpalette([0, 0, 0] + [channel for i in range(1, 256) for channel in (255 - i,) * 3])
    image.info["transparency"] = 0
    return image


def alpha_ink(ink, mode, shade):
    color = Image.new("L" if mode == "LA" else "RGB", (ink.shape[1], ink.shape[0]), shade)
    color.putalpha(Image.fromarray(ink))
    return color


PHOTOS = {
    "16-bit": (lambda ink: Image.fromarray((255 - ink).astype(np.uint16) * 257), "png", "I;16"),
    "32-bit": (lambda ink: Image.fromarray((255 - ink).astype(np.int32) << 23), "tif", "I"),
    "float": (lambda ink: Image.fromarray((255 - ink).astype(np.float32) / 255), "tif", "F"),
    "black-ink-on-transparent-rgba": (lambda ink: alpha_ink(ink, "RGBA", (0, 0, 0)), "png", "RGBA"),
    "black-ink-on-transparent-la": (lambda ink: alpha_ink(ink, "LA", 0), "png", "LA"),
    "white-ink-on-transparent": (lambda ink: alpha_ink(ink, "RGBA", (255, 255, 255)), "png", "RGBA"),
    "palette-with-transparency": (palette_with_transparent_background, "png", "P"),
}


@pytest.mark.parametrize("kind", PHOTOS)
def test_photos_of_any_depth_or_transparency_read_as_the_plain_photo(ink, tmp_path, kind):
    make, extension, mode = PHOTOS[kind]
    expected = load_digit(save(gray_on_white(ink), tmp_path / "plain.png", "L"))
    got = load_digit(save(make(ink), tmp_path / f"photo.{extension}", mode))
    assert np.abs(got - expected).max() < 0.05  # pixels span 2.0 ([-1, 1]): the same digit, up to rounding
    assert np.abs(got - expected).mean() < 0.002


def test_a_phone_photo_stored_sideways_reads_upright(ink, tmp_path):
    """A phone keeps the sensor's pixels and records how it was held in an EXIF orientation tag: a 7 stored
    turned a quarter is read as the 7 the camera saw, not as the sideways figure."""
    upright = load_digit(save(gray_on_white(ink), tmp_path / "upright.png", "L"))
    stored = gray_on_white(ink).transpose(Image.Transpose.ROTATE_90)  # what the sensor holds
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to show
    stored.save(tmp_path / "phone.jpg", quality=95, exif=exif)
    with Image.open(tmp_path / "phone.jpg") as raw:
        assert raw.size == (ink.shape[0], ink.shape[1])  # the file itself is sideways
    assert np.abs(load_digit(str(tmp_path / "phone.jpg")) - upright).mean() < 0.02


def test_a_large_photo_is_shrunk_as_it_is_opened(tmp_path):
    """9400x9400 pixels is under Pillow's bomb limit: reading it costs seconds and a few hundred MB, not more,
    because the photo is shrunk to MAX_SIDE before any array or figure is made. Measured in a child process."""
    page = Image.new("L", (9400, 9400), 235)
    page.paste(0, (3000, 2000, 6400, 2900))  # a thick dark bar: a "7"'s top stroke ...
    page.paste(0, (5500, 2000, 6400, 7800))  # ... and its stem
    page.save(tmp_path / "huge.png", optimize=True)
    assert os.path.getsize(tmp_path / "huge.png") < 1_000_000
    # the photo read and drawn as the app draws it (what the network saw), with an untrained CNN; the peak as
    # /proc counts it for this program (ru_maxrss would also count the forking test process; Paddle itself
    # takes about 400 MB)
    code = ("import re, sys, time; import numpy as np; import digits; from digits.preprocess import load_photo; "
            "from digits.reading import read, what_the_network_saw; from digits.plots import figure_array; "
            "from models import build_model; model = build_model('cnn', 10); t = time.perf_counter(); "
            "shown, gray = load_photo(sys.argv[1]); reading = read(model, 'ce', shown, gray, (-1.0, 1.0), 'huge'); "
            "picture = figure_array(what_the_network_saw([reading], np.zeros((10, 28, 28), np.float32), (-1, 1))); "
            "peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) // 1024; "
            "print(shown.shape, gray.shape, reading.steps['normalised'].shape, round(time.perf_counter() - t, 2), "
            "peak)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "huge.png")], capture_output=True, text=True,
                          cwd=digits.PROJECT_ROOT, env=SCRIPT_ENV)
    assert done.returncode == 0, done.stderr
    assert "(1024, 1024, 3) (1024, 1024) (28, 28)" in done.stdout
    seconds, peak_mb = done.stdout.split()[-2:]
    assert float(seconds) < 5 and int(peak_mb) < 800, done.stdout


def png_bomb(path, width, height):
    """A real decompression bomb: a tiny PNG of a huge all-black 1-bit image."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = zlib.compress(bytes((width + 7) // 8 + 1) * height, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return str(path)


@pytest.mark.parametrize("side", [10_000, 14_000], ids=["over-the-warning-limit", "over-the-error-limit"])
def test_a_decompression_bomb_is_one_user_error(tmp_path, side):
    with pytest.raises(UserError, match="is too large to read safely .*pass a smaller photo") as error:
        load_digit(png_bomb(tmp_path / "bomb.png", side, side))
    assert "\n" not in str(error.value)


# 4. Empty splits

def write_course(path, splits):
    with gzip.open(path, "wt") as f:
        json.dump(splits, f)
    return str(path)


@pytest.mark.parametrize("empty, message", [
    (("train",), "has no train images"),
    (("valid",), "has no valid images"),
    (("eval",), "has no eval images"),
    (("train", "valid", "eval"), "holds no images"),
])
def test_an_empty_split_is_one_user_error(small_datafile, tmp_path, empty, message):
    course = load_course_data(small_datafile)
    splits = [[[], []] if m in empty else [course[m][0][:5].tolist(), course[m][1][:5].tolist()] for m in data.MODES]
    path = write_course(tmp_path / "course.json.gz", splits)
    with pytest.raises(UserError, match=message) as error:
        fresh_load(path)
    assert "\n" not in str(error.value)


def test_training_on_an_empty_valid_split_says_so_in_one_line(small_datafile, tmp_path):
    course = load_course_data(small_datafile)
    splits = [[course[m][0][:5].tolist(), course[m][1][:5].tolist()] if m != "valid" else [[], []] for m in data.MODES]
    path = write_course(tmp_path / "course.json.gz", splits)
    done = run_script(["train.py", "--epochs", "1", "--data", path, "--out", str(tmp_path / "run")], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {path} has no valid images: training needs a train and a "
                                                f"valid split and its final evaluation an eval split; rebuild it with "
                                                f"`python -m digits.prepare`"]


@pytest.mark.parametrize("sizes", [(100, 0, 100), (100, 100, 0), (2000, 500, -5)])
def test_prepare_refuses_sizes_that_empty_a_split(source, sizes):
    arrays, _ = read_source(source)
    with pytest.raises(UserError, match="give three whole numbers of at least 1"):
        course_splits(arrays, sizes)


@pytest.mark.parametrize("label, shown", [(7.7, "7.7"), (True, "True"), ("7", "'7'")])
def test_labels_must_be_whole_numbers(small_datafile, tmp_path, label, shown):
    course = load_course_data(small_datafile)
    splits = [[course[m][0][:5].tolist(), course[m][1][:5].tolist()] for m in data.MODES]
    splits[0][1][2] = label
    with pytest.raises(UserError, match=f"the train labels must be whole numbers 0-9, found {re.escape(shown)}"):
        fresh_load(write_course(tmp_path / "course.json.gz", splits))


def test_pixels_must_be_numbers(small_datafile, tmp_path):
    course = load_course_data(small_datafile)
    splits = [[course[m][0][:5].tolist(), course[m][1][:5].tolist()] for m in data.MODES]
    splits[1][0][0] = [str(v) for v in splits[1][0][0]]
    with pytest.raises(UserError, match="the valid images must be lists of numbers"):
        fresh_load(write_course(tmp_path / "course.json.gz", splits))


def test_a_gzip_of_whitespace_is_refused_within_bounded_memory(tmp_path):
    """800 MB of spaces packs into a few MB (about 1 MB at gzip's best): refused after a bounded read, not after
    unpacking it whole. Measured in a child process: its peak resident memory (VmHWM)."""
    path = tmp_path / "spaces.json.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        block = b" " * (1 << 24)
        for _ in range(50):
            f.write(block)
    assert os.path.getsize(path) < 5_000_000
    code = ("import re, sys; from digits.data import load_course_data; from digits.errors import UserError\n"
            "try:\n    load_course_data(sys.argv[1])\nexcept UserError as e:\n    print('refused:', e)\n"
            "print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) // 1024)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          cwd=digits.PROJECT_ROOT, env=SCRIPT_ENV, timeout=300)
    assert "refused:" in done.stdout and "unpacks to more than" in done.stdout, done.stdout + done.stderr
    assert int(done.stdout.split()[-1]) < 1200, done.stdout


def test_deeply_nested_json_is_one_line(tmp_path):
    path = tmp_path / "nested.json.gz"
    with gzip.open(path, "wt") as f:
        f.write("[" * 200_000 + "]" * 200_000)
    with pytest.raises(UserError) as error:
        fresh_load(str(path))
    assert "\n" not in str(error.value)


# 5. Downloads: a deadline, progress on a terminal, no partial files left behind

class TrickleHandler(http.server.BaseHTTPRequestHandler):
    """A mirror that promises a whole file and then sends one byte at a time, slowly, for a while."""
    gives_up_after = 20  # seconds: so a download without a deadline fails this test instead of hanging

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(10_000_000))
        self.end_headers()
        stop = time.monotonic() + self.gives_up_after
        try:
            while time.monotonic() < stop:
                self.wfile.write(b"\x1f")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:  # the client gave up
            pass

    def log_message(self, *args):
        pass


def test_a_trickling_mirror_is_given_up_at_the_deadline(source, tmp_path, serve, capsys):
    trickle, good = serve(TrickleHandler), serve(folder_handler(source))
    dest = tmp_path / "raw"
    started = time.monotonic()
    with pytest.raises(UserError, match=r"could not download train-images-idx3-ubyte.gz .*not finished after 1 s"):
        download(str(dest), [trickle], timeout=5, deadline=1)
    assert time.monotonic() - started < 10
    assert os.listdir(dest) == []  # the partial file is gone

    started = time.monotonic()
    download(str(dest), [trickle, good], timeout=5, deadline=1)  # each file: the slow mirror, then the next
    assert time.monotonic() - started < 40
    assert read_source(str(dest))[1] and sorted(os.listdir(dest)) == sorted(FILES.values())
    out = capsys.readouterr().out
    assert out.count("not finished after 1 s") == 5
    assert "\r" not in out  # no progress line when the output is not a terminal


def test_download_shows_progress_on_a_terminal(source, tmp_path, serve, monkeypatch):
    good = serve(folder_handler(source))
    controller, terminal = pty.openpty()
    shown = []
    reader = threading.Thread(target=lambda: shown.extend(iter(lambda: read_or_end(controller), b"")), daemon=True)
    reader.start()
    with open(terminal, "w") as tty:
        monkeypatch.setattr(sys, "stdout", tty)
        download(str(tmp_path / "raw"), [good])
        monkeypatch.undo()
    reader.join(timeout=10)
    os.close(controller)
    text = b"".join(shown).decode()
    assert "\r  9.7 MB of 9.7 MB (100%)" in text  # train-images-idx3-ubyte.gz, finished
    assert "\r  5 kB of 5 kB (100%)" in text  # t10k-labels-idx1-ubyte.gz


def read_or_end(fd):
    try:
        return os.read(fd, 4096)
    except OSError:  # the terminal side was closed
        return b""


def test_a_killed_downloads_partial_file_is_removed_by_the_next(source, tmp_path, serve):
    trickle, good = serve(TrickleHandler), serve(folder_handler(source))
    dest = tmp_path / "raw"
    script = f"from digits.idx import download; download({str(dest)!r}, [{trickle!r}])"
    killed = subprocess.Popen([sys.executable, "-c", script], cwd=digits.PROJECT_ROOT, stdout=subprocess.DEVNULL)
    prefix = temp_prefix(FILES["train_images"])
    deadline = time.monotonic() + 30
    while not (dest.exists() and [f for f in os.listdir(dest) if f.startswith(prefix)]):
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.1)
    time.sleep(0.5)
    killed.kill()  # SIGKILL: no clean-up runs
    killed.wait()
    (partial,) = os.listdir(dest)
    assert partial.startswith(prefix) and partial.endswith(".tmp")
    an_hour_ago = time.time() - 3600
    os.utime(dest / partial, (an_hour_ago, an_hour_ago))  # as when the user comes back later
    live = dest / f"{prefix}live.tmp"  # a download still running in another process: left alone
    live.write_bytes(b"\x1f")

    download(str(dest), [good])
    assert sorted(os.listdir(dest)) == sorted([*FILES.values(), live.name])


# 6. SIGTERM is handled like Ctrl-C

def test_sigterm_interrupts_training_without_a_stack_dump(small_datafile, tmp_path):
    command = [sys.executable, os.path.join(digits.PROJECT_ROOT, "train.py"), "--data", small_datafile,
               "--epochs", "3", "--out", str(tmp_path / "run")]
    training = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen = []
    for line in training.stdout:
        seen.append(line)
        if "epoch" in line:
            break
    assert any("epoch" in line for line in seen), "training never started: " + "".join(seen)
    training.send_signal(signal.SIGTERM)
    out, err = training.communicate(timeout=120)
    output = "".join(seen) + out + err
    assert "C++ Traceback" not in output and "Error Message Summary" not in output
    assert "Traceback" not in err
    assert training.returncode in (130, 143)
    assert err.strip().splitlines()[-1] == "interrupted"
