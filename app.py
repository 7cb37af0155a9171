"""Draw a digit, see what the network sees: a web app for reading your own handwriting.

    pip install -e ".[app]"                                  # Gradio, once
    python train.py --preset robust --out runs/robust        # the app's default model
    python app.py                                            # then open http://127.0.0.1:7860
    python app.py runs/robust runs/OTHER                     # start with these two runs side by side

Draw with the mouse or a finger, or upload a photo. The app shows the three likeliest digits of one or
two runs (pick them in the page from the runs under runs/: train.py's and the labs'), every preprocessing
step from your picture to the network's input (digits.preprocess, the way MNIST was made) beside the
training set's mean image of the answer and of the digit you meant, and the feature maps of the
network's two conv layers. It works offline and listens on 127.0.0.1 only, unless --host says otherwise.
"""
import argparse
import logging
import os

from PIL import Image  # before paddle (Paddle 2.6 exports its own zlib)

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits.data import load_course_data
from digits.errors import UserError, run_main
from digits.evaluation import load_trained
from digits.plots import figure_array
from digits.prepare import ensure_datafile
from digits.preprocess import load_photo, to_gray
from digits.reading import class_means, feature_map_figure, feature_maps, read, what_the_network_saw

DEFAULT_RUN = "runs/robust"
RUNS_FOLDER = "runs"
NONE = "none"
NOT_SAID = "not said"
CANVAS = 280  # pixels: ten times MNIST's 28, a comfortable size to draw in


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help=f"one or two run folders written by train.py or a lab (or exported "
                                                f"by lab 09) to start with (default: {DEFAULT_RUN})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=7860, help="(default: %(default)s)")
    return parser.parse_args()


def trained_runs(root=RUNS_FOLDER):
    """Every run folder under `root` that holds trained weights (train.py's and the labs'), newest first."""
    found = []
    for folder, _, files in os.walk(root):
        if "config.json" in files and os.path.isdir(os.path.join(folder, "checkpoints")):
            found.append(os.path.relpath(folder))
    return sorted(found, key=os.path.getmtime, reverse=True)


class Runs:
    """Trained runs, each loaded once when first picked: its model, loss, pixel range and the mean image of
    each digit in the data it was trained on."""

    def __init__(self):
        self.loaded, self.means = {}, {}

    def get(self, folder):
        if folder not in self.loaded:
            model, loss, trained_on = load_trained(folder)
            datafile = ensure_datafile(trained_on if trained_on and os.path.exists(trained_on) else None)
            if datafile not in self.means:
                self.means[datafile] = class_means(datafile)
            self.loaded[folder] = model, loss, load_course_data(datafile).pixel_range, self.means[datafile]
        return self.loaded[folder]


def starting_runs(given):
    """The runs the page starts with: those given, else runs/robust, else the newest trained run."""
    if given:
        if len(given) > 2:
            raise UserError(f"the page compares up to two runs; {len(given)} were given: name one or two")
        return given
    if os.path.isdir(DEFAULT_RUN):
        return [DEFAULT_RUN]
    others = trained_runs()
    if not others:
        raise UserError(f"no trained model in {DEFAULT_RUN}: train it with `python train.py --preset robust "
                        f"--out {DEFAULT_RUN}`, or name run folders: python app.py runs/RUN [runs/OTHER]")
    print(f"{DEFAULT_RUN} not found (python train.py --preset robust --out {DEFAULT_RUN} trains it): "
          f"starting with {others[0]}")
    return others[:1]


def build_app(start, runs):
    """The page: picture and runs on the left, answers on the right, the two figures below."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no request leaves the machine
    try:
        import gradio as gr
    except ImportError:
        raise UserError('the app needs Gradio: pip install -e ".[app]"') from None
    choices = list(dict.fromkeys(start + trained_runs()))

    def answer(picture, run_a, run_b, meant):
        """What the page shows for a picture (as given, grey, name) read by the picked runs."""
        if picture is None:
            return nothing("Draw a digit or upload a photo.", picture)
        folders = [folder for folder in (run_a, run_b) if folder and folder != NONE]
        if not folders:
            return nothing("Pick a run to read with.", picture)
        meant = None if meant in (None, NOT_SAID) else int(meant)
        as_given, gray, name = picture
        loaded = [runs.get(folder) for folder in folders]  # (model, loss, pixel range, training means)
        readings = [read(model, loss, as_given, gray, pixel_range, name) for model, loss, pixel_range, _ in loaded]
        lines = [f"**{folder}** reads **{reading.answer()}**" for folder, reading in zip(folders, readings)]
        if meant is not None and readings[0].predicted != meant:
            lines.append(f"You meant {meant}: compare your digit, as the network saw it, with the training "
                         f"set's mean {meant} below.")
        _, _, pixel_range, means = loaded[0]
        saw = what_the_network_saw(readings, means, pixel_range, meant=[meant] * len(readings), models=folders)
        # the feature maps of the first picked network that has conv1 and conv2 (an export has neither)
        maps = next((found for found in (feature_maps(model, readings[0].steps["normalised"])
                                         for model, _, _, _ in loaded) if found), {})
        labels = [{str(d): p for d, p in r.top().items()} for r in readings] + [None] * (2 - len(readings))
        return ("\n\n".join(lines), *labels, figure_array(saw),
                figure_array(feature_map_figure(maps)) if maps else None, picture)

    def nothing(message, picture=None):
        return message, None, None, None, None, picture

    def safely(read_picture):
        """A handler that reads a new picture: a UserError (no digit, not an image) becomes the page's message."""
        def handler(source, run_a, run_b, meant):
            try:
                return answer(read_picture(source), run_a, run_b, meant)
            except UserError as e:
                return nothing(f"⚠ {e}")
        return handler

    def drawing(sketch):
        composite = sketch.get("composite") if isinstance(sketch, dict) else None
        gray = None if composite is None else to_gray(Image.fromarray(composite))
        if gray is None or gray.min() > 240:  # nothing darker than paper
            raise UserError("the canvas is empty: draw a digit")
        return composite, gray, "your drawing"

    def photo(path):
        if not path:
            raise UserError("upload a photo of one digit (PNG or JPEG)")
        name = os.path.basename(path)
        return (*load_photo(path, name), name)

    def again(picture, run_a, run_b, meant):
        try:
            return answer(picture, run_a, run_b, meant)
        except UserError as e:  # a run that cannot be loaded
            return nothing(f"⚠ {e}", picture)

    with gr.Blocks(title="Draw a digit") as app:
        gr.Markdown("# Draw a digit, see what the network sees\nDraw one digit large in the box, or upload a "
                    "photo of one. Below: every step from your picture to the network's input, and what its "
                    "conv layers respond to.")
        picture = gr.State()
        with gr.Row():
            with gr.Column():
                with gr.Tabs():
                    with gr.Tab("Draw"):
                        sketch = gr.Sketchpad(type="numpy", canvas_size=(CANVAS, CANVAS), image_mode="RGBA",
                                              brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                                              label="your digit", elem_id="sketch")
                    with gr.Tab("Upload a photo"):
                        # a file, not gr.Image: Gradio would open an image itself, and a broken or huge
                        # one would fail there, with Gradio's message, before this app could say what is wrong
                        upload = gr.File(file_types=["image"], type="filepath", label="a photo of one digit "
                                         "(PNG or JPEG): the figure below shows it as given", elem_id="upload")
                meant = gr.Dropdown([NOT_SAID] + [str(d) for d in range(10)], value=NOT_SAID,
                                    label="the digit you meant (optional)", elem_id="meant")
                with gr.Row():
                    run_a = gr.Dropdown(choices, value=start[0], label="run", elem_id="run_a")
                    run_b = gr.Dropdown([NONE] + choices, value=start[1] if len(start) > 1 else NONE,
                                        label="compare with", elem_id="run_b")
            with gr.Column():
                message = gr.Markdown("Draw a digit or upload a photo.", elem_id="answer")
                labels = [gr.Label(num_top_classes=3, show_label=False, elem_id=f"label_{i}") for i in "ab"]
        gr.Markdown("### What the network saw\nYour picture, each step that makes it look like an MNIST digit, "
                    "and the training set's mean image of the answer (and of the digit you meant).")
        saw = gr.Image(show_label=False, interactive=False, buttons=["download"], elem_id="saw")
        gr.Markdown("### Inside the network\nThe outputs of the two conv layers: each small image is one "
                    "filter's response, bright where it found its pattern.")
        maps = gr.Image(show_label=False, interactive=False, buttons=["download"], elem_id="maps")

        settings = [run_a, run_b, meant]
        outputs = [message, *labels, saw, maps, picture]
        # one event per input: two handlers reading the same sketch at once can see it empty (Gradio drops it);
        # one queue for all, so the models are never run from two threads at once
        queue = {"show_progress": "hidden", "concurrency_id": "models", "concurrency_limit": 1}
        sketch.change(safely(drawing), [sketch, *settings], outputs, trigger_mode="always_last", **queue)
        upload.change(safely(photo), [upload, *settings], outputs, **queue)
        for setting in settings:  # the same picture again, read by other runs or beside another mean
            setting.change(again, [picture, *settings], outputs, **queue)
    return app


def main():
    args = parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own startup checks, one line each
    start, runs = starting_runs(args.runs), Runs()
    for folder in start:  # load now: a wrong folder is one line here, not a message in the page later
        runs.get(folder)
    app = build_app(start, runs)
    print(f"reading digits with {' and '.join(start)}: open http://{args.host}:{args.port}", flush=True)
    try:
        app.launch(server_name=args.host, server_port=args.port, share=False, max_file_size="20mb", quiet=True)
    except OSError as e:  # Gradio's words for a port in use: "Cannot find empty port in range"
        if "port" not in str(e):
            raise
        raise UserError(f"port {args.port} on {args.host} is in use (another app.py?): pass --port N, or stop "
                        f"the other server") from None


if __name__ == "__main__":
    run_main(main)
