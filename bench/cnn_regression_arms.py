"""Lab 03's question, measured: why does the course's CNN regression (MSE, SGD 0.01, constant rate, 10 epochs)
stall on our data file when the course's two published runs learned? One arm per suspect, several seeds each.

    python bench/cnn_regression_arms.py                      # pixels -1..1 and 0..1, seeds 0 1 2, 10 epochs
    python bench/cnn_regression_arms.py --seeds 0 1 2 3 4 --epochs 10

Arms: the pixel range of the data file (ours: x/127.5 - 1, background -1, as the course's file; or x/255,
background 0) with the course's constant rate, and ours with lab 03's warm-up. The initialiser is not an
arm: Paddle's Conv2D default (normal, std sqrt(2 / fan_in)) and Linear default (Xavier uniform) are the same
formulas in 2.6 and 3.x. Writes report/studies/03_cnn_regression.md (the report shows it under lab 03) and
a .json beside it. About 4 minutes per run on 2 cores.
"""
import argparse
import json
import os
import sys
import time
from dataclasses import replace

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the project, run from anywhere

import numpy as np  # noqa: E402

import digits  # noqa: E402  (quiets Paddle's logging; import before paddle)
from digits.data import IMAGE, load_course_data  # noqa: E402
from digits.errors import Diverged, run_main  # noqa: E402
from digits.fileio import write_text  # noqa: E402
from digits.prepare import ensure_datafile, rescaled_copy  # noqa: E402
from digits.training import TrainConfig, fit  # noqa: E402
from models.cnn import CNN, dead_conv2_channels  # noqa: E402

STUDY = os.path.join(digits.PROJECT_ROOT, "report", "studies", "03_cnn_regression")


def run_arm(config, datafile):
    """One training run: its last epoch's mean train loss, eval MSE and dead conv2 share, or None when the
    loop stopped it as diverged."""
    try:
        result = fit(replace(config, data=datafile), lambda: CNN(1))
    except Diverged as error:
        print(f"  diverged: {error}")
        return None
    valid_images = load_course_data(datafile)["valid"][0][:1000].reshape(-1, *IMAGE)
    return {"train_loss": result.epochs[-1]["train_loss"], "eval_mse": result.eval["loss"],
            "dead_conv2": dead_conv2_channels(result.model, valid_images)}


def mean_std(values):
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}" if values else "-"


def table(arms):
    lines = ["| pixels | learning rate | runs that learned | final train loss | eval MSE | dead conv2 channels |",
             "| --- | --- | --- | --- | --- | --- |"]
    for arm in arms:
        done = [r for r in arm["runs"] if r is not None]
        learned = [r for r in done if r["dead_conv2"] < 1]
        lines.append(f"| {arm['pixels']} | {arm['schedule']} | {len(learned)} of {len(arm['runs'])} "
                     f"({len(arm['runs']) - len(done)} diverged) | {mean_std([r['train_loss'] for r in done])} | "
                     f"{mean_std([r['eval_mse'] for r in done])} | "
                     f"{mean_std([100 * r['dead_conv2'] for r in done])} % |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(digits.PROJECT_ROOT, "runs", "cnn-regression-arms"),
                        help="folder of the runs")
    args = parser.parse_args()
    datafile = ensure_datafile()
    files = {"-1..1": datafile, "0..1": rescaled_copy(datafile, "x/255")}  # the table's names of the two ranges
    course = TrainConfig(model="cnn", loss="mse", optimizer="sgd", lr=0.01, epochs=args.epochs, log_interval=500)
    arms, started = [], time.time()
    for pixels, schedule in (("-1..1", "constant"), ("0..1", "constant"), ("-1..1", "warmup")):
        arm = {"pixels": pixels, "schedule": schedule, "runs": []}
        for seed in args.seeds:
            print(f"== pixels {pixels}, {schedule}, seed {seed}")
            config = replace(course, seed=seed, lr_schedule=schedule,
                             out=os.path.join(args.out, f"pixels{pixels.replace('..', 'to')}-{schedule}-seed{seed}"))
            arm["runs"].append(run_arm(config, files[pixels]))
            print(f"  {arm['runs'][-1]}")
        arms.append(arm)
    text = (f"### Why the course's CNN regression stalls: the arms\n\n"
            f"`python bench/cnn_regression_arms.py --seeds {' '.join(map(str, args.seeds))} --epochs {args.epochs}`: "
            f"the course's CNN, MSE, SGD 0.01, batch 100, {args.epochs} epochs, seeds {', '.join(map(str, args.seeds))}; "
            f"mean ± std over the runs that did not diverge; a run whose conv2 channels are all dead has stalled "
            f"(it predicts one value for every image). {(time.time() - started) / 60:.0f} min on "
            f"{os.cpu_count()} cores, Paddle {__import__('paddle').__version__}.\n\n{table(arms)}\n")
    os.makedirs(os.path.dirname(STUDY), exist_ok=True)
    write_text(STUDY + ".json", json.dumps({"seeds": args.seeds, "epochs": args.epochs, "arms": arms}, indent=1))
    write_text(STUDY + ".md", text)
    print(text)


if __name__ == "__main__":
    run_main(main)
