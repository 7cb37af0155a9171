"""app.py used as a person uses it: started on 127.0.0.1, driven in Debian's headless Chromium through
Selenium with real mouse strokes on its canvas and real file uploads, answers read from the page.

Needs the [app] extra, selenium, and Debian's chromium and chromium-driver (.ci/run installs them).
Screenshots go to each test's temporary folder. The README's picture of the app comes from the same test
on fully trained runs:
    APP_TEST_RUNS="runs/robust runs/mlp" APP_SCREENSHOT=docs/app.png python -m pytest tests/test_app.py -k drawn
"""
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

import digits
from conftest import SCRIPT_ENV, run_script

pytestmark = pytest.mark.full
from digits.preprocess import digit_photo, load_photo
from digits.reading import read
from models import load_trained

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ANSWER = re.compile(r"(\S+) reads (\d) \(")


@pytest.fixture(scope="module", autouse=True)
def gradio():
    try:
        import gradio  # noqa: F401
    except ImportError:
        message = 'the app needs its extra: pip install -e ".[app]"'
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_datafile):
    """Two short runs on the small data: the course CNN (with shifts, so a drawn digit need not sit where
    MNIST's do) and the MLP, as a student would compare them; or the two runs APP_TEST_RUNS names."""
    if os.environ.get("APP_TEST_RUNS"):
        return tuple(pathlib.Path(digits.PROJECT_ROOT, run) for run in os.environ["APP_TEST_RUNS"].split())
    folder = tmp_path_factory.mktemp("app")
    for name, flags in (("cnn", ["--epochs", "4", "--shift", "2"]), ("mlp", ["--model", "mlp", "--epochs", "2"])):
        done = run_script(["train.py", *flags, "--out", str(folder / name)], folder, small_datafile)
        assert done.returncode == 0, done.stderr
    return folder / "cnn", folder / "mlp"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(args, cwd, log_folder, env):
    """`python app.py ARGS` on a free port from `cwd` with `env`; returns (url, process, log), its output in app.log."""
    port = free_port()
    log = open(log_folder / "app.log", "w+")
    process = subprocess.Popen([sys.executable, os.path.join(digits.PROJECT_ROOT, "app.py"), *args, "--port", str(port)],
                               cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return url, process, log
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                log.seek(0)
                pytest.fail(f"app.py did not start:\n{log.read()}")
            time.sleep(0.5)


def stop_app(process, log):
    process.terminate()
    process.wait(timeout=30)
    log.seek(0)
    output = log.read()
    # Gradio logs a traceback when a browser leaves a page while an upload is still streaming (the next
    # test's page load can do that): that is the browser's doing; any other traceback is the app's error
    assert output.count("Traceback") == output.count("starlette.requests.ClientDisconnect"), \
        f"the app logged an error:\n{output}"
    return output


@pytest.fixture(scope="module")
def app_url(runs, small_datafile, tmp_path_factory):
    """`python app.py CNN MLP` from the runs' folder (so the page names them as a user's runs/ would be
    named), on the small course file."""
    cwd = digits.PROJECT_ROOT if os.environ.get("APP_TEST_RUNS") else runs[0].parent
    env = {**SCRIPT_ENV, "MNIST_JSON": str(small_datafile), "GRADIO_ANALYTICS_ENABLED": "False"}
    url, process, log = start_app([os.path.relpath(run, cwd) for run in runs], cwd, tmp_path_factory.mktemp("log"), env)
    yield url
    stop_app(process, log)


def chromium(language="en-US"):
    """Headless Chromium from Debian, with the flags that render reliably and send nothing off the machine, asking
    pages for `language`. Without it: skipped, naming the apt line; in CI (CI set), a failure."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"{CHROMIUM} and {CHROMEDRIVER} are needed: sudo apt-get install chromium chromium-driver"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for a browser to download
    from selenium import webdriver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,2000",
                 "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 f"--lang={language}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, app_url):
    """The app freshly loaded, its drawing canvas ready."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get(app_url)
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#sketch canvas"))
    return browser


def answer_text(browser):
    from selenium.webdriver.common.by import By
    return browser.find_element(By.CSS_SELECTOR, "#answer").text


def wait_for_answer(browser, before=""):
    """The answer area's text once it has changed from `before` (the app answers each input once)."""
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 60).until(lambda b: answer_text(b) not in (before, "Draw a digit or upload a photo."))
    return answer_text(browser)


def answers(text):
    """{run folder name: digit} from the answer area's 'RUN reads D (P%)' lines."""
    return {os.path.basename(run): int(digit) for run, digit in ANSWER.findall(text)}


def draw(browser, strokes):
    """Real mouse strokes on the sketchpad: each stroke a list of (x, y) points, in pixels from the
    canvas's centre (the page of the drawing is centred in the editor's canvas)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    browser.find_element(By.CSS_SELECTOR, "#sketch button[aria-label='Brush']").click()  # not active at first
    canvas = browser.find_element(By.CSS_SELECTOR, "#sketch canvas")
    for stroke in strokes:
        # 20 ms per move instead of Selenium's 250: the canvas records every point either way
        actions = ActionChains(browser, duration=20).move_to_element_with_offset(canvas, *stroke[0]).click_and_hold()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            actions.move_by_offset(x1 - x0, y1 - y0)
        actions.release().perform()


def upload(browser, path):
    from selenium.webdriver.common.by import By
    next(tab for tab in browser.find_elements(By.CSS_SELECTOR, "button[role=tab]") if "Upload" in tab.text).click()
    browser.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(path))


def shown_image(browser, elem_id):
    """The picture an output image element shows, as loaded by the browser (None when empty)."""
    from selenium.webdriver.common.by import By
    images = browser.find_elements(By.CSS_SELECTOR, f"#{elem_id} img")
    return images[0].size if images and images[0].get_attribute("src") else None


# few points per stroke: the brush joins them with straight segments, and each pointer move costs the
# browser a rendered frame or more
VERTICAL_LINE = [[(0, -90), (0, 0), (0, 90)]]                                   # a 1
RING = [[(int(60 * np.sin(t)), int(-85 * np.cos(t))) for t in np.linspace(0, 2 * np.pi, 17)]]  # a 0
SEVEN = [[(-60, -80), (60, -80), (40, -40), (20, 0), (0, 40), (-10, 85)]]


def clear(browser):
    from selenium.webdriver.common.by import By
    browser.find_element(By.CSS_SELECTOR, "#sketch button[aria-label='Clear canvas']").click()


def test_drawn_digits_are_read_by_both_runs_and_a_cleared_canvas_says_to_draw(page, app_url, runs, tmp_path):
    """A 1, a 0 and a 7 drawn one after another on one page, the canvas cleared in between, as a user would."""
    from selenium.webdriver.support.ui import WebDriverWait
    shown = ""
    for strokes, digit in ((VERTICAL_LINE, 1), (RING, 0), (SEVEN, 7)):
        draw(page, strokes)
        shown = wait_for_answer(page, before=shown)
        found = answers(shown)
        assert set(found) == {run.name for run in runs} and found[runs[0].name] == digit, shown  # the CNN reads it
        # what the network saw and the feature maps are drawn in the page
        WebDriverWait(page, 30).until(lambda b: shown_image(b, "saw") and shown_image(b, "maps"))
        page.save_screenshot(str(tmp_path / f"drawn-{digit}.png"))
        if digit == 7 and os.environ.get("APP_SCREENSHOT"):
            page.save_screenshot(os.environ["APP_SCREENSHOT"])
        clear(page)
        shown = wait_for_answer(page, before=shown)
        assert shown == "⚠ the canvas is empty: draw a digit"
    # offline: everything the page loaded came from the app itself
    loaded = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(app_url.rstrip("/")) or url.startswith(("data:", "blob:")) for url in loaded), \
        [url for url in loaded if not url.startswith(app_url.rstrip("/"))]


def pick(browser, elem_id, value):
    """Choose `value` in one of the page's dropdowns, as a user does: open it, click the option."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    browser.find_element(By.CSS_SELECTOR, f"#{elem_id} input").click()
    WebDriverWait(browser, 30).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, f"[role=option][aria-label='{value}']"))[0].click()


def test_saying_which_digit_was_meant_adds_its_training_mean(page, runs):
    draw(page, VERTICAL_LINE)
    first = wait_for_answer(page)
    pick(page, "meant", "4")
    text = wait_for_answer(page, before=first)
    assert "You meant 4" in text and answers(text)[runs[0].name] == 1


def test_the_runs_are_picked_in_the_page(page, runs):
    """The same drawing read again when the second run is dropped and picked back."""
    draw(page, SEVEN)
    both = wait_for_answer(page)
    assert set(answers(both)) == {run.name for run in runs}
    pick(page, "run_b", "—")
    alone = wait_for_answer(page, before=both)
    assert answers(alone) == {runs[0].name: answers(both)[runs[0].name]}, alone
    pick(page, "run_b", runs[1].name)
    assert answers(wait_for_answer(page, before=alone)) == answers(both)


def test_an_uploaded_photo_gets_the_answer_the_library_gives(page, runs, source, tmp_path, small_datafile):
    """A real test digit drawn as a phone photo (dark on light, large, off-centre): the page shows what
    eval.py's path (digits.preprocess + digits.reading) answers for the same file."""
    import gzip
    from digits.data import load_course_data
    from digits.idx import FILES
    raw = gzip.open(os.path.join(source, FILES["test_images"])).read()
    digit = np.frombuffer(raw, np.uint8, offset=16 + 3 * 784, count=784).reshape(28, 28)  # a 0
    path = digit_photo(digit, str(tmp_path / "my_digit.png"), offset=(60, 20))
    model, loss, _ = load_trained(str(runs[0]))
    expected = read(model, loss, *load_photo(path), load_course_data(str(small_datafile)).pixel_range).predicted
    assert expected == 0, "the CNN reads this clear 0 through the library"
    upload(page, path)
    text = wait_for_answer(page)
    page.save_screenshot(str(tmp_path / "uploaded.png"))
    assert answers(text)[runs[0].name] == expected, text


def not_an_image(folder):
    (folder / "notes.png").write_text("not a picture")
    return folder / "notes.png"


def blank_page(folder):
    Image.new("L", (300, 200), 255).save(folder / "blank.png")
    return folder / "blank.png"


def huge_image(folder):
    from test_robustness import png_bomb
    return png_bomb(folder / "huge.png", 14_000, 14_000)


@pytest.mark.parametrize("make, message", [
    (not_an_image, "notes.png is not an image Pillow can read: pass a PNG or JPEG photo of one digit"),
    (blank_page, "no digit found in blank.png: it is blank or has almost no contrast"),
    (huge_image, "huge.png is too large to read safely"),
], ids=["not-an-image", "blank", "huge"])
def test_a_bad_upload_gets_one_message_and_the_app_keeps_running(page, runs, tmp_path, make, message):
    upload(page, make(tmp_path))
    text = wait_for_answer(page)
    page.save_screenshot(str(tmp_path / "bad.png"))
    assert text.startswith("⚠") and message in text and "\n" not in text, text
    page.refresh()  # the app still answers
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(page, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#sketch canvas"))
    draw(page, VERTICAL_LINE)
    assert answers(wait_for_answer(page))[runs[0].name] == 1


def test_a_fresh_clone_reads_a_drawn_digit_with_the_shipped_model_in_chinese(tmp_path):
    """No runs/ of the user's own and no course file: `python app.py` starts with pretrained/robust at once, and a
    browser that asks for Chinese gets the page, the answer and the figures in Chinese."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    env = {key: value for key, value in SCRIPT_ENV.items() if key not in ("MNIST_JSON", "MNIST_SOURCE")}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HOME=str(tmp_path))  # no course file in ~/work either
    url, process, log = start_app([], tmp_path, tmp_path, env)
    browser = chromium("zh-CN")
    try:
        browser.get(url)
        WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#sketch canvas"))
        WebDriverWait(browser, 30).until(lambda b: "手写一个数字" in b.find_element(By.TAG_NAME, "body").text)
        assert "是项目自带的模型" in browser.find_element(By.CSS_SELECTOR, "#shipped").text
        draw(browser, SEVEN)
        WebDriverWait(browser, 60).until(lambda b: "识别为" in answer_text(b))
        text = answer_text(browser)
        assert re.search(r"robust 识别为 7（|robust 识别为 7 \(", text), text
        WebDriverWait(browser, 30).until(lambda b: shown_image(b, "saw") and shown_image(b, "maps"))
        browser.save_screenshot(str(tmp_path / "shipped-zh.png"))
    finally:
        browser.quit()
        output = stop_app(process, log)
    assert "starting with the model that comes with the project" in output
    assert not (tmp_path / "work").exists()  # nothing was built or downloaded: the shipped model needs no data file


def test_a_port_in_use_is_one_line(app_url, runs, small_datafile, tmp_path):
    port = app_url.rstrip("/").rsplit(":", 1)[1]
    done = run_script(["app.py", str(runs[0]), "--port", port], tmp_path, small_datafile)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr


def test_the_app_answers_only_its_own_host_and_pages(app_url, tmp_path):
    """A foreign Host header (DNS rebinding) and a post from another site (a page the user visits uploading to
    the app blind) are refused; the app's own page may upload."""
    import urllib.error
    photo = tmp_path / "photo.png"
    Image.new("L", (40, 40), 255).save(photo)
    body = (b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"photo.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + photo.read_bytes() + b"\r\n--x--\r\n")

    def status(path, method="GET", **headers):
        request = urllib.request.Request(app_url + path, method=method, data=body if method == "POST" else None,
                                         headers={"Content-Type": "multipart/form-data; boundary=x", **headers})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
    port = app_url.rstrip("/").rsplit(":", 1)[1]
    assert status("") == 200
    assert status("", Host=f"rebound.example:{port}") == 403
    assert status("gradio_api/upload", "POST", Origin="http://evil.example") == 403
    assert status("gradio_api/upload", "POST", **{"Sec-Fetch-Site": "cross-site"}) == 403
    assert status("gradio_api/upload", "POST", Origin=app_url.rstrip("/")) == 200
