"""Lab 07 · 训练调试与优化 — Looking inside training, and regularisation.

1. Debugging without editing the model: forward hooks print every layer's output shape on the first
   batch and a slice of weights and outputs at a later one (the course's check_shape/check_content).
2. Accuracy in the loop and on valid after each epoch; every run draws curves.png, loss and accuracy
   against iterations for train and valid. Add --visualdl to also log for VisualDL.
3. Regularisation (the course's homework): L2 weight decay at several strengths, and dropout before
   the CNN's head. A table shows each setting's train and valid accuracy and the gap between them.

    python labs/07_debug_and_tune.py [--visualdl]
"""
import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits.data import load_data
from digits.errors import run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.plots import plot_curves
from digits.training import TrainConfig, evaluate, fit

# (name, model, L2 coefficient); 1e-5 is the course's example coefficient
SETTINGS = (("none", "cnn", 0.0), ("L2 1e-5", "cnn", 1e-5), ("L2 1e-3", "cnn", 1e-3), ("L2 1e-2", "cnn", 1e-2),
            ("dropout 0.5", "cnn_dropout", 0.0))


def main():
    parser = lab_arguments(__doc__, epochs=5)
    parser.add_argument("--visualdl", action="store_true", help="also log for VisualDL (pip install visualdl)")
    args = parse_lab_arguments(parser)
    out = lab_folder("lab07")

    rows, valid_curves = [], {}
    for index, (name, model, weight_decay) in enumerate(SETTINGS):
        config = TrainConfig(model=model, loss="ce", optimizer="adam", lr=0.001, epochs=args.epochs, seed=args.seed,
                             weight_decay=weight_decay, visualdl=args.visualdl, out=f"{out}/{name.replace(' ', '-')}",
                             debug_batch=10 if index == 0 else None)  # look inside once
        result = fit(config)
        # train accuracy measured like valid's: the final weights, eval mode (no dropout), all 50k images
        train = evaluate(result.model, load_data("train", 500, image_shape=(1, 28, 28), label_dtype="int64"), "ce")
        valid = result.epochs[-1]
        rows.append((name, train["loss"], valid["valid_loss"], train["accuracy"], valid["valid_accuracy"]))
        valid_curves[f"{name} train"] = ([e["epoch"] + 1 for e in result.epochs], [e["train_loss"] for e in result.epochs])
        valid_curves[f"{name} valid"] = ([e["epoch"] + 1 for e in result.epochs], [e["valid_loss"] for e in result.epochs])

    plot_curves(valid_curves, f"{out}/train_vs_valid_loss.png", "train vs valid loss per setting", xlabel="epoch",
                ylabel="loss", logy=True)
    print(f"\n{'setting':12s} {'train loss':>10s} {'valid loss':>10s} {'train acc':>10s} {'valid acc':>10s} {'gap':>7s}")
    for name, train_loss, valid_loss, train_acc, valid_acc in rows:
        print(f"{name:12s} {train_loss:10.4f} {valid_loss:10.4f} {100 * train_acc:9.2f}% {100 * valid_acc:9.2f}% "
              f"{100 * (train_acc - valid_acc):6.2f}%")
    print(f"figures in {out} (each run: curves.png, loss.png)")


if __name__ == "__main__":
    run_main(main)
