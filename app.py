"""Draw a digit, see what the network sees: a web app for reading your own handwriting.

    pip install -e ".[app]"                                  # Gradio, once
    python train.py --preset robust --out runs/robust        # the app's default model
    python app.py                                            # then open http://127.0.0.1:7860
    python app.py runs/robust runs/OTHER                     # two runs side by side on your handwriting

Draw with the mouse or a finger, or upload a photo. The app shows the top three answers of each run,
every preprocessing step from your picture to the network's input (digits.preprocess, the way MNIST was
made) beside the training set's mean image of the answer and of the digit you meant, and the feature
maps of the network's two conv layers. It works offline and listens on 127.0.0.1 only, unless --host
says otherwise.
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
NOT_SAID = "not said"
CANVAS = 280  # pixels: ten times MNIST's 28, a comfortable size to draw in


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", default=[DEFAULT_RUN],
                        help=f"run folders written by train.py (or exported by lab 09); the first is the main "
                             f"one (default: {DEFAULT_RUN})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=7860, help="(default: %(default)s)")
    return parser.parse_args()


class Readers:
    """The trained runs the app compares, and what the figures need: the data's pixel range and the
    training set's mean image of each digit."""

    def __init__(self, folders):
        if not os.path.isdir(folders[0]) and folders[0] == DEFAULT_RUN:
            raise UserError(f"no trained model in {DEFAULT_RUN}: train it with `python train.py --preset robust "
                            f"--out {DEFAULT_RUN}`, or name run folders: python app.py runs/RUN [runs/OTHER]")
        self.runs = [(folder, *load_trained(folder)) for folder in folders]  # (folder, model, loss, data file)
        trained_on = self.runs[0][3]
        datafile = ensure_datafile(trained_on if trained_on and os.path.exists(trained_on) else None)
        self.pixel_range = load_course_data(datafile).pixel_range
        self.means = class_means(datafile)

    def read(self, as_given, gray, name):
        """Every run's Reading of one picture (UserError when it holds no digit)."""
        return [read(model, loss, as_given, gray, self.pixel_range, name) for _, model, loss, _ in self.runs]

    def feature_maps(self, image):
        """conv1's and conv2's outputs in the first run whose network has them."""
        for _, model, _, _ in self.runs:
            maps = feature_maps(model, image)
            if maps:
                return maps
        return {}


def short_name(folder):
    """A run folder as the page names it: relative to the current folder when inside it."""
    relative = os.path.relpath(folder)
    return folder if relative.startswith("..") else relative


def build_app(readers):
    """The page: picture in on the left, answers on the right, the two figures below."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no request leaves the machine
    try:
        import gradio as gr
    except ImportError:
        raise UserError('the app needs Gradio: pip install -e ".[app]"') from None
    names = [short_name(run[0]) for run in readers.runs]

    def show(readings, meant):
        """Outputs for a list of Readings: answer text, one label per run, the two figures."""
        meant = None if meant in (None, NOT_SAID) else int(meant)
        lines = [f"**{name}** reads **{r.answer()}**" for name, r in zip(names, readings)]
        if meant is not None and readings[0].predicted != meant:
            lines.append(f"You meant {meant}: compare your digit, as the network saw it, with the training "
                         f"set's mean {meant} below.")
        saw = what_the_network_saw(readings, readers.means, readers.pixel_range, meant=[meant] * len(readings),
                                   models=names)
        maps = readers.feature_maps(readings[0].steps["normalised"])
        return ("\n\n".join(lines), *[{str(d): p for d, p in r.top().items()} for r in readings],
                figure_array(saw), figure_array(feature_map_figure(maps)) if maps else None, readings)

    def nothing(message):
        return (message, *[None] * len(names), None, None, None)

    def read_picture(picture_reader, meant):
        try:
            as_given, gray, name = picture_reader()
            return show(readers.read(as_given, gray, name), meant)
        except UserError as e:
            return nothing(f"⚠ {e}")

    def read_drawing(sketch, meant):
        def picture():
            composite = sketch.get("composite") if isinstance(sketch, dict) else None
            gray = None if composite is None else to_gray(Image.fromarray(composite))
            if gray is None or gray.min() > 240:  # nothing darker than paper
                raise UserError("the canvas is empty: draw a digit")
            return composite, gray, "your drawing"
        return read_picture(picture, meant)

    def read_upload(path, meant):
        if not path:
            return nothing("Upload a photo of one digit (PNG or JPEG).")
        name = os.path.basename(path)
        return read_picture(lambda: (*load_photo(path, name), name), meant)

    def redraw(readings, meant):
        return show(readings, meant) if readings else nothing("Draw a digit or upload a photo first.")

    with gr.Blocks(title="Draw a digit") as app:
        gr.Markdown("# Draw a digit, see what the network sees\nDraw one digit large in the box, or upload a "
                    "photo of one. Below: every step from your picture to the network's input, and what its "
                    "conv layers respond to.")
        readings = gr.State()
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
            with gr.Column():
                message = gr.Markdown("Draw a digit or upload a photo.", elem_id="answer")
                labels = [gr.Label(num_top_classes=3, label=name) for name in names]
        gr.Markdown("### What the network saw\nYour picture, each step that makes it look like an MNIST digit, "
                    "and the training set's mean image of the answer (and of the digit you meant).")
        saw = gr.Image(show_label=False, interactive=False, buttons=["download"], elem_id="saw")
        gr.Markdown("### Inside the network\nThe outputs of the two conv layers: each small image is one "
                    "filter's response, bright where it found its pattern.")
        maps = gr.Image(show_label=False, interactive=False, buttons=["download"], elem_id="maps")

        outputs = [message, *labels, saw, maps, readings]
        # one event per input: two handlers reading the same sketch at once can see it empty (Gradio drops it);
        # one queue for all three, so the models are never run from two threads at once
        queue = {"show_progress": "hidden", "concurrency_id": "models", "concurrency_limit": 1}
        sketch.change(read_drawing, [sketch, meant], outputs, trigger_mode="always_last", **queue)
        upload.change(read_upload, [upload, meant], outputs, **queue)
        meant.change(redraw, [readings, meant], outputs, **queue)
    return app


def main():
    args = parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own startup checks, one line each
    readers = Readers(args.runs)
    app = build_app(readers)
    print(f"reading digits with {', '.join(args.runs)}: open http://{args.host}:{args.port}", flush=True)
    try:
        app.launch(server_name=args.host, server_port=args.port, share=False, max_file_size="20mb", quiet=True)
    except OSError as e:  # Gradio's words for a port in use: "Cannot find empty port in range"
        if "port" not in str(e):
            raise
        raise UserError(f"port {args.port} on {args.host} is in use (another app.py?): pass --port N, or stop "
                        f"the other server") from None


if __name__ == "__main__":
    run_main(main)
