"""What each lab shows, the numbers it records, and what the course (or the lab's source) published for them.

`python -m tools.report` runs the labs, reads the numbers each one keeps with `digits.lab.record(out, key=value)`,
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
    zh: str = None         # the label in Chinese (README.zh-CN.md); numbers, code names and units stay as they are
    published_zh: str = None  # `published` in Chinese, quoting the course's own words where it has them


@dataclass(frozen=True)
class Lab:
    name: str        # the file's stem: labs/<name>.py
    section: str     # the course section it follows
    shows: str       # what it teaches, in a line
    numbers: tuple   # Number, ...
    track: str = "course"  # "course": the chapter's labs; "numpy": the from-scratch track; "speed": the speed ladder
    source: str = "the course"  # whose numbers `published` are
    section_zh: str = None  # `section` and `shows` in Chinese (README.zh-CN.md)
    shows_zh: str = None

    def show(self, results, lang="en"):
        """'label value, label value, ...' for the numbers a run recorded (a missing one is left out)."""
        return ("; " if lang == "en" else "；").join(
            f"{n.label if lang == 'en' else n.zh} {format_number(n, results[n.key], lang)}"
            for n in self.numbers if n.key in results)

    def published(self, lang="en"):
        if lang == "en":
            return "; ".join(f"{n.label}: {n.published}" for n in self.numbers if n.published)
        return "；".join(f"{n.zh}：{n.published_zh}" for n in self.numbers if n.published)


SOURCES_ZH = {"the course": "课程", "the textbook": "教材", "the report": "课程报告", "the notes": "学习笔记"}


def format_number(number, value, lang="en"):
    if isinstance(value, bool):
        return ("yes" if value else "no") if lang == "en" else ("是" if value else "否")
    return (number.style if lang == "en" else number.style.replace(" of ", " / ")).format(value)


def companion_accuracy(key, network, activation, setting, published):
    """A valid accuracy of one of the course's companion code's feed-forward nets (lab 13) beside the one it
    published; `setting` is "lr 0.1" or "L2 5e-4"."""
    setting_zh = setting.replace("lr ", "学习率 ")
    return Number(key, f"the course's companion code, {network}, {activation}, {setting}: valid accuracy", "{:.2%}",
                  f"{published} (the companion code)", zh=f"课程配套代码，{network}，{activation}，{setting_zh}：验证集准确率",
                  published_zh=f"{published}（配套代码）")


LABS = (
    Lab("00_minimal_linear", "2-1 通过极简方案构建手写数字识别模型",
        "paddle.vision's MNIST, `Linear(784, 1)`, MSE, SGD 0.001, batch 16, 10 epochs; labels `[B]` against outputs "
        "`[B, 1]` broadcast the loss to `[B, B]`; reading a photo with it",
        (Number("last_loss", "last-epoch loss", "{:.2f}", "noisy 1.6–7.8 (epoch 9 prints 3.11, 2.86, 2.53, 4.19)",
                zh="最后一轮的损失", published_zh="在 1.6–7.8 之间波动（`epoch: 9` 打印 3.11、2.86、2.53、4.19）"),
         Number("test_accuracy", "test accuracy of the rounded prediction (homework 2-1)", "{:.1%}",
                zh="预测值四舍五入后的测试集准确率（作业2-1）"),
         Number("flat_loss", "3 epochs with `[B]` labels: last-epoch loss", "{:.2f}",
                "7–10 (its loader, 10 epochs), 8.41–8.51 at the end of its 3-epoch DataLoader run",
                zh="标签为 `[B]`，训练 3 轮：最后一轮的损失",
                published_zh="7–10（课程自己的读取器，10 轮），用 DataLoader 训练 3 轮结束时为 8.41–8.51"),
         Number("flat_accuracy", "with `[B]` labels: test accuracy", "{:.1%}", zh="标签为 `[B]`：测试集准确率"),
         Number("label_variance", "the labels' variance, where the `[B]` loss settles", "{:.2f}",
                zh="标签的方差（标签为 `[B]` 时损失停在这里）"),
         Number("column_loss", "3 epochs with `[B, 1]` labels: last-epoch loss", "{:.2f}",
                zh="标签为 `[B, 1]`，训练 3 轮：最后一轮的损失"),
         Number("column_accuracy", "with `[B, 1]` labels: test accuracy", "{:.1%}", zh="标签为 `[B, 1]`：测试集准确率"),
         Number("photo_prediction", "raw output for a photo of a 0", "{:.3f}", "1.114 (read as 1; the photo is a 0)",
                zh="对一张数字 0 照片的原始输出", published_zh="1.114（认成 1；照片上是 0）"),
         Number("photo_label", "the photo's digit", "{}", zh="照片上的数字")),
        shows_zh="paddle.vision 的 MNIST，`Linear(784, 1)`，均方误差，SGD 0.001，batch 16，10 轮；标签 `[B]` 与输出 "
                 "`[B, 1]` 相减时发生广播，损失变成 `[B, B]`；用它识别一张照片"),
    Lab("01_data", "数据处理",
        "the course's `load_data(mode)` generator written out, machine and human checks, then the library's loader: "
        "same seed, same batches, timed side by side; `paddle.io.DataLoader`",
        (Number("train_images", "train images", "{:,}", "50,000", zh="训练集图片数", published_zh="50,000"),
         Number("valid_images", "valid images", "{:,}", "10,000", zh="验证集图片数", published_zh="10,000"),
         Number("eval_images", "eval images", "{:,}", "10,000", zh="测试集（eval）图片数", published_zh="10,000"),
         Number("parse_seconds", "the course's loader: parsing the file", "{:.0f} s", zh="课程的读取器：解析文件"),
         Number("course_epoch_seconds", "one shuffled epoch of batching, the course's loader", "{:.2f} s",
                zh="课程的读取器：一轮打乱并分 batch"),
         Number("library_epoch_seconds", "the same, the library's loader", "{:.3f} s", zh="同上，共享库的读取器"),
         Number("same_batches", "same seed: the first 3 batches of both loaders equal", "{}",
                zh="同一随机种子：两个读取器的前 3 个 batch 相同")),
        shows_zh="完整写出课程的 `load_data(mode)` 生成器，机器校验和人工校验；再换成共享库的读取器：同一随机种子给出"
                 "同样的 batch，两者并排计时；`paddle.io.DataLoader`"),
    Lab("02_mlp_regression", "网络结构 (MLP)",
        "the MLP class 784-10-10-1 (sigmoid) and the training loop by hand: forward, `square_error_cost`, mean, "
        "backward, step, clear_grad",
        (Number("train_loss", "final train loss", zh="最终训练损失"),
         Number("eval_mse", "eval MSE", zh="测试集均方误差"),
         Number("rounded_accuracy", "rounded-prediction accuracy", "{:.1%}", zh="预测值四舍五入后的准确率")),
        section_zh="网络结构（MLP）",
        shows_zh="MLP 类 784-10-10-1（sigmoid），手写训练循环：前向计算、`square_error_cost`、求均值、反向传播、"
                 "step、clear_grad"),
    Lab("03_cnn_regression", "网络结构 (CNN)",
        "the CNN class with `Conv2D`/`MaxPool2D`/`Linear`; linear vs MLP vs CNN regression; why the course's CNN "
        "stalls on [-1, 1] pixels and two cures ([0, 1] pixels, a warm-up); MLP vs CNN as classifiers, SGD and Adam",
        (Number("mlp_mse", "eval MSE, MLP", "{:.2f}", zh="测试集均方误差，MLP"),
         Number("cnn_course_mse", "eval MSE, CNN in the course's setting", "{:.2f}",
                "~1.0, below the MLP (train loss 29.02 -> 0.980; its epoch-9 prints 1.60, 1.95, 0.98)",
                zh="测试集均方误差，课程设置下的 CNN",
                published_zh="约 1.0，低于 MLP（训练损失 29.02 -> 0.980；`epoch: 9` 打印 1.60、1.95、0.98）"),
         Number("cnn_course_dead", "dead conv2 channels, CNN in the course's setting", "{:.0%}",
                zh="conv2 死通道的比例，课程设置下的 CNN"),
         Number("cnn_pixels01_mse", "eval MSE, CNN in the course's setting, pixels in [0, 1]", "{:.2f}",
                zh="测试集均方误差，课程设置下的 CNN，像素取值 [0, 1]"),
         Number("cnn_pixels01_dead", "dead conv2 channels, CNN in the course's setting, pixels in [0, 1]", "{:.0%}",
                zh="conv2 死通道的比例，课程设置下的 CNN，像素取值 [0, 1]"),
         Number("cnn_warmup_mse", "eval MSE, CNN with warm-up", "{:.2f}", zh="测试集均方误差，加学习率预热的 CNN"),
         Number("mlp_classifier_accuracy", "classifier eval accuracy, MLP, SGD 0.01", "{:.1%}",
                zh="分类器的测试集准确率，MLP，SGD 0.01"),
         Number("cnn_classifier_accuracy", "classifier eval accuracy, CNN, SGD 0.01", "{:.1%}",
                zh="分类器的测试集准确率，CNN，SGD 0.01"),
         Number("mlp_adam_accuracy", "classifier eval accuracy, MLP, Adam 0.001", "{:.1%}",
                zh="分类器的测试集准确率，MLP，Adam 0.001"),
         Number("cnn_adam_accuracy", "classifier eval accuracy, CNN, Adam 0.001", "{:.1%}",
                zh="分类器的测试集准确率，CNN，Adam 0.001")),
        section_zh="网络结构（CNN）",
        shows_zh="用 `Conv2D`/`MaxPool2D`/`Linear` 搭的 CNN 类；线性模型、MLP、CNN 做回归的比较；课程的 CNN 为什么在"
                 "[-1, 1] 的像素上停滞，以及两种解法（像素取 [0, 1]、学习率预热）；MLP 与 CNN 做分类器的比较（SGD 与 Adam）"),
    Lab("04_loss_functions", "损失函数",
        "softmax([3, 1, −3]) and −log p worked beside the course's values; the three changes (int64 labels, "
        "`Linear(980, 10)`, `F.cross_entropy`); the course's `evaluation()` with `paddle.metric.accuracy`; the same "
        "CNN as a regression; reading a photo",
        (Number("softmax_top", "softmax([3, 1, −3])[0]", "{:.2f}", "0.88", zh="softmax([3, 1, −3])[0]",
                published_zh="0.88"),
         Number("classification_accuracy", "classification eval accuracy (SGD 0.01)", "{:.2%}",
                "98.6% (its text, in 训练调试与优化: Adam 0.01, 5 epochs)",
                zh="分类的测试集准确率（SGD 0.01）", published_zh="98.6%（课程正文，见训练调试与优化一节：Adam 0.01，5 轮）"),
         Number("regression_accuracy", "the same CNN as a regression: rounded eval accuracy", "{:.2%}",
                zh="同一个 CNN 做回归：四舍五入后的测试集准确率"),
         Number("evaluation_equals_evaluate", "`evaluation()` equals the library's `evaluate()`", "{}",
                zh="`evaluation()` 与共享库的 `evaluate()` 结果相同")),
        shows_zh="算出 softmax([3, 1, −3]) 和 −log p，与课程给出的值对照；三处改动（int64 标签、`Linear(980, 10)`、"
                 "`F.cross_entropy`）；课程用 `paddle.metric.accuracy` 写的 `evaluation()`；同一个 CNN 做回归；"
                 "识别一张照片"),
    Lab("05_optimizers", "优化算法",
        "the optimizer constructions as the course writes them: SGD at 1e-4 / 1e-3 / 1e-2 (10 epochs), then SGD, "
        "Momentum(0.9), Adagrad, Adam (3 epochs, lr 0.01; Adam also 0.001), one loop of lab 02's steps",
        (Number("sgd_lr1e4", "valid accuracy, SGD 1e-4 (10 epochs)", "{:.2%}", zh="验证集准确率，SGD 1e-4（10 轮）"),
         Number("sgd_lr1e3", "valid accuracy, SGD 1e-3 (10 epochs)", "{:.2%}", zh="验证集准确率，SGD 1e-3（10 轮）"),
         Number("sgd_lr1e2", "valid accuracy, SGD 1e-2 (10 epochs)", "{:.2%}", zh="验证集准确率，SGD 1e-2（10 轮）"),
         Number("sgd", "valid accuracy, SGD 0.01 (3 epochs)", "{:.2%}", zh="验证集准确率，SGD 0.01（3 轮）"),
         Number("momentum", "valid accuracy, Momentum 0.01 (3 epochs)", "{:.2%}", zh="验证集准确率，Momentum 0.01（3 轮）"),
         Number("adagrad", "valid accuracy, Adagrad 0.01 (3 epochs)", "{:.2%}", zh="验证集准确率，Adagrad 0.01（3 轮）"),
         Number("adam", "valid accuracy, Adam 0.01 (3 epochs)", "{:.2%}", zh="验证集准确率，Adam 0.01（3 轮）"),
         Number("adam_lr1e3", "valid accuracy, Adam 0.001 (3 epochs)", "{:.2%}", zh="验证集准确率，Adam 0.001（3 轮）")),
        shows_zh="按课程的写法构造优化器：SGD 学习率 1e-4 / 1e-3 / 1e-2（10 轮），再比较 SGD、Momentum(0.9)、Adagrad、"
                 "Adam（3 轮，学习率 0.01；Adam 另试 0.001），全都用实验 02 那几步组成的同一个循环"),
    Lab("06_devices_distributed", "资源配置",
        "`paddle.set_device` guarded by `is_compiled_with_cuda()` (and the course's unguarded call's error); the "
        "course's `train()` with `init_parallel_env`, `DataParallel` and a `DistributedBatchSampler` shard; run in one "
        "process, under `paddle.distributed.spawn` and under `paddle.distributed.launch`",
        (Number("one_process_accuracy", "eval accuracy, 1 process", "{:.2%}", zh="测试集准确率，1 个进程"),
         Number("one_process_seconds", "wall time, 1 process", "{:.0f} s", zh="实际用时，1 个进程"),
         Number("spawn_accuracy", "eval accuracy, 2 processes by spawn", "{:.2%}", zh="测试集准确率，spawn 启动 2 个进程"),
         Number("spawn_seconds", "wall time, spawn", "{:.0f} s", zh="实际用时，spawn"),
         Number("launch_accuracy", "eval accuracy, 2 processes by launch", "{:.2%}",
                zh="测试集准确率，launch 启动 2 个进程"),
         Number("launch_seconds", "wall time, launch", "{:.0f} s", zh="实际用时，launch"),
         Number("ranks_same_weights", "the ranks end with identical weights", "{}", zh="各进程（rank）最终的权重完全相同"),
         Number("spawn_equals_launch", "spawn and launch end with the same weights", "{}",
                zh="spawn 与 launch 最终的权重相同")),
        shows_zh="先用 `is_compiled_with_cuda()` 判断再调用 `paddle.set_device`（以及课程不加判断时报的错）；课程的 "
                 "`train()` 加上 `init_parallel_env`、`DataParallel` 和 `DistributedBatchSampler` 的数据分片；"
                 "分别在单进程、`paddle.distributed.spawn` 和 `paddle.distributed.launch` 下运行"),
    Lab("07_debug_and_tune", "训练调试与优化",
        "the course's check_shape/check_content as forward hooks registered in the lab; `L2Decay` in the optimizer "
        "and a `DropoutCNN`; train vs valid",
        (Number("valid_none", "valid accuracy, no regulariser", "{:.2%}",
                "98.6% (its text: Adam 0.01, 5 epochs, on the eval split it calls 验证集)",
                zh="验证集准确率，不加正则化",
                published_zh="98.6%（课程正文：Adam 0.01，5 轮；评估用的是 eval 数据，正文称之为验证集）"),
         Number("valid_l2_1e5", "valid accuracy, L2 1e-5", "{:.2%}", zh="验证集准确率，L2 1e-5"),
         Number("valid_l2_1e3", "valid accuracy, L2 1e-3", "{:.2%}", zh="验证集准确率，L2 1e-3"),
         Number("valid_l2_1e2", "valid accuracy, L2 1e-2", "{:.2%}", zh="验证集准确率，L2 1e-2"),
         Number("valid_dropout", "valid accuracy, dropout 0.5", "{:.2%}", zh="验证集准确率，Dropout 0.5"),
         Number("gap_none", "train−valid gap, no regulariser", "{:.2%}", zh="训练−验证差距，不加正则化"),
         Number("gap_l2_1e5", "train−valid gap, L2 1e-5", "{:.2%}", zh="训练−验证差距，L2 1e-5"),
         Number("gap_l2_1e3", "train−valid gap, L2 1e-3", "{:.2%}", zh="训练−验证差距，L2 1e-3"),
         Number("gap_l2_1e2", "train−valid gap, L2 1e-2", "{:.2%}", zh="训练−验证差距，L2 1e-2"),
         Number("gap_dropout", "train−valid gap, dropout 0.5", "{:.2%}", zh="训练−验证差距，Dropout 0.5")),
        shows_zh="把课程的 check_shape/check_content 写成在实验中注册的前向钩子（forward hook）；优化器里的 `L2Decay` "
                 "和一个 `DropoutCNN`；训练集与验证集对比"),
    Lab("08_resume", "恢复训练",
        "`paddle.save`/`paddle.load` of model, optimizer (with its LR schedule) and RNG state per epoch, "
        "`set_state_dict`; then `train.py --stop-after` / `--resume`",
        (Number("losses_equal", "stopped and resumed: every batch loss equals the uninterrupted run's", "{}",
                zh="中断后恢复：每个 batch 的损失都与不中断的运行相同"),
         Number("weights_equal", "stopped and resumed: final weights equal, bit for bit", "{}",
                zh="中断后恢复：最终权重逐位相同"),
         Number("final_lr", "learning rate at the end", "{:g}", zh="结束时的学习率"),
         Number("library_equal", "`train.py --stop-after`, `--resume` equals the lab's loop bit for bit", "{}",
                zh="`train.py --stop-after`、`--resume` 与实验中的循环逐位相同"),
         Number("library_eval_accuracy", "eval accuracy of that train.py run", "{:.2%}",
                zh="这次 train.py 运行的测试集准确率")),
        shows_zh="每轮用 `paddle.save`/`paddle.load` 保存、读取模型、优化器（连同学习率策略）和随机数生成器的状态，"
                 "`set_state_dict`；然后是 `train.py --stop-after` / `--resume`"),
    Lab("09_export_inference", "动转静部署",
        "the course's `Linear(784, 10)` trained, saved and reloaded; `paddle.jit.to_static`, `paddle.jit.save` with "
        "an `InputSpec`, `paddle.jit.load`, `paddle.inference.Config`/`create_predictor`, optional ONNX",
        (Number("linear_first_loss", "`Linear(784, 10)`: first batch's loss", "{:.4f}", "2.2116",
                zh="`Linear(784, 10)`：第一个 batch 的损失", published_zh="2.2116"),
         Number("linear_last_loss", "`Linear(784, 10)`: mean loss of the epoch's last 100 batches", "{:.2f}",
                "0.29–0.48 (its epoch-1 prints)", zh="`Linear(784, 10)`：这一轮最后 100 个 batch 的平均损失",
                published_zh="0.29–0.48（第 1 轮打印的损失）"),
         Number("linear_predicts_first_eval", "the reloaded `Linear(784, 10)` reads eval image 0 as", "{}", "7",
                zh="重新加载的 `Linear(784, 10)` 对测试集第 0 张图片的预测", published_zh="7"),
         Number("first_eval_label", "eval image 0's label", "{}", "7", zh="测试集第 0 张图片的标签", published_zh="7"),
         Number("jit_difference", "largest difference from the dynamic graph, `jit.load`", "{:.1e}",
                zh="与动态图输出的最大差异，`jit.load`"),
         Number("inference_difference", "largest difference, `paddle.inference`", "{:.1e}",
                zh="最大差异，`paddle.inference`"),
         Number("onednn_difference", "largest difference, `paddle.inference` with oneDNN", "{:.1e}",
                zh="最大差异，开启 oneDNN 的 `paddle.inference`"),
         Number("training_layers_difference", "largest difference, this project's oneDNN training layers", "{:.1e}",
                zh="最大差异，本项目的 oneDNN 训练层"),
         Number("same_predictions", "all of them predict the same digits", "{}", zh="它们预测的数字全都相同")),
        shows_zh="训练、保存并重新加载课程的 `Linear(784, 10)`；`paddle.jit.to_static`，带 `InputSpec` 的 `paddle.jit.save`，`paddle.jit.load`，"
                 "`paddle.inference.Config`/`create_predictor`，可选导出 ONNX"),
    Lab("10_high_level_api", "(course 2.0's high-level API)",
        "`paddle.Model`, `prepare`, `fit`, `evaluate`, `predict` vs the hand-written loop",
        (Number("high_level_accuracy", "eval accuracy, `paddle.Model`", "{:.2%}", zh="测试集准确率，`paddle.Model`"),
         Number("hand_written_accuracy", "eval accuracy, hand-written loop", "{:.2%}", zh="测试集准确率，手写循环"),
         Number("predict_correct", "`predict` right on the first 10 eval digits", "{} of 10",
                zh="`predict` 在前 10 个测试集数字上预测正确")),
        section_zh="（课程 2.0 的高层 API）",
        shows_zh="`paddle.Model`、`prepare`、`fit`、`evaluate`、`predict`，与手写循环对比"),
    Lab("11_numpy_two_layer_net", "from scratch (Saito's TwoLayerNet)",
        "TwoLayerNet 784-50-10, ReLU, softmax-CE, SGD 0.1, 10,000 iterations; gradient check",
        (Number("test_accuracy", "test accuracy", "{:.2%}", "~97%", zh="测试集准确率", published_zh="约 97%"),
         Number("train_accuracy", "train accuracy", "{:.2%}", zh="训练集准确率"),
         Number("gradient_error", "gradient check, largest relative error", "{:.1e}", zh="梯度检验，最大相对误差"),
         Number("same_as_library", "same loss and gradients as `digits.numpy_nn`", "{}",
                zh="损失和梯度与 `digits.numpy_nn` 相同")),
        track="numpy", source="the textbook",
        section_zh="从零实现（斋藤康毅《深度学习入门》的 TwoLayerNet）",
        shows_zh="TwoLayerNet 784-50-10，ReLU，softmax 交叉熵，SGD 0.1，迭代 10,000 次；梯度检验"),
    Lab("11b_numpy_vs_paddle", "from scratch vs Paddle (lab 11's net, autograd)",
        "the same 784-50-10 network in NumPy and in Paddle (written out), the NumPy weights copied in: outputs, loss, "
        "every gradient, then 5 SGD steps side by side",
        (Number("score_difference", "largest difference, scores", "{:.1e}", zh="最大差异，输出分数"),
         Number("loss_difference", "largest difference, loss", "{:.1e}", zh="最大差异，损失"),
         Number("gradient_difference", "largest difference, gradients", "{:.1e}", zh="最大差异，梯度"),
         Number("step_loss_difference", "largest difference, losses over the SGD steps", "{:.1e}",
                zh="最大差异，SGD 各步的损失"),
         Number("weight_difference", "largest difference, weights after the steps", "{:.1e}",
                zh="最大差异，走完这几步后的权重"),
         Number("first_loss", "loss at the first step", "{:.3f}", zh="第一步的损失"),
         Number("last_loss", "loss at the last step", "{:.3f}", zh="最后一步的损失")),
        track="numpy", source="the textbook",
        section_zh="从零实现与 Paddle 对比（实验 11 的网络，自动求导）",
        shows_zh="同一个 784-50-10 网络分别用 NumPy 和 Paddle 写出来，把 NumPy 的权重复制过去：逐一对比输出、损失、"
                 "每个梯度，再并排走 5 步 SGD"),
    Lab("12_numpy_three_layer_mlp", "from scratch (an ICS course's three-layer MLP lab)",
        "an ICS-course three-layer MLP read straight from the IDX files; hidden sizes, batch 100 / 20 / 16 / 10, "
        "decay; the parameters of the best validation-accuracy epoch are saved and tested",
        tuple(Number(f"test_{hidden.replace('/', '_')}_b{batch}", f"test accuracy, {hidden}, batch {batch}", "{:.2%}",
                     "97–98% (batch 10–20)" if (hidden, batch) == ("128/128", 10) else None,
                     zh=f"测试集准确率，{hidden}，batch {batch}",
                     published_zh="97–98%（batch 10–20）" if (hidden, batch) == ("128/128", 10) else None)
              for hidden in ("32/16", "128/128", "64/32") for batch in (100, 20, 16, 10))
        + (Number("test_64_32_b16_no_decay", "test accuracy, 64/32, batch 16, no decay", "{:.2%}",
                  zh="测试集准确率，64/32，batch 16，不做学习率衰减"),
           Number("test_128_128_b10_no_decay", "test accuracy, 128/128, batch 10, no decay", "{:.2%}",
                  zh="测试集准确率，128/128，batch 10，不做学习率衰减"),
           Number("best_is_last", "the best epoch was the last in every run", "{}",
                  zh="每次运行中最好的一轮都是最后一轮")),
        track="numpy", source="the report",
        section_zh="从零实现（某 ICS 课程的三层 MLP 实验）",
        shows_zh="ICS 课程的三层 MLP，直接读取 IDX 文件；比较隐藏层大小、batch 100 / 20 / 16 / 10 和学习率衰减；"
                 "保存验证集准确率最高那一轮的参数并用它测试"),
    Lab("13_feedforward_design", "from scratch (a course report's feed-forward design lab)",
        "sigmoid + cross-entropy + L2; test only on a new best validation score; k×m sweep in NumPy and Paddle; the "
        "course's companion code's five feed-forward networks",
        (Number("test_lr_fixed", "784-30-10, test accuracy, lr 0.01", "{:.2%}", zh="784-30-10，测试集准确率，学习率 0.01"),
         Number("test_lr_tuned", "784-30-10, test accuracy, lr 0.5", "{:.2%}", "94.3% (eta 1.3, lambda 0.1)",
                zh="784-30-10，测试集准确率，学习率 0.5", published_zh="94.3%（eta 1.3，lambda 0.1）"),
         Number("numpy_best_k", "NumPy sweep: best k", "{}", zh="NumPy 扫描：最好的 k"),
         Number("numpy_best_m", "NumPy sweep: best m", "{}", zh="NumPy 扫描：最好的 m"),
         Number("numpy_best_valid", "NumPy sweep: its valid accuracy", "{:.2%}", zh="NumPy 扫描：它的验证集准确率"),
         Number("paddle_best_k", "Paddle sweep: best k", "{}", zh="Paddle 扫描：最好的 k"),
         Number("paddle_best_m", "Paddle sweep: best m", "{}", zh="Paddle 扫描：最好的 m"),
         Number("paddle_best_valid", "Paddle sweep: its valid accuracy", "{:.2%}", zh="Paddle 扫描：它的验证集准确率"),
         companion_accuracy("companion_sigmoid_lr01", "784-500-10", "sigmoid", "lr 0.1", "85.03%"),
         companion_accuracy("companion_sigmoid_lr1", "784-500-10", "sigmoid", "lr 1", "95.87%"),
         companion_accuracy("companion_relu", "784-500-10", "ReLU", "lr 0.1", "96.18%"),
         companion_accuracy("companion_multi_relu", "784-512-256-10", "ReLU", "lr 0.1", "97.10%"),
         companion_accuracy("companion_multi_relu_l2", "784-512-256-10", "ReLU", "L2 5e-4", "97.18%"),
         Number("companion_last_loss", "the companion code's 784-512-256-10, L2: last-epoch train loss (two softmaxes: "
                "at least 1.4612)", "{:.4f}", "about 1.46–1.55 (the companion code)",
                zh="配套代码的 784-512-256-10，L2：最后一轮的训练损失（两次 softmax：不低于 1.4612）",
                published_zh="约 1.46–1.55（配套代码）")),
        track="numpy", source="the report",
        section_zh="从零实现（某课程报告中的前馈网络设计实验）",
        shows_zh="sigmoid + 交叉熵 + L2；只在验证分数创新高时才测试；用 NumPy 和 Paddle 分别扫描 k×m；课程配套代码的五个前馈网络"),
    Lab("14a_regression_and_fitting", "study notes (synthetic data, in Paddle)",
        "synthetic regression (1-var, multi-var, polynomial), under/over-fitting, L1 vs L2 sparsity",
        (Number("coefficient_error", "largest error of a fitted coefficient", "{:.3f}", zh="拟合系数的最大误差"),
         Number("best_degree", "test error lowest at degree", "{}", zh="测试误差最低时的多项式次数"),
         Number("degree12_train_mse", "degree 12: train MSE", "{:.3f}", zh="12 次多项式：训练集均方误差"),
         Number("degree12_test_mse", "degree 12: test MSE", "{:.1e}", zh="12 次多项式：测试集均方误差"),
         Number("l1_zeroed", "L1: useless weights below 0.01", "{} of 36", zh="L1：小于 0.01 的无用权重"),
         Number("l2_zeroed", "L2: useless weights below 0.01", "{} of 36", zh="L2：小于 0.01 的无用权重")),
        track="numpy", source="the notes",
        section_zh="学习笔记（合成数据，用 Paddle 实现）",
        shows_zh="合成数据上的回归（一元、多元、多项式），欠拟合与过拟合，L1 与 L2 的稀疏性"),
    Lab("14b_generalisation", "study notes (MNIST, in Paddle)",
        "dropout's train/test gap, early stopping, 5-fold CV for the hidden width, shift/rotation augmentation",
        (Number("gap_no_dropout", "train−test gap, no dropout", "{:.2%}", zh="训练−测试差距，不用 Dropout"),
         Number("gap_dropout", "train−test gap, dropout 0.5", "{:.2%}", zh="训练−测试差距，Dropout 0.5"),
         Number("test_no_dropout", "test accuracy, no dropout", "{:.2%}", zh="测试集准确率，不用 Dropout"),
         Number("test_dropout", "test accuracy, dropout 0.5", "{:.2%}", zh="测试集准确率，Dropout 0.5"),
         Number("stopped_after", "early stopping: epochs trained", "{}", zh="提前停止：训练的轮数"),
         Number("best_epoch", "early stopping: best epoch", "{}", zh="提前停止：最好的一轮"),
         Number("test_best_epoch", "test accuracy, the best epoch's parameters", "{:.2%}",
                zh="测试集准确率，最好一轮的参数"),
         Number("test_last_epoch", "test accuracy, the last epoch's parameters", "{:.2%}",
                zh="测试集准确率，最后一轮的参数"),
         Number("cv_width", "width picked by 5-fold CV", "{}", zh="5 折交叉验证选出的宽度"),
         Number("cv_test", "test accuracy at that width", "{:.2%}", zh="这个宽度的测试集准确率"),
         Number("test_plain", "CNN test accuracy, plain", "{:.2%}", zh="CNN 测试集准确率，不做增强"),
         Number("test_augmented", "CNN test accuracy, shifted + rotated", "{:.2%}", zh="CNN 测试集准确率，平移 + 旋转")),
        track="numpy", source="the notes",
        section_zh="学习笔记（MNIST，用 Paddle 实现）",
        shows_zh="Dropout 与训练/测试差距，提前停止，用 5 折交叉验证选隐藏层宽度，平移/旋转数据增强"),
    Lab("15_speed_ladder", "(not in the course)",
        "from the course's program to 99% on two CPU cores, one change per rung, mean ± std over 3 seeds",
        (Number("course_seconds", "the course's program, 1 epoch", "{:.0f} s", zh="课程的程序，1 轮"),
         Number("course_accuracy", "its eval accuracy", "{:.2%}", zh="它的测试集准确率"),
         Number("fused_seconds", "fused oneDNN stages, 1 epoch", "{:.0f} s", zh="融合的 oneDNN 阶段，1 轮"),
         Number("minute_seconds", "`--preset minute`'s recipe", "{:.0f} s", zh="`--preset minute` 的配方"),
         Number("minute_accuracy", "its eval accuracy", "{:.2%}", zh="它的测试集准确率")),
        track="speed",
        section_zh="（课程中没有）",
        shows_zh="在两个 CPU 核心上从课程的程序一路提升到 99%，每一级只改一处，3 个随机种子上的均值 ± 标准差"),
)

BY_NAME = {lab.name: lab for lab in LABS}
