"""The figure helpers the labs share: plain log ticks, live curves (windows, panels) and printed tables."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from digits.lab import print_table  # noqa: E402
from digits.plots import LiveCurves, log_axis  # noqa: E402


def tick_labels(ax):
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_yticklabels() + ax.yaxis.get_minorticklabels() if t.get_text()]


def test_log_ticks_read_as_plain_numbers():
    for low, high in ((0.05, 2), (1.2, 3.5), (1e-3, 1e3)):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [low, high])
        log_axis(ax)
        labels = tick_labels(ax)
        plt.close(fig)
        assert labels and not any("e" in label or "×" in label or "$" in label for label in labels), labels
        assert all(float(label) > 0 for label in labels)


def test_a_window_of_batches_is_one_point_and_saving_keeps_the_last_partial_window(tmp_path):
    live = LiveCurves("train loss", window=4)
    for step in range(1, 11):
        live.add_batch("train", step, float(step))
    assert live.curves["train"] == ([4, 8], [2.5, 6.5])  # the means of batches 1-4 and 5-8
    live.save(str(tmp_path / "loss.png"))
    assert live.curves["train"] == ([4, 8, 10], [2.5, 6.5, 9.5]) and (tmp_path / "loss.png").stat().st_size > 0


def test_panels_share_axes_and_one_legend():
    live = LiveCurves("train vs valid", panels=("train", "valid"), logy=True)
    for step, value in ((1, 2.0), (2, 1.0)):
        live.add(("train", "a"), step, value)
        live.add(("train", "b"), step, value * 2)
    live.add(("valid", "a"), 2, 1.5)
    fig = live.figure()
    left, right = fig.axes
    assert [left.get_title(), right.get_title()] == ["train", "valid"]
    assert len(left.lines) == 2 and len(right.lines) == 1 and left.get_yscale() == "log"
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["a", "b"]


def test_a_printed_table_aligns_its_columns(capsys):
    print_table(["run", "eval acc"], [("mlp", "39.32%"), ("cnn, seed 0", "97.90%")])
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["run          eval acc", "mlp            39.32%", "cnn, seed 0    97.90%"]
    assert len({len(line) for line in lines}) == 1 and np.all([line.startswith(("run", "mlp", "cnn")) for line in lines])
