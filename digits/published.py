"""What each lab shows, the numbers it records, and what the course (or the lab's source) published for them.

`python -m digits.report` runs the labs, reads the numbers each one keeps with `digits.lab.record(out, key=value)`,
and lays them out with this catalogue: one row per lab in the README's lab tables, one section per lab in
the report, each number beside the published one where there is one. A lab's `record` call and its entry
here name the same keys (a test checks every lab records exactly the keys listed here).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Number:
    key: str               # the name the lab records it under
    label: str             # how the report and the README name it
    style: str = "{:.2f}"  # how it is written: "{:.2%}" for a fraction shown as a percentage, "{}" for a yes/no
    published: str = None  # the course's (or the source's) number, as printed there; None: it printed none


@dataclass(frozen=True)
class Lab:
    name: str        # the file's stem: labs/<name>.py
    section: str     # the course section it follows
    shows: str       # what it teaches, in a line
    numbers: tuple   # Number, ...
    track: str = "course"  # "course": the chapter's labs; "numpy": the from-scratch track; "speed": the speed ladder
    source: str = "the course"  # whose numbers `published` are

    def show(self, results):
        """'label value, label value, ...' for the numbers a run recorded (a missing one is left out)."""
        return "; ".join(f"{n.label} {format_number(n, results[n.key])}" for n in self.numbers if n.key in results)

    def published(self):
        return "; ".join(f"{n.label}: {n.published}" for n in self.numbers if n.published)


def format_number(number, value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    return number.style.format(value)


LABS = (
    Lab("00_minimal_linear", "2-1 通过极简方案构建手写数字识别模型",
        "paddle.vision's MNIST, `Linear(784, 1)`, MSE, SGD 0.001, batch 16, 10 epochs; labels `[B]` against outputs "
        "`[B, 1]` broadcast the loss to `[B, B]`",
        (Number("last_loss", "last-epoch loss", "{:.2f}", "noisy 1.6–7.8 (epoch 9 prints 3.11, 2.86, 2.53, 4.19)"),
         Number("test_accuracy", "test accuracy of the rounded prediction (homework 2-1)", "{:.1%}"),
         Number("flat_loss", "3 epochs with `[B]` labels: last-epoch loss", "{:.2f}",
                "7–10 (its loader, 10 epochs), 8.41–8.51 at the end of its 3-epoch DataLoader run"),
         Number("flat_accuracy", "with `[B]` labels: test accuracy", "{:.1%}"),
         Number("label_variance", "the labels' variance, where the `[B]` loss settles", "{:.2f}"),
         Number("column_loss", "3 epochs with `[B, 1]` labels: last-epoch loss", "{:.2f}"),
         Number("column_accuracy", "with `[B, 1]` labels: test accuracy", "{:.1%}"))),
    Lab("01_data", "数据处理",
        "the course's `load_data(mode)` generator written out, machine and human checks, then the library's loader: "
        "same seed, same batches, timed side by side; `paddle.io.DataLoader`",
        (Number("train_images", "train images", "{:,}", "50,000"),
         Number("valid_images", "valid images", "{:,}", "10,000"),
         Number("eval_images", "eval images", "{:,}", "10,000"),
         Number("parse_seconds", "the course's loader: parsing the file", "{:.0f} s"),
         Number("course_epoch_seconds", "one shuffled epoch of batching, the course's loader", "{:.2f} s"),
         Number("library_epoch_seconds", "the same, the library's loader", "{:.3f} s"),
         Number("same_batches", "same seed: the first 3 batches of both loaders equal", "{}"))),
    Lab("02_mlp_regression", "网络结构 (MLP)",
        "the MLP class 784-10-10-1 (sigmoid) and the training loop by hand: forward, `square_error_cost`, mean, "
        "backward, step, clear_grad",
        (Number("train_loss", "final train loss"),
         Number("eval_mse", "eval MSE"),
         Number("rounded_accuracy", "rounded-prediction accuracy", "{:.1%}"))),
    Lab("03_cnn_regression", "网络结构 (CNN)",
        "the CNN class with `Conv2D`/`MaxPool2D`/`Linear`; linear vs MLP vs CNN regression; why the course's CNN can "
        "stall and the warm-up that cures it; MLP vs CNN as classifiers",
        (Number("mlp_mse", "eval MSE, MLP", "{:.2f}"),
         Number("cnn_course_mse", "eval MSE, CNN in the course's setting", "{:.2f}"),
         Number("cnn_course_dead", "dead conv2 channels, CNN in the course's setting", "{:.0%}"),
         Number("cnn_warmup_mse", "eval MSE, CNN with warm-up", "{:.2f}",
                "~1.0, below the MLP (train loss: its epoch-9 prints 1.60, 1.95, 0.98)"),
         Number("mlp_classifier_accuracy", "classifier eval accuracy, MLP", "{:.1%}"),
         Number("cnn_classifier_accuracy", "classifier eval accuracy, CNN", "{:.1%}"))),
    Lab("04_loss_functions", "损失函数",
        "softmax([3, 1, −3]) and −log p worked beside the course's values; the three changes (int64 labels, "
        "`Linear(980, 10)`, `F.cross_entropy`); the course's `evaluation()` with `paddle.metric.accuracy`; the same "
        "CNN as a regression; reading a photo",
        (Number("softmax_top", "softmax([3, 1, −3])[0]", "{:.2f}", "0.88"),
         Number("classification_accuracy", "classification eval accuracy (SGD 0.01)", "{:.2%}",
                "98.6% (its text, in 训练调试与优化: Adam 0.01, 5 epochs)"),
         Number("regression_accuracy", "the same CNN as a regression: rounded eval accuracy", "{:.2%}"),
         Number("evaluation_equals_evaluate", "`evaluation()` equals the library's `evaluate()`", "{}"))),
    Lab("05_optimizers", "优化算法",
        "the optimizer constructions as the course writes them: SGD at 1e-4 / 1e-3 / 1e-2 (10 epochs), then SGD, "
        "Momentum(0.9), Adagrad, Adam (3 epochs, lr 0.01; Adam also 0.001), one loop of lab 02's steps",
        (Number("sgd_lr1e4", "valid accuracy, SGD 1e-4 (10 epochs)", "{:.2%}"),
         Number("sgd_lr1e3", "valid accuracy, SGD 1e-3 (10 epochs)", "{:.2%}"),
         Number("sgd_lr1e2", "valid accuracy, SGD 1e-2 (10 epochs)", "{:.2%}"),
         Number("sgd", "valid accuracy, SGD 0.01 (3 epochs)", "{:.2%}"),
         Number("momentum", "valid accuracy, Momentum 0.01 (3 epochs)", "{:.2%}"),
         Number("adagrad", "valid accuracy, Adagrad 0.01 (3 epochs)", "{:.2%}"),
         Number("adam", "valid accuracy, Adam 0.01 (3 epochs)", "{:.2%}"),
         Number("adam_lr1e3", "valid accuracy, Adam 0.001 (3 epochs)", "{:.2%}"))),
    Lab("06_devices_distributed", "资源配置",
        "`paddle.set_device` guarded by `is_compiled_with_cuda()` (and the course's unguarded call's error); the "
        "course's `train()` with `init_parallel_env`, `DataParallel` and a `DistributedBatchSampler` shard; run in one "
        "process, under `paddle.distributed.spawn` and under `paddle.distributed.launch`",
        (Number("one_process_accuracy", "eval accuracy, 1 process", "{:.2%}"),
         Number("one_process_seconds", "wall time, 1 process", "{:.0f} s"),
         Number("spawn_accuracy", "eval accuracy, 2 processes by spawn", "{:.2%}"),
         Number("spawn_seconds", "wall time, spawn", "{:.0f} s"),
         Number("launch_accuracy", "eval accuracy, 2 processes by launch", "{:.2%}"),
         Number("launch_seconds", "wall time, launch", "{:.0f} s"),
         Number("ranks_same_weights", "the ranks end with identical weights", "{}"),
         Number("spawn_equals_launch", "spawn and launch end with the same weights", "{}"))),
    Lab("07_debug_and_tune", "训练调试与优化",
        "the course's check_shape/check_content as forward hooks registered in the lab; `L2Decay` in the optimizer "
        "and a `DropoutCNN`; train vs valid",
        (Number("valid_none", "valid accuracy, no regulariser", "{:.2%}",
                "98.6% (its text: Adam 0.01, 5 epochs, on the eval split it calls 验证集)"),
         Number("valid_l2_1e5", "valid accuracy, L2 1e-5", "{:.2%}"),
         Number("valid_l2_1e3", "valid accuracy, L2 1e-3", "{:.2%}"),
         Number("valid_l2_1e2", "valid accuracy, L2 1e-2", "{:.2%}"),
         Number("valid_dropout", "valid accuracy, dropout 0.5", "{:.2%}"),
         Number("gap_none", "train−valid gap, no regulariser", "{:.2%}"),
         Number("gap_l2_1e5", "train−valid gap, L2 1e-5", "{:.2%}"),
         Number("gap_l2_1e3", "train−valid gap, L2 1e-3", "{:.2%}"),
         Number("gap_l2_1e2", "train−valid gap, L2 1e-2", "{:.2%}"),
         Number("gap_dropout", "train−valid gap, dropout 0.5", "{:.2%}"))),
    Lab("08_resume", "恢复训练",
        "`paddle.save`/`paddle.load` of model, optimizer (with its LR schedule) and RNG state per epoch, "
        "`set_state_dict`; then `train.py --stop-after` / `--resume`",
        (Number("losses_equal", "stopped and resumed: every batch loss equals the uninterrupted run's", "{}"),
         Number("weights_equal", "stopped and resumed: final weights equal, bit for bit", "{}"),
         Number("final_lr", "learning rate at the end", "{:g}"),
         Number("library_equal", "`train.py --stop-after`, `--resume` equals the lab's loop bit for bit", "{}"),
         Number("library_eval_accuracy", "eval accuracy of that train.py run", "{:.2%}"))),
    Lab("09_export_inference", "动转静部署",
        "`paddle.jit.to_static`, `paddle.jit.save` with an `InputSpec`, `paddle.jit.load`, "
        "`paddle.inference.Config`/`create_predictor`, optional ONNX",
        (Number("jit_difference", "largest difference from the dynamic graph, `jit.load`", "{:.1e}"),
         Number("inference_difference", "largest difference, `paddle.inference`", "{:.1e}"),
         Number("onednn_difference", "largest difference, `paddle.inference` with oneDNN", "{:.1e}"),
         Number("training_layers_difference", "largest difference, this project's oneDNN training layers", "{:.1e}"),
         Number("same_predictions", "all of them predict the same digits", "{}"))),
    Lab("10_high_level_api", "(course 2.0's high-level API)",
        "`paddle.Model`, `prepare`, `fit`, `evaluate`, `predict` vs the hand-written loop",
        (Number("high_level_accuracy", "eval accuracy, `paddle.Model`", "{:.2%}"),
         Number("hand_written_accuracy", "eval accuracy, hand-written loop", "{:.2%}"),
         Number("predict_correct", "`predict` right on the first 10 eval digits", "{} of 10"))),
    Lab("11_numpy_two_layer_net", "from scratch (Saito's TwoLayerNet)",
        "TwoLayerNet 784-50-10, ReLU, softmax-CE, SGD 0.1, 10,000 iterations; gradient check",
        (Number("test_accuracy", "test accuracy", "{:.2%}", "~97%"),
         Number("train_accuracy", "train accuracy", "{:.2%}"),
         Number("gradient_error", "gradient check, largest relative error", "{:.1e}"),
         Number("same_as_library", "same loss and gradients as `digits.numpy_nn`", "{}")),
        track="numpy", source="the textbook"),
    Lab("11b_numpy_vs_paddle", "from scratch vs Paddle (lab 11's net, autograd)",
        "the same 784-50-10 network in NumPy and in Paddle (written out), the NumPy weights copied in: outputs, loss, "
        "every gradient, then 5 SGD steps side by side",
        (Number("score_difference", "largest difference, scores", "{:.1e}"),
         Number("loss_difference", "largest difference, loss", "{:.1e}"),
         Number("gradient_difference", "largest difference, gradients", "{:.1e}"),
         Number("step_loss_difference", "largest difference, losses over the SGD steps", "{:.1e}"),
         Number("weight_difference", "largest difference, weights after the steps", "{:.1e}"),
         Number("first_loss", "loss at the first step", "{:.3f}"),
         Number("last_loss", "loss at the last step", "{:.3f}")),
        track="numpy", source="the textbook"),
    Lab("12_numpy_three_layer_mlp", "from scratch (an ICS course's three-layer MLP lab)",
        "an ICS-course three-layer MLP read straight from the IDX files; hidden sizes, batch 100 / 20 / 16 / 10, "
        "decay; the parameters of the best validation-accuracy epoch are saved and tested",
        tuple(Number(f"test_{hidden.replace('/', '_')}_b{batch}", f"test accuracy, {hidden}, batch {batch}", "{:.2%}",
                     "97–98% (batch 10–20)" if (hidden, batch) == ("128/128", 10) else None)
              for hidden in ("32/16", "128/128", "64/32") for batch in (100, 20, 16, 10))
        + (Number("test_64_32_b16_no_decay", "test accuracy, 64/32, batch 16, no decay", "{:.2%}"),
           Number("test_128_128_b10_no_decay", "test accuracy, 128/128, batch 10, no decay", "{:.2%}"),
           Number("best_is_last", "the best epoch was the last in every run", "{}")),
        track="numpy", source="the report"),
    Lab("13_feedforward_design", "from scratch (a course report's feed-forward design lab)",
        "sigmoid + cross-entropy + L2; test only on a new best validation score; k×m sweep in NumPy and Paddle",
        (Number("test_lr_fixed", "784-30-10, test accuracy, lr 0.01", "{:.2%}"),
         Number("test_lr_tuned", "784-30-10, test accuracy, lr 0.5", "{:.2%}", "94.3% (eta 1.3, lambda 0.1)"),
         Number("numpy_best_k", "NumPy sweep: best k", "{}"),
         Number("numpy_best_m", "NumPy sweep: best m", "{}"),
         Number("numpy_best_valid", "NumPy sweep: its valid accuracy", "{:.2%}"),
         Number("paddle_best_k", "Paddle sweep: best k", "{}"),
         Number("paddle_best_m", "Paddle sweep: best m", "{}"),
         Number("paddle_best_valid", "Paddle sweep: its valid accuracy", "{:.2%}")),
        track="numpy", source="the report"),
    Lab("14a_regression_and_fitting", "study notes (synthetic data, in Paddle)",
        "synthetic regression (1-var, multi-var, polynomial), under/over-fitting, L1 vs L2 sparsity",
        (Number("coefficient_error", "largest error of a fitted coefficient", "{:.3f}"),
         Number("best_degree", "test error lowest at degree", "{}"),
         Number("degree12_train_mse", "degree 12: train MSE", "{:.3f}"),
         Number("degree12_test_mse", "degree 12: test MSE", "{:.1e}"),
         Number("l1_zeroed", "L1: useless weights below 0.01", "{} of 36"),
         Number("l2_zeroed", "L2: useless weights below 0.01", "{} of 36")),
        track="numpy", source="the notes"),
    Lab("14b_generalisation", "study notes (MNIST, in Paddle)",
        "dropout's train/test gap, early stopping, 5-fold CV for the hidden width, shift/rotation augmentation",
        (Number("gap_no_dropout", "train−test gap, no dropout", "{:.2%}"),
         Number("gap_dropout", "train−test gap, dropout 0.5", "{:.2%}"),
         Number("test_no_dropout", "test accuracy, no dropout", "{:.2%}"),
         Number("test_dropout", "test accuracy, dropout 0.5", "{:.2%}"),
         Number("stopped_after", "early stopping: epochs trained", "{}"),
         Number("best_epoch", "early stopping: best epoch", "{}"),
         Number("test_best_epoch", "test accuracy, the best epoch's parameters", "{:.2%}"),
         Number("test_last_epoch", "test accuracy, the last epoch's parameters", "{:.2%}"),
         Number("cv_width", "width picked by 5-fold CV", "{}"),
         Number("cv_test", "test accuracy at that width", "{:.2%}"),
         Number("test_plain", "CNN test accuracy, plain", "{:.2%}"),
         Number("test_augmented", "CNN test accuracy, shifted + rotated", "{:.2%}")),
        track="numpy", source="the notes"),
    Lab("15_speed_ladder", "(not in the course)",
        "from the course's program to 99% on two CPU cores, one change per rung, mean ± std over 3 seeds",
        (Number("course_seconds", "the course's program, 1 epoch", "{:.0f} s"),
         Number("course_accuracy", "its eval accuracy", "{:.2%}"),
         Number("fused_seconds", "fused oneDNN stages, 1 epoch", "{:.0f} s"),
         Number("minute_seconds", "`--preset minute`'s recipe", "{:.0f} s"),
         Number("minute_accuracy", "its eval accuracy", "{:.2%}")),
        track="speed"),
)

BY_NAME = {lab.name: lab for lab in LABS}
