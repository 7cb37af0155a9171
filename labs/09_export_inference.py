# %% [markdown] lang="en"
# # Lab 09 · 动转静部署: from the dynamic graph to a deployable static one
#
# - **Course:** 【手写数字识别】之动转静部署 (the course's Lab 10).
# - **You build:** the course's `Linear(784, 10)`, trained, saved with `paddle.jit.save` and loaded back
#   with `paddle.jit.load`; then a trained CNN exported the same way and served with `paddle.inference`,
#   with and without oneDNN.
# - **You will see:** the loaded linear model's answer for eval image 0; every form of the CNN giving the
#   dynamic graph's outputs on 1,000 eval images, and how fast each one runs.
#
# As a script: `python labs/09_export_inference.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 09 · 动转静部署：从动态图到可部署的静态图
#
# - **对应课程章节**：【手写数字识别】之动转静部署（课程第 10 节）。
# - **本实验要做的**：训练课程的 `Linear(784, 10)`，用 `paddle.jit.save` 保存，再用 `paddle.jit.load` 加载回来；
#   然后把训练好的 CNN 用同样的方法导出，并用 `paddle.inference` 部署，分别关闭和打开 oneDNN。
# - **你会看到**：加载回来的线性模型对测试图片 0 的预测；CNN 的每种形式在 1,000 张测试图片上都给出与动态图相同的
#   输出，以及各自的速度。
#
# 作为脚本运行：`python labs/09_export_inference.py`（`--help` 列出所有参数）。

# %%
import os
import time

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from paddle.static import InputSpec
from digits.data import load_course_data, load_data
from digits.export import write_meta
from digits.fileio import atomic_path
from digits.lab import lab_setup, record
from digits.onednn import accelerate, is_accelerated, math_threads
from digits.runs import Run, load_weights
from digits.training import TrainConfig, fit, num_outputs, seed_everything, train_step
from models import build_model
from models.cnn import CNN

# %% tags=["parameters"]
epochs = 2  # passes over the training set of the CNN trained to be exported
seed = 0  # fixes the CNN's initial weights and the shuffle
onednn = True  # train on oneDNN's conv kernels; False: Paddle's own, as the course ran them
run = None  # export this train.py run (its folder) instead of training a CNN first
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab09", globals())  # a script's flags replace the values above; out = runs/lab09/<time>

# %% [markdown] lang="en"
# ## The course's example: Linear(784, 10)
# Training runs in dynamic mode: Python executes each layer as it goes. For deployment the course traces
# the model once into a static graph (`paddle.jit.to_static`), saves it with `paddle.jit.save` and an
# `InputSpec` whose batch size is `None` (any batch size works), and loads it back with `paddle.jit.load`:
# a `TranslatedLayer` that needs no Python model code. Its example is the simplest classifier: one
# `Linear(784, 10)` on the flat image, cross-entropy, SGD at lr 0.001, batch 16, pixels in [-1, 1] (as the
# course file's are). It trains for one epoch here, its loss printed every 1,000 batches as the course
# prints it. The course prints 2.2116 at the first batch and 0.3 to 0.5 in the second epoch.

# %% [markdown] lang="zh"
# ## 课程的例子：Linear(784, 10)
# 训练在动态图模式下进行：Python 一层一层地边走边执行。部署时，课程把模型追踪一次，转成静态图
# （`paddle.jit.to_static`），用 `paddle.jit.save` 加上一个 batch 大小为 `None` 的 `InputSpec` 保存（任意 batch
# 大小都能用），再用 `paddle.jit.load` 加载回来：得到一个 `TranslatedLayer`，不需要模型的 Python 代码。课程的例子
# 是最简单的分类器：对展平的图片用一个 `Linear(784, 10)`，交叉熵损失，SGD，学习率 0.001，batch 16，像素取值在
# [-1, 1]（课程数据文件里的像素正是这样）。这里训练 1 轮，和课程一样每 1,000 个 batch 打印一次损失。课程打印出的
# 损失，第一个 batch 是 2.2116，到第二轮降到 0.3 到 0.5 之间。

# %%
class MNIST(paddle.nn.Layer):
    """The course's model for this section: one fully connected layer, 784 pixels in, 10 scores out."""

    def __init__(self):
        super().__init__()
        self.fc = paddle.nn.Linear(in_features=784, out_features=10)

    def forward(self, inputs):
        outputs = self.fc(inputs)
        return outputs


seed_everything(seed)
linear = MNIST()
opt = paddle.optimizer.SGD(learning_rate=0.001, parameters=linear.parameters())
linear_losses = []
for batch_id, (batch_images, batch_labels) in enumerate(load_data("train", 16, label_dtype="int64")()):  # one epoch
    _, batch_loss = train_step(linear, opt, paddle.to_tensor(batch_images), paddle.to_tensor(batch_labels),
                               F.cross_entropy)
    linear_losses.append(float(batch_loss))
    if batch_id % 1000 == 0:
        print(f"epoch: 0, batch: {batch_id}, loss is: {linear_losses[-1]:.4f}")
linear_last_loss = float(np.mean(linear_losses[-100:]))
print(f"Linear(784, 10) after one epoch: first batch's loss {linear_losses[0]:.4f}, mean loss of the last 100 "
      f"batches {linear_last_loss:.4f}")

# %% [markdown] lang="en"
# ## Save it, load it, ask it
# `paddle.jit.save` writes the graph and the weights under the prefix `inference/mnist` (in the run
# folder), and `paddle.jit.load` reads them back. The loaded model gets the eval split's first image as a
# `[1, 784]` batch; the largest of its ten scores is its answer. The course's loaded model reads this
# image, a 7, as 7.

# %% [markdown] lang="zh"
# ## 保存、加载、预测
# `paddle.jit.save` 把图和权重写到前缀 `inference/mnist` 下（在运行文件夹里），`paddle.jit.load` 再把它们读回来。
# 把测试集的第一张图片做成 `[1, 784]` 的 batch 交给加载回来的模型；十个分数中最大的那个就是它的回答。课程中加载
# 回来的模型把这张图片（一个 7）认作 7。

# %%
linear.eval()
paddle.jit.save(paddle.jit.to_static(linear, full_graph=True), f"{out}/inference/mnist",
                input_spec=[InputSpec(shape=[None, 784], dtype="float32")])
loaded_linear = paddle.jit.load(f"{out}/inference/mnist")  # a TranslatedLayer
eval_images, eval_labels = load_course_data()["eval"]
linear_prediction = int(paddle.argmax(loaded_linear(paddle.to_tensor(eval_images[:1]))))
print(f"saved and loaded: {sorted(os.listdir(f'{out}/inference'))}; eval image 0 is a {eval_labels[0]}, "
      f"the loaded model predicts {linear_prediction}")

# %% [markdown] lang="en"
# ## The trained model
# Now the same calls for a network worth deploying: a CNN trained here (the live curve shows its loss), or
# the weights of a `train.py` run. The lab exports it, serves the same files with `paddle.inference`,
# Paddle's deployment engine, with and without oneDNN, and checks every form against the dynamic graph
# on 1,000 eval images, timing each. Its conv layers run on oneDNN's kernels, which exist only in dynamic
# mode.

# %% [markdown] lang="zh"
# ## 训练好的模型
# 接下来对一个值得部署的网络做同样的事：在这里训练一个 CNN（实时曲线显示它的损失），或者读入一次 `train.py`
# 训练得到的权重。本实验把它导出，用 Paddle 的部署引擎 `paddle.inference` 加载同样的文件做推理，分别关闭和打开
# oneDNN；再在 1,000 张测试图片上把每种形式与动态图逐一对比，并测量速度。它的卷积层运行在 oneDNN 的 kernel 上，
# 而这些 kernel 只在动态图模式下才有。

# %%
if run:
    config = Run.open(run).config
    name, loss = config["model"], config["loss"]
    model = accelerate(load_weights(build_model(name, num_outputs(loss)), Run(run).model_file()))
else:
    name, loss = "cnn", "ce"
    model = fit(TrainConfig(epochs=epochs, seed=seed, out=f"{out}/run"), lambda: CNN(10)).model
model.eval()

# %% [markdown] lang="en"
# ## The reference: the dynamic graph
# The export records Paddle's own conv2d op (the oneDNN training layers of `digits/onednn.py` run only
# in dynamic mode), so the reference is the same weights in a model on Paddle's own kernels: what the
# exported graph computes. `jit.load` and plain `paddle.inference` should match it exactly; oneDNN's
# kernels (`paddle.inference`'s, or the training layers) add in another order, so theirs differ in
# float32 rounding. Every form below runs the same 1,000 eval images in batches of 100; `timed` keeps
# the best of three passes.

# %% [markdown] lang="zh"
# ## 对照基准：动态图
# 导出的图记录的是 Paddle 自己的 conv2d 算子（`digits/onednn.py` 中用 oneDNN 训练的层只能在动态图模式下运行），
# 所以对照基准是把同样的权重放进一个使用 Paddle 自己 kernel 的模型：它算出的就是导出的图所计算的东西。`jit.load`
# 和普通的 `paddle.inference` 应当与它完全一致；oneDNN 的 kernel（无论是 `paddle.inference` 里的，还是训练用的层）
# 做加法的顺序不同，所以结果在 float32 的舍入上有差异。下面每种形式都在同样的 1,000 张测试图片上运行，每批 100 张；
# `timed` 取三遍中最快的一遍。

# %%
def timed(predict, images, batch_size=100, repeats=3):
    """All outputs for `images`, and the best images/s over a few passes in batches."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        outputs = np.concatenate([predict(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
        best = min(best, time.perf_counter() - started)
    return outputs, len(images) / best


reference = build_model(name, num_outputs(loss))  # the same weights, on Paddle's own kernels
reference.set_state_dict(model.state_dict())
reference.eval()
images = load_course_data()["eval"][0][:1000].reshape(-1, *model.input_shape)
with paddle.no_grad():
    dynamic, dynamic_speed = timed(lambda batch: reference(paddle.to_tensor(batch)).numpy(), images)
    training_layers, training_speed = timed(lambda batch: model(paddle.to_tensor(batch)).numpy(), images)

# %% [markdown] lang="en"
# ## 1. Dynamic to static, and save
# `paddle.jit.to_static` traces `forward` once into a static graph; `InputSpec` says what the graph takes:
# float32 images of shape `[None, 1, 28, 28]`, where `None` lets the batch size vary. `paddle.jit.save`
# writes the graph (`model.json` under Paddle 3, `model.pdmodel` under Paddle 2) and the weights
# (`model.pdiparams`). `to_static` converts the model in place: from here on it runs as the static graph.
# `eval.py` evaluates the export folder too.

# %% [markdown] lang="zh"
# ## 1. 动转静，并保存
# `paddle.jit.to_static` 把 `forward` 追踪一次，转成静态图；`InputSpec` 说明这张图接收什么输入：形状为
# `[None, 1, 28, 28]` 的 float32 图片，其中 `None` 表示 batch 大小可变。`paddle.jit.save` 写出图
# （Paddle 3 下是 `model.json`，Paddle 2 下是 `model.pdmodel`）和权重（`model.pdiparams`）。`to_static`
# 就地转换模型：从这里开始，模型以静态图的方式运行。`eval.py` 也能直接评估导出的文件夹。

# %%
folder = f"{out}/export"
input_spec = [InputSpec([None, *model.input_shape], "float32", "image")]  # the CNN: [None, 1, 28, 28]
static_model = paddle.jit.to_static(model, full_graph=True)
paddle.jit.save(static_model, f"{folder}/model", input_spec=input_spec)
write_meta(folder, name, loss, model.input_shape)   # export.json: what eval.py needs to use the export
graph = next(f"{folder}/model{suffix}" for suffix in (".json", ".pdmodel") if os.path.exists(f"{folder}/model{suffix}"))
weights = f"{folder}/model.pdiparams"
print(f"exported: {sorted(os.listdir(folder))}")

# %% [markdown] lang="en"
# ## 2. Load it back
# `paddle.jit.load` needs only the files' common prefix. It returns a `TranslatedLayer`, called like the
# model, without the model's Python code: the graph runs Paddle's own kernels.

# %% [markdown] lang="zh"
# ## 2. 加载回来
# `paddle.jit.load` 只需要这些文件的公共前缀。它返回一个 `TranslatedLayer`，调用方式和模型一样，但不需要模型的
# Python 代码：图运行的是 Paddle 自己的 kernel。

# %%
loaded = paddle.jit.load(f"{folder}/model")
with paddle.no_grad():
    jitted, jit_speed = timed(lambda batch: loaded(paddle.to_tensor(batch)).numpy(), images)

# %% [markdown] lang="en"
# ## 3. Serve it with paddle.inference
# Paddle's deployment engine, as a C++ server or a phone would run the files: a `Config` names the graph
# and the weights and sets the device and threads, `create_predictor` optimises the graph once, and each
# batch goes through the predictor's input and output handles as NumPy arrays. With oneDNN on, the
# engine swaps in oneDNN's kernels (and may fuse a conv with its ReLU).

# %% [markdown] lang="zh"
# ## 3. 用 paddle.inference 部署
# Paddle 的部署引擎，C++ 服务或手机上运行这些文件用的就是它：`Config` 指定图和权重，并设置设备和线程数；
# `create_predictor` 对图做一次优化；每个 batch 以 NumPy 数组的形式，经预测器的输入、输出句柄传进传出。打开
# oneDNN 时，引擎会换用 oneDNN 的 kernel（还可能把卷积和它后面的 ReLU 融合在一起）。

# %%
def inference_predictor(graph, weights, onednn):
    """A paddle.inference predictor on the CPU, as a function from a NumPy batch to NumPy outputs.
    onednn=False: Paddle's own kernels, with as many threads as this process, for outputs identical to the
    dynamic graph's on Paddle's kernels."""
    config = paddle.inference.Config(graph, weights)
    config.disable_gpu()
    config.disable_glog_info()
    config.set_cpu_math_library_num_threads(math_threads())
    if not onednn:
        config.disable_mkldnn()
    predictor = paddle.inference.create_predictor(config)
    images = predictor.get_input_handle(predictor.get_input_names()[0])
    outputs = predictor.get_output_handle(predictor.get_output_names()[0])

    def predict(batch):
        images.reshape(batch.shape)
        images.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
        predictor.run()
        return outputs.copy_to_cpu()

    return predict


plain, plain_speed = timed(inference_predictor(graph, weights, onednn=False), images)
served, serve_speed = timed(inference_predictor(graph, weights, onednn=True), images)

# %% [markdown] lang="en"
# ## Same outputs, and how fast
# Each form against the dynamic graph: the largest difference in any output and whether every image gets
# the same predicted digit. Paddle's kernels give exactly the same numbers; oneDNN's differ in the last
# bits of float32 (they add in another order), never enough to change a prediction here.

# %% [markdown] lang="zh"
# ## 输出相同吗，速度如何
# 每种形式都与动态图对比：所有输出中最大的差值，以及每张图片的预测数字是否相同。Paddle 自己的 kernel 给出的数
# 完全相同；oneDNN 的结果在 float32 的最后几位上有差异（做加法的顺序不同），但在这里从来不足以改变预测结果。

# %%
print(f"exported to {folder}; outputs on {len(images)} eval images:")
print(f"  {'dynamic graph':22s} {dynamic_speed:8.0f} images/s")
layers = f"dynamic, {'oneDNN' if is_accelerated(model) else 'Paddle'} layers"  # the layers fit() trained
for label, outputs, speed in (("paddle.jit.load", jitted, jit_speed), ("paddle.inference", plain, plain_speed),
                              ("inference + oneDNN", served, serve_speed),
                              (layers, training_layers, training_speed)):
    print(f"  {label:22s} {speed:8.0f} images/s   max |difference| from dynamic {np.abs(outputs - dynamic).max():.2e}"
          f"   same predictions: {np.array_equal(outputs.argmax(1), dynamic.argmax(1))}")

# %% [markdown] lang="en"
# ## Optional: ONNX
# `paddle2onnx` converts the same files to ONNX, the format other runtimes read; `onnxruntime` runs it
# without Paddle at all. Skipped when the two packages are not installed.

# %% [markdown] lang="zh"
# ## 可选：ONNX
# `paddle2onnx` 把同样的文件转换成 ONNX，这是其他推理运行时能读取的格式；`onnxruntime` 运行它时完全不需要
# Paddle。没有安装这两个包时，跳过这一步。

# %%
def onnx_check(graph, weights, images, dynamic):
    try:
        import onnxruntime
        import paddle2onnx
    except ImportError:
        print("  ONNX: skipped (optional: pip install paddle2onnx onnxruntime sympy)")
        return
    path = f"{os.path.dirname(graph)}/model.onnx"
    with atomic_path(path) as tmp:
        paddle2onnx.export(graph, weights, tmp, verbose=False)
    quiet = onnxruntime.SessionOptions()
    quiet.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(path, quiet, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    outputs, speed = timed(lambda batch: session.run(None, {feed: batch})[0], images)
    print(f"  {'onnxruntime':22s} {speed:8.0f} images/s   max |difference| from dynamic {np.abs(outputs - dynamic).max():.2e}")


onnx_check(graph, weights, images, dynamic)
print(f"evaluate the export: python eval.py {folder}")
record(out, linear_first_loss=linear_losses[0], linear_last_loss=linear_last_loss,
       linear_predicts_first_eval=linear_prediction, first_eval_label=eval_labels[0],
       jit_difference=np.abs(jitted - dynamic).max(), inference_difference=np.abs(plain - dynamic).max(),
       onednn_difference=np.abs(served - dynamic).max(),
       training_layers_difference=np.abs(training_layers - dynamic).max(),
       same_predictions=all(np.array_equal(outputs.argmax(1), dynamic.argmax(1))
                            for outputs in (jitted, plain, served, training_layers)))  # for the lab report

# %% [markdown] lang="en"
# ## How this lab differs from the course
# - The linear model: the course decorates its `forward` with `@paddle.jit.to_static` and trains through
#   it for 10 epochs on `paddle.vision`'s MNIST (60,000 training images). Here it trains in dynamic mode
#   for one epoch on the course file's 50,000 training images (the lab's loader, shuffled), and
#   `paddle.jit.to_static(model)` converts it afterwards, leaving the model's code as written. Its test
#   image, the eval split's first, is the course's `test[0]`.
# - The CNN is not in this section of the course: it is the course CNN trained by `digits.training.fit`
#   (2 epochs, Adam 0.001), or a `train.py` run given as `run`. Its `InputSpec` is `[None, 1, 28, 28]`
#   (the linear model's, as the course's: `[None, 784]`).
# - The graph's file: Paddle 3 writes `model.json` (its new intermediate representation, PIR) where the
#   course's Paddle 2 wrote `mnist.pdmodel`; the lab uses whichever `paddle.jit.save` wrote.
# - `paddle.inference` and the ONNX check (optional: `pip install paddle2onnx onnxruntime`) are not in the
#   course: they are how the exported files are served without Paddle's Python training stack.
# - The export folder also gets `export.json` (the model's name, loss and input shape): what `eval.py`
#   reads to evaluate it.

# %% [markdown] lang="zh"
# ## 与课程的不同
# - 线性模型：课程用 `@paddle.jit.to_static` 装饰 `forward`，直接用它在 `paddle.vision` 的 MNIST（60,000 张训练
#   图片）上训练 10 轮。这里在动态图模式下，用课程数据文件的 50,000 张训练图片（本实验的数据加载器，打乱顺序）训练
#   1 轮，训练完再用 `paddle.jit.to_static(model)` 转换，模型的代码保持原样。测试用的图片是测试集的第一张，也就是
#   课程的 `test[0]`。
# - CNN 不在课程的这一节中：它是用 `digits.training.fit` 训练的课程 CNN（2 轮，Adam 0.001），或者由 `run` 指定的
#   一次 `train.py` 训练。它的 `InputSpec` 是 `[None, 1, 28, 28]`（线性模型的与课程相同：`[None, 784]`）。
# - 图文件：Paddle 3 写出的是 `model.json`（它新的中间表示 PIR），课程用的 Paddle 2 写出的是 `mnist.pdmodel`；
#   `paddle.jit.save` 写出哪个，本实验就用哪个。
# - `paddle.inference` 和 ONNX 检查（可选：`pip install paddle2onnx onnxruntime`）不在课程中：它们展示的是，
#   不用 Paddle 的 Python 训练环境，怎样用导出的文件做推理。
# - 导出文件夹里还有一个 `export.json`（模型名、损失函数和输入形状）：`eval.py` 读取它来评估导出的模型。
