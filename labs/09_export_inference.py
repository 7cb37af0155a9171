# %% [markdown] lang="en"
# # Lab 09 · 动转静部署: from the dynamic graph to a deployable static one
#
# Course section: 动转静部署 (the course's Lab 10 and §5). Training runs in dynamic mode: Python executes
# each layer as it goes. For deployment the course traces the model once into a static graph
# (`paddle.jit.to_static`), saves it with `paddle.jit.save` and an `InputSpec` whose batch size is `None`
# (any batch size works), and loads it back with `paddle.jit.load`: a `TranslatedLayer` that needs no
# Python model code. This lab writes those calls out, then serves the same files with `paddle.inference`
# (`Config`, `create_predictor`), Paddle's deployment engine, with and without oneDNN. It checks all of
# them against the dynamic graph on 1,000 eval images and measures their speed. `eval.py` accepts the
# export folder too.
#
# The export records Paddle's own conv2d op (the oneDNN training layers of `digits/onednn.py` run only
# in dynamic mode), so the reference is the same weights on Paddle's kernels: `jit.load` and plain
# `paddle.inference` match it exactly; oneDNN kernels (`paddle.inference`'s, or the training layers) add
# in another order, so theirs differ in float32 rounding (about 1e-6 relative).
#
# **Deviations from the course.**
# - The model is the course CNN trained by `digits.training.fit` (2 epochs, Adam 0.001), or a `train.py`
#   run given as `run`, not the course's `Linear(784, 10)` trained for this section; so the `InputSpec`
#   is `[None, 1, 28, 28]` (the course's: `[None, 784]`). The course decorates forward with
#   `@paddle.jit.to_static`; here `paddle.jit.to_static(model)` converts the trained model, which leaves
#   the model's code as written.
# - The graph's file: Paddle 3 writes `model.json` (its new intermediate representation, PIR) where the
#   course's Paddle 2 wrote `mnist.pdmodel`; the lab uses whichever `paddle.jit.save` wrote.
# - `paddle.inference` and the ONNX check (optional: `pip install paddle2onnx onnxruntime`) are not in the
#   course: they are how the exported files are served without Paddle's Python training stack.
# - The export folder also gets `export.json` (the model's name, loss and input shape): what `eval.py`
#   reads to evaluate it.
#
# As a script: `python labs/09_export_inference.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 09 · 动转静部署：从动态图到可部署的静态图
#
# 对应课程章节：【手写数字识别】之动转静部署（课程第 10 节，另见 COURSE.md 的 §5）。训练在动态图模式下进行：
# Python 一层一层地边走边执行。部署时，课程把模型追踪一次，转成静态图（`paddle.jit.to_static`），用
# `paddle.jit.save` 加上一个 batch 大小为 `None` 的 `InputSpec` 保存（任意 batch 大小都能用），再用
# `paddle.jit.load` 加载回来：得到一个 `TranslatedLayer`，不需要模型的 Python 代码。本实验把这些调用写出来，
# 然后用 Paddle 的部署引擎 `paddle.inference`（`Config`、`create_predictor`）加载同样的文件做推理，分别关闭和
# 打开 oneDNN。它在 1,000 张测试图片上把所有这些形式与动态图逐一对比，并测量它们的速度。`eval.py` 也能直接
# 评估导出的文件夹。
#
# 导出的图记录的是 Paddle 自己的 conv2d 算子（`digits/onednn.py` 中用 oneDNN 训练的层只能在动态图模式下运行），
# 所以对照基准是同样的权重在 Paddle 自己的 kernel 上算出的结果：`jit.load` 和普通的 `paddle.inference` 与它
# 完全一致；oneDNN 的 kernel（无论是 `paddle.inference` 里的，还是训练用的层）做加法的顺序不同，所以结果在
# float32 的舍入上有差异（相对误差约 1e-6）。
#
# **与课程的不同。**
# - 模型是用 `digits.training.fit` 训练的课程 CNN（2 轮，Adam 0.001），或者由 `run` 指定的一次 `train.py`
#   训练，而不是课程为这一节训练的 `Linear(784, 10)`；所以 `InputSpec` 是 `[None, 1, 28, 28]`（课程的是
#   `[None, 784]`）。课程用 `@paddle.jit.to_static` 装饰 forward；这里用 `paddle.jit.to_static(model)`
#   转换训练好的模型，模型的代码保持原样。
# - 图文件：Paddle 3 写出的是 `model.json`（它新的中间表示 PIR），课程用的 Paddle 2 写出的是 `mnist.pdmodel`；
#   `paddle.jit.save` 写出哪个，本实验就用哪个。
# - `paddle.inference` 和 ONNX 检查（可选：`pip install paddle2onnx onnxruntime`）不在课程中：它们展示的是，
#   不用 Paddle 的 Python 训练环境，怎样用导出的文件做推理。
# - 导出文件夹里还有一个 `export.json`（模型名、损失函数和输入形状）：`eval.py` 读取它来评估导出的模型。
#
# 作为脚本运行：`python labs/09_export_inference.py`（`--help` 列出所有参数）。

# %%
import os
import time

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from paddle.static import InputSpec
from digits.data import load_course_data
from digits.export import write_meta
from digits.fileio import atomic_path
from digits.lab import lab_setup, record
from digits.onednn import accelerate, is_accelerated, math_threads
from digits.runs import Run, load_weights
from digits.training import TrainConfig, fit, num_outputs
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
# ## The trained model
# A CNN trained here (the live curve shows its loss), or the weights of a `train.py` run. Its conv layers
# run on oneDNN's kernels, which exist only in dynamic mode.

# %% [markdown] lang="zh"
# ## 训练好的模型
# 在这里训练一个 CNN（实时曲线显示它的损失），或者读入一次 `train.py` 训练得到的权重。它的卷积层运行在 oneDNN
# 的 kernel 上，而这些 kernel 只在动态图模式下才有。

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
# The same weights in a model on Paddle's own kernels: what the exported graph computes. Every form
# below runs the same 1,000 eval images in batches of 100; `timed` keeps the best of three passes.

# %% [markdown] lang="zh"
# ## 对照基准：动态图
# 把同样的权重放进一个使用 Paddle 自己 kernel 的模型：它算出的就是导出的图所计算的东西。下面每种形式都在同样的
# 1,000 张测试图片上运行，每批 100 张；`timed` 取三遍中最快的一遍。

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

# %% [markdown] lang="zh"
# ## 1. 动转静，并保存
# `paddle.jit.to_static` 把 `forward` 追踪一次，转成静态图；`InputSpec` 说明这张图接收什么输入：形状为
# `[None, 1, 28, 28]` 的 float32 图片，其中 `None` 表示 batch 大小可变。`paddle.jit.save` 写出图
# （Paddle 3 下是 `model.json`，Paddle 2 下是 `model.pdmodel`）和权重（`model.pdiparams`）。`to_static`
# 就地转换模型：从这里开始，模型以静态图的方式运行。

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
record(out, jit_difference=np.abs(jitted - dynamic).max(), inference_difference=np.abs(plain - dynamic).max(),
       onednn_difference=np.abs(served - dynamic).max(), training_layers_difference=np.abs(training_layers - dynamic).max(),
       same_predictions=all(np.array_equal(outputs.argmax(1), dynamic.argmax(1))
                            for outputs in (jitted, plain, served, training_layers)))  # for the lab report
