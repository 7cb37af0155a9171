"""Draw a digit, see what the network sees: a web app for reading your own handwriting.

    pip install -e ".[app]"                                  # Gradio, once
    python app.py                                            # then open http://127.0.0.1:7860
    python app.py runs/robust runs/OTHER                     # start with these two runs side by side

Draw with the mouse or a finger, or upload a photo. The app shows the three likeliest digits of one or
two models (pick them in the page: the model that comes with the project, pretrained/robust, and the runs
under runs/, train.py's and the labs'), every preprocessing step from your picture to the network's input
(digits.preprocess, the way MNIST was made) beside the training set's mean image of the answer and of the
digit you meant, and the feature maps of the network's two conv layers. The page speaks English or Chinese,
as the browser asks. It works offline and listens on 127.0.0.1 only, unless --host says otherwise.
"""
import argparse
import json
import logging
import os

import numpy as np
from PIL import Image  # before paddle (Paddle 2.6 exports its own zlib)

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits import PROJECT_ROOT
from digits.errors import UserError, run_main
from digits.evaluation import photo_reference
from digits.plots import figure_array
from digits.preprocess import load_photo, to_gray
from digits.reading import feature_map_figure, feature_maps, read, what_the_network_saw
from models import load_trained

DEFAULT_RUN = "runs/robust"  # where the README's recipe for one's own robust model writes it
RUNS_FOLDER = "runs"
SHIPPED = os.path.join(PROJECT_ROOT, "pretrained", "robust")  # the model that comes with the project
NONE = "—"       # no second model; no digit said
CANVAS = 280  # pixels: ten times MNIST's 28, a comfortable size to draw in

# The page's words in each language (Gradio shows the browser's; the answers follow its Accept-Language).
TEXT = {
    "en": {
        "title": "# Draw a digit, see what the network sees",
        "intro": "Draw one digit large in the box, or upload a photo of one. Below: every step from your picture "
                 "to the network's input, and what its conv layers respond to.",
        "shipped": "**{model}** is the model that comes with the project ({mnist} of MNIST's test digits, {uci} of "
                   "another set's handwriting, never trained on); runs you train with `python train.py` appear in "
                   "the lists.",
        "draw": "Draw", "upload": "Upload a photo", "sketch": "your digit",
        "photo": "a photo of one digit (PNG or JPEG): the figure below shows it as given",
        "meant": "the digit you meant (optional)", "run": "model", "compare": "compare with",
        "start": "Draw a digit or upload a photo.", "pick": "Pick a model to read with.",
        "reads": "**{run}** reads **{answer}**",
        "you_meant": "You meant {digit}: compare your digit, as the network saw it, with the training set's mean "
                     "{digit} below.",
        "saw": "### What the network saw\nYour picture, each step that makes it look like an MNIST digit, and the "
               "training set's mean image of the answer (and of the digit you meant).",
        "inside": "### Inside the network\nThe outputs of the two conv layers: each small image is one filter's "
                  "response, bright where it found its pattern.",
        "empty": "the canvas is empty: draw a digit", "no_photo": "upload a photo of one digit (PNG or JPEG)",
    },
    "zh": {
        "title": "# 手写一个数字，看看网络看到了什么",
        "intro": "在框里写一个大大的数字，或者上传一张数字的照片。下方依次是：从你的图片到网络输入的每一步处理，"
                 "以及网络的卷积层对它的响应。",
        "shipped": "**{model}** 是项目自带的模型（MNIST 测试集准确率 {mnist}；另一套从未用于训练的手写数字上 "
                   "{uci}）。用 `python train.py` 训练出的模型也会出现在下拉列表里。",
        "draw": "手写", "upload": "上传照片", "sketch": "你写的数字",
        "photo": "一张只有一个数字的照片（PNG 或 JPEG）：下方的图会显示它的原样",
        "meant": "你想写的数字（可不选）", "run": "模型", "compare": "对比模型",
        "start": "写一个数字，或上传一张照片。", "pick": "请选择一个模型来识别。",
        "reads": "**{run}** 识别为 **{answer}**",
        "you_meant": "你想写的是 {digit}：把网络看到的你的数字，和下方训练集中 {digit} 的平均图像比一比。",
        "saw": "### 网络看到了什么\n你的图片，把它变得像 MNIST 数字的每一步处理，以及训练集中答案（和你想写的数字）"
               "的平均图像。",
        "inside": "### 网络内部\n两个卷积层的输出：每张小图是一个卷积核的响应，找到它要找的图案的地方就亮。",
        "empty": "画布是空的：请写一个数字", "no_photo": "请上传一张只有一个数字的照片（PNG 或 JPEG）",
    },
}


LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
UPLOADS_KEPT = 60  # seconds an uploaded photo stays in Gradio's cache (the page keeps what it read, not the file)


class SameSiteOnly:
    """ASGI middleware in front of the page: a request must name this server (its Host header: no DNS
    rebinding), and a request that changes something (an upload, an event) must come from this server's own
    page, not from another site's (cross-site posts are refused). Serving on all interfaces (--host 0.0.0.0)
    accepts any host name, as the user asked."""

    def __init__(self, app, hosts):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
            problem = self.refused(headers, scope.get("method", "GET"))
            if problem and scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})  # policy violation
                return
            if problem:
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": problem.encode()})
                return
        await self.app(scope, receive, send)

    def refused(self, headers, method):
        if self.hosts is not None and host_name(headers.get("host", "")) not in self.hosts:
            return "this server answers only to its own host names\n"
        if method not in ("GET", "HEAD", "OPTIONS"):
            origin = headers.get("origin")
            if headers.get("sec-fetch-site") == "cross-site" or (
                    origin and self.hosts is not None and host_name(origin.split("://")[-1]) not in self.hosts):
                return "requests from other sites are refused\n"
        return None


def host_name(host):
    """'127.0.0.1:7860' -> '127.0.0.1'; '[::1]:7860' -> '[::1]'."""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") and "]:" in host else host


def port_number(text):
    """An argparse type: a TCP port, 1 to 65535 (one line at the parser otherwise)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port}: give a port from 1 to 65535")
    return port


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="one or two run folders written by train.py or a lab (or exported "
                                                "by lab 09) to start with (default: the model that comes with the "
                                                "project, pretrained/robust)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s; the page "
                                                           "then answers only to its own host names and pages)")
    parser.add_argument("--port", type=port_number, default=7860, help="(default: %(default)s)")
    return parser.parse_args()


def trained_runs(root=RUNS_FOLDER):
    """Every run folder under `root` that holds trained weights (train.py's and the labs'), newest first."""
    found = []
    for folder, _, files in os.walk(root):
        if "config.json" in files and os.path.isdir(os.path.join(folder, "checkpoints")):
            found.append(os.path.relpath(folder))
    return sorted(found, key=os.path.getmtime, reverse=True)


def shipped_name():
    return os.path.relpath(SHIPPED)


class Runs:
    """Trained models, each loaded once when first picked: its model, loss, and what reading a photo needs
    (the pixel range and the mean image of each digit in the data it was trained on)."""

    def __init__(self):
        self.loaded = {}

    def get(self, folder):
        if folder not in self.loaded:
            model, loss, trained_on = load_trained(folder)
            known = trained_on if trained_on and os.path.exists(trained_on) else None
            self.loaded[folder] = model, loss, *photo_reference(folder, known)
        return self.loaded[folder]


def starting_runs(given):
    """The models the page starts with: those given on the command line, else the model that comes with the
    project. Other runs are listed in the page and loaded only when the user picks one (every file of a run
    folder is plain data: loading one runs no code from it, digits.runs)."""
    if given:
        if len(given) > 2:
            raise UserError(f"the page compares up to two runs; {len(given)} were given: name one or two")
        return given
    if os.path.isdir(SHIPPED):
        print(f"starting with the model that comes with the project, {shipped_name()} (your runs under runs/ are "
              f"listed in the page)")
        return [shipped_name()]
    others = trained_runs()
    if others:
        print(f"{shipped_name()} is missing: starting with your newest run, {others[0]}")
        return others[:1]
    raise UserError(f"no trained model: {shipped_name()} is missing and runs/ holds no run; train one with "
                    f"`python train.py --preset robust --out {DEFAULT_RUN}`, or name run folders: "
                    f"python app.py runs/RUN [runs/OTHER]")


def shipped_figures():
    """The shipped model's recorded accuracies, for the page: (MNIST eval, UCI digits as photos), as text."""
    try:
        with open(os.path.join(SHIPPED, "card.json"), encoding="utf-8") as f:
            measured = json.load(f)["measured"]
        return f"{100 * measured['mnist_eval']:.2f}%", f"{100 * measured['uci_photos']:.2f}%"
    except (OSError, ValueError, KeyError, TypeError):
        return "?", "?"


def in_language(error, lang):
    """The app's own messages in the page's language; the library's (a file's problem) stay English."""
    key = next((key for key in ("empty", "no_photo") if str(error) == TEXT["en"][key]), None)
    return TEXT[lang][key] if key else str(error)


def language_of(request):
    """"zh" when the browser's first language is Chinese (its Accept-Language header), else "en"."""
    header = (request.headers.get("accept-language", "") if request is not None else "") or "en"
    return "zh" if header.split(",")[0].strip().lower().startswith("zh") else "en"


def build_app(start, runs):
    """The page: picture and models on the left, answers on the right, the two figures below; and its words."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no request leaves the machine
    try:
        import gradio as gr
    except ImportError:
        raise UserError('the app needs Gradio: pip install -e ".[app]"') from None
    shipped = [shipped_name()] if os.path.isdir(SHIPPED) else []
    choices = list(dict.fromkeys(start + trained_runs() + shipped))
    mnist, uci = shipped_figures()
    words = {lang: {**text, "shipped": text["shipped"].format(model=shipped_name(), mnist=mnist, uci=uci)}
             for lang, text in TEXT.items()}
    i18n = gr.I18n(en=words["en"], zh=words["zh"], **{"zh-CN": words["zh"], "zh-TW": words["zh"]})

    def answer(picture, run_a, run_b, meant, lang):
        """What the page shows for a picture (as given, grey, name) read by the picked models."""
        say = TEXT[lang]
        if picture is None:
            return nothing(say["start"], picture)
        folders = [folder for folder in (run_a, run_b) if folder and folder != NONE]
        if not folders:
            return nothing(say["pick"], picture)
        meant = None if meant in (None, NONE) else int(meant)
        as_given, gray, name = picture
        loaded = [runs.get(folder) for folder in folders]  # (model, loss, pixel range, training means)
        readings = [read(model, loss, as_given, gray, pixel_range, name) for model, loss, pixel_range, _ in loaded]
        lines = [say["reads"].format(run=folder, answer=reading.answer()) for folder, reading in zip(folders, readings)]
        if meant is not None and readings[0].predicted != meant:
            lines.append(say["you_meant"].format(digit=meant))
        _, _, pixel_range, means = loaded[0]
        saw = what_the_network_saw(readings, means, pixel_range, meant=[meant] * len(readings), models=folders)
        # the feature maps of the first picked network that has conv1 and conv2 (an export has neither)
        maps = next((found for found in (feature_maps(model, readings[0].steps["normalised"])
                                         for model, _, _, _ in loaded) if found), {})
        labels = [{str(d): p for d, p in r.top().items()} for r in readings] + [None] * (2 - len(readings))
        return ("\n\n".join(lines), *labels, figure_array(saw, lang=lang),
                figure_array(feature_map_figure(maps), lang=lang) if maps else None, picture)

    def nothing(message, picture=None):
        return message, None, None, None, None, picture

    def safely(read_picture):
        """A handler that reads a new picture: a UserError (no digit, not an image) becomes the page's message."""
        def handler(source, run_a, run_b, meant, request: gr.Request):
            lang = language_of(request)
            try:
                return answer(read_picture(source), run_a, run_b, meant, lang)
            except UserError as e:
                return nothing(f"⚠ {in_language(e, lang)}")
        return handler

    def drawing(sketch):
        composite = sketch.get("composite") if isinstance(sketch, dict) else None
        try:  # what the page sends; a crafted request may send anything
            gray = None if composite is None else to_gray(Image.fromarray(np.asarray(composite, dtype=np.uint8)))
        except (TypeError, ValueError):
            raise UserError("the drawing could not be read: clear the canvas and draw again") from None
        if gray is not None and (gray.ndim != 2 or gray.size > CANVAS * CANVAS * 16):
            raise UserError("the drawing could not be read: clear the canvas and draw again")
        if gray is None or gray.min() > 240:  # nothing darker than paper
            raise UserError(TEXT["en"]["empty"])
        return composite, gray, "your drawing"

    def photo(path):
        if not path:
            raise UserError(TEXT["en"]["no_photo"])
        name = os.path.basename(path)
        return (*load_photo(path, name), name)

    def again(picture, run_a, run_b, meant, request: gr.Request):
        try:
            return answer(picture, run_a, run_b, meant, language_of(request))
        except UserError as e:  # a model that cannot be loaded
            return nothing(f"⚠ {e}", picture)

    # an uploaded photo is read at once (the page keeps its pixels): Gradio deletes the file a minute later
    with gr.Blocks(title="Draw a digit · 手写数字", delete_cache=(UPLOADS_KEPT, UPLOADS_KEPT)) as app:
        gr.Markdown(i18n("title"))
        gr.Markdown(i18n("intro"))
        if shipped:
            gr.Markdown(i18n("shipped"), elem_id="shipped")
        picture = gr.State()
        with gr.Row():
            with gr.Column():
                with gr.Tabs():
                    with gr.Tab(i18n("draw")):
                        sketch = gr.Sketchpad(type="numpy", canvas_size=(CANVAS, CANVAS), image_mode="RGBA",
                                              brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                                              label=i18n("sketch"), elem_id="sketch")
                    with gr.Tab(i18n("upload"), elem_id="upload_tab"):
                        # a file, not gr.Image: Gradio would open an image itself, and a broken or huge
                        # one would fail there, with Gradio's message, before this app could say what is wrong
                        upload = gr.File(file_types=["image"], type="filepath", label=i18n("photo"), elem_id="upload")
                meant = gr.Dropdown([NONE] + [str(d) for d in range(10)], value=NONE, label=i18n("meant"),
                                    elem_id="meant")
                with gr.Row():
                    run_a = gr.Dropdown(choices, value=start[0], label=i18n("run"), elem_id="run_a")
                    run_b = gr.Dropdown([NONE] + choices, value=start[1] if len(start) > 1 else NONE,
                                        label=i18n("compare"), elem_id="run_b")
            with gr.Column():
                message = gr.Markdown(i18n("start"), elem_id="answer")
                labels = [gr.Label(num_top_classes=3, show_label=False, elem_id=f"label_{i}") for i in "ab"]
        gr.Markdown(i18n("saw"))
        saw = gr.Image(show_label=False, interactive=False, buttons=["download"], elem_id="saw")
        gr.Markdown(i18n("inside"))
        maps = gr.Image(show_label=False, interactive=False, buttons=["download"], elem_id="maps")

        settings = [run_a, run_b, meant]
        outputs = [message, *labels, saw, maps, picture]
        # one event per input: two handlers reading the same sketch at once can see it empty (Gradio drops it);
        # one queue for all, so the models are never run from two threads at once
        queue = {"show_progress": "hidden", "concurrency_id": "models", "concurrency_limit": 1}
        sketch.change(safely(drawing), [sketch, *settings], outputs, trigger_mode="always_last", **queue)
        upload.change(safely(photo), [upload, *settings], outputs, **queue)
        for setting in settings:  # the same picture again, read by other models or beside another mean
            setting.change(again, [picture, *settings], outputs, **queue)
    return app, i18n


def main():
    args = parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own startup checks, one line each
    start, runs = starting_runs(args.runs), Runs()
    for folder in start:  # load now: a wrong folder is one line here, not a message in the page later
        runs.get(folder)
    app, i18n = build_app(start, runs)
    print(f"reading digits with {' and '.join(start)}: open http://{args.host}:{args.port}", flush=True)
    from starlette.middleware import Middleware
    hosts = None if args.host in ("0.0.0.0", "::") else LOOPBACK | {args.host}
    try:
        app.launch(server_name=args.host, server_port=args.port, share=False, max_file_size="20mb", quiet=True,
                   i18n=i18n, app_kwargs={"middleware": [Middleware(SameSiteOnly, hosts=hosts)]})
    except OSError as e:  # Gradio's words for a port in use: "Cannot find empty port in range"
        if "port" not in str(e):
            raise
        raise UserError(f"port {args.port} on {args.host} is in use (another app.py?): pass --port N, or stop "
                        f"the other server") from None


if __name__ == "__main__":
    run_main(main)
