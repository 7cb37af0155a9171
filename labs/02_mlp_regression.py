"""Lab 02 · 网络结构 (MLP) — a fully connected network that regresses the digit's value.

The course's first real network: Linear(784,10) → sigmoid → Linear(10,10) → sigmoid → Linear(10,1),
trained as a regression (mean squared error against the digit as a number) with SGD, lr 0.01,
batch 100, 10 epochs, the loss printed every 200 batches. A prediction counts as right when it
rounds to the label. The network is models/mlp.py; the loop is the shared one in digits/training.py.

    python labs/02_mlp_regression.py
"""
import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits.errors import run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.training import TrainConfig, fit

MLP_REGRESSION = TrainConfig(model="mlp", loss="mse", optimizer="sgd", lr=0.01, epochs=10, log_interval=200)


def main():
    args = parse_lab_arguments(lab_arguments(__doc__, epochs=MLP_REGRESSION.epochs))
    out = lab_folder("lab02")
    config = TrainConfig(**{**vars(MLP_REGRESSION), "epochs": args.epochs, "seed": args.seed, "out": f"{out}/mlp"})
    result = fit(config)
    print(f"final train loss {result.epochs[-1]['train_loss']:.4f}; eval MSE {result.eval['loss']:.4f}, "
          f"rounded-prediction accuracy {100 * result.eval['accuracy']:.2f}%; loss curve: {result.run.file('loss.png')}")


if __name__ == "__main__":
    run_main(main)
