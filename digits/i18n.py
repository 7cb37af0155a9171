"""The figures' language: English, or Chinese (中文) for the Chinese edition.

The language comes from DIGITS_LANG ("zh", "zh_CN", "zh-CN" ... mean Chinese; anything else English), which
the Chinese notebooks set in their setup cell and `train.py --lang zh` / `eval.py --lang zh` set for a run;
the app passes the browser's language explicitly. The lessons' code writes its figure texts in English, as
the course's code does; `localize(fig)` turns them into Chinese when a figure is drawn (digits.plots calls it
for every figure it saves or shows), from the phrase table FIGURE_TEXT below. A Chinese figure needs a font
with Chinese glyphs: the usual ones are looked for (Noto Sans CJK / Source Han Sans, WenQuanYi, SimHei,
Microsoft YaHei, PingFang); with none, the figure stays in English and one line says how to get a font,
rather than drawing empty boxes.
"""
import os
import re
import sys

LANGUAGE_VARIABLE = "DIGITS_LANG"
LANGUAGES = ("en", "zh")
# families with Chinese glyphs, the most common first; matplotlib reads the first face of a .ttc collection,
# which for Debian's fonts-noto-cjk is the Japanese one (it has the Chinese glyphs too)
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans CJK JP",
                "Source Han Sans", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei",
                "PingFang SC", "Heiti SC", "Noto Serif CJK SC", "Noto Serif CJK JP")
# file names of those fonts, for a matplotlib font cache made before the font was installed
CJK_FILES = re.compile(r"(NotoSansCJK|NotoSansSC|SourceHanSans|wqy-|simhei|msyh|PingFang|NotoSerifCJK)", re.I)
# folders where a student may put a Chinese font file of any name (~/work survives AI Studio's restarts)
FONT_FOLDERS = ("~/work/fonts", "~/.fonts")
FONT_HINT = ("no Chinese font found, so figures stay in English (未找到中文字体，图中文字保持英文): install one, e.g. "
             "`sudo apt-get install fonts-noto-cjk` on Debian/Ubuntu, or copy a .ttf/.otf such as SimHei.ttf into "
             "~/work/fonts/ (on AI Studio it survives restarts), then restart Python")
UNTRANSLATED_VARIABLE = "DIGITS_UNTRANSLATED"  # a file: figure texts left with English words are appended to it

_font = {}


def language(lang=None):
    """"zh" or "en": `lang` when given, else DIGITS_LANG's."""
    value = (lang or os.environ.get(LANGUAGE_VARIABLE) or "en").strip().lower()
    return "zh" if value.startswith("zh") else "en"


def set_language(lang):
    """Set the language for this process and the processes it starts (train.py --lang, eval.py --lang)."""
    os.environ[LANGUAGE_VARIABLE] = language(lang)


def add_language_argument(parser, default=None):
    """The --lang flag of train.py and eval.py: the figures' language (their printed lines stay English)."""
    parser.add_argument("--lang", choices=LANGUAGES, default=default,
                        help="language of the figures' titles, axes and legends: en, or zh for Chinese (default: "
                             "DIGITS_LANG, else en); printed output stays English")


def cjk_font():
    """The family name of an installed font with Chinese glyphs, or None. Looked up once per process."""
    if "family" not in _font:
        from matplotlib import font_manager
        # a font matplotlib's cache lists may have been removed since: only files still there count
        known = {entry.name for entry in font_manager.fontManager.ttflist if os.path.exists(entry.fname)}
        family = next((name for name in CJK_FAMILIES if name in known), None)
        if family is None:  # installed after matplotlib cached its font list, or a file the student put in place
            folders = [os.path.expanduser(folder) for folder in FONT_FOLDERS]
            folders = [folder for folder in folders if os.path.isdir(folder)]
            own = font_manager.findSystemFonts(fontpaths=folders) if folders else []  # [] would mean the system's
            for path in sorted(set(own)) + sorted(font_manager.findSystemFonts()):
                if path in own or CJK_FILES.search(os.path.basename(path)):
                    try:
                        font_manager.fontManager.addfont(path)
                        family = font_manager.FontProperties(fname=path).get_name()
                        break
                    except (OSError, RuntimeError, ValueError):
                        continue
        _font["family"] = family
    return _font["family"]


def figure_language(lang=None):
    """The language figures are drawn in: Chinese when asked for and a Chinese font exists, else English
    (saying once, on stderr, how to get a font)."""
    if language(lang) == "en":
        return "en"
    if cjk_font():
        return "zh"
    if not _font.get("warned"):
        _font["warned"] = True
        print(FONT_HINT, file=sys.stderr)
    return "en"


# English phrase -> Chinese, the longest phrases first where one contains another. A phrase matches whole
# words only; "(\d+)"-style groups carry numbers across. Model names, optimizer names, numbers and code stay.
FIGURE_TEXT = [
    # whole titles and labels
    (r"iteration \(batches\)", "迭代次数（batch）"),
    (r"train \(mean of the window\)", "训练（窗口内均值）"),
    (r"train \(mean over the epoch\)", "训练（每轮均值）"),
    (r"train \(mean of (\d+) iterations\)", r"训练（\1 次迭代的均值）"),
    (r"valid \(after each epoch\)", "验证（每轮结束时）"),
    (r"\(mean of the last (\d+) batches\)", r"（最近 \1 个 batch 的均值）"),
    (r"\(mean of (\d+) batches\)", r"（\1 个 batch 的均值）"),
    (r"train samples and labels", "训练样本及其标签"),
    (r"MSE regression", "MSE 回归"),
    (r"MLP vs CNN as classifiers", "MLP 与 CNN 做分类"),
    (r"the sigmoid activation function", "sigmoid 激活函数"),
    (r"regressed value", "回归值"),
    (r"log x \(the course's plot\)", "log x（课程中的图）"),
    (r"-log p, the cross-entropy", "-log p，即交叉熵"),
    (r"cross-entropy of one example", "单个样本的交叉熵"),
    (r"x = p, the probability given to the true digit", "x = p，模型给真实数字的概率"),
    (r"train vs valid loss per setting", "各设置下的训练损失与验证损失"),
    (r"train loss per batch: uninterrupted vs stopped and resumed", "每个 batch 的训练损失：不中断 与 中断后恢复"),
    (r"validation accuracy vs hidden width", "验证集准确率与隐藏层宽度"),
    (r"m, units per hidden layer", "m，每个隐藏层的单元数"),
    (r"training loss of the three regressions", "三个回归的训练损失"),
    (r"polynomial degree vs error", "多项式次数与误差"),
    (r"early stopping: loss per epoch", "提前停止：每轮的损失"),
    (r"best epoch \(restored\)", "最好的一轮（已恢复）"),
    (r"wall time, s \(log scale\)", "耗时，秒（对数坐标）"),
    (r"the speed ladder: each rung's mean ± std over the seeds", "速度阶梯：每一级在各随机种子上的均值 ± 标准差"),
    (r"stopped after epoch (\d+)", r"第 \1 轮后中断"),
    (r"resumed at epoch (\d+)", r"从第 \1 轮恢复"),
    (r"the same input\nas above", "与上面\n相同的输入"),
    (r"centred by mass\nin 28x28", "按质心居中\n放入 28x28"),
    (r"the network's input", "网络的输入"),
    (r"CNN train loss: the course's setting and its two cures", "CNN 的训练损失：课程的设置及其两种解法"),
    (r"course setting", "课程的设置"),
    (r"pixels 0\.\.1", "像素 0..1"),
    (r"course, seed", "课程的设置，随机种子"),
    (r"labels \[B\] \(broadcast to \[B, B\]\)", "标签 [B]（广播成 [B, B]）"),
    (r"labels \[B, 1\]", "标签 [B, 1]"),
    (r"SGD at three learning rates", "SGD 的三种学习率"),
    (r"four optimizers", "四种优化器"),
    (r"one-variable regression", "一元回归"),
    (r"polynomial regression", "多项式回归"),
    (r"truth x\^3 - x", "真实值 x^3 - x"),
    (r"no regulariser", "不加正则化"),
    (r"seed (\d+)", r"随机种子 \1"),
    (r"warm-up", "学习率预热"),
    (r"warmup", "学习率预热"),
    (r"constant", "恒定学习率"),
    (r"none", "无"),
    (r"(\d+) channels, (\d+)x(\d+) \(after ReLU\)", r"\1 个通道，\2x\3（ReLU 之后）"),
    (r"training mean of (\d)", r"训练集中 \1 的平均图像"),
    (r"you meant (\d)", r"你想写的是 \1"),
    (r"answer (\d)", r"预测为 \1"),
    (r"as given", "原图"),
    (r"eval confusion matrix", "测试集的混淆矩阵"),
    (r"valid confusion matrix", "验证集的混淆矩阵"),
    (r"confusion matrix", "混淆矩阵"),
    (r"label shape", "标签形状"),
    (r"one variable", "一元"),
    (r"three variables", "三元"),
    (r"truth 2x\+1", "真实值 2x+1"),
    (r"hidden (\S+?):", r"隐藏层 \1："),
    (r"the course's program, one epoch", "课程的程序，训练一轮"),
    (r"\+ cached arrays, sliced batches", "+ 缓存为数组，batch 取切片"),
    (r"\+ oneDNN convolutions", "+ oneDNN 的卷积"),
    (r"\+ fused conv-relu-pool stages", "+ 融合的卷积-ReLU-池化阶段"),
    (r"\+ four epochs", "+ 训练四轮"),
    (r"\+ one-cycle schedule, peak ([\d.]+)", r"+ 单周期学习率策略，峰值 \1"),
    (r"\+ shifts of up to 1 pixel", "+ 随机平移最多 1 个像素"),
    # the words left
    (r"cross-entropy loss", "交叉熵损失"),
    (r"cross-entropy", "交叉熵"),
    (r"validation accuracy", "验证集准确率"),
    (r"valid accuracy", "验证集准确率"),
    (r"eval accuracy", "测试集准确率"),
    (r"train loss", "训练损失"),
    (r"valid loss", "验证损失"),
    (r"uninterrupted", "不中断"),
    (r"stopped and resumed", "中断后恢复"),
    (r"as classifiers", "做分类"),
    (r"polynomial", "多项式"),
    (r"grayscale", "灰度"),
    (r"inverted", "反色"),
    (r"cropped to the ink", "裁到笔迹"),
    (r"fitted into 20x20", "缩放进 20x20"),
    (r"centred by mass", "按质心居中"),
    (r"normalised", "归一化"),
    (r"predicted", "预测"),
    (r"true", "真实"),
    (r"accuracy", "准确率"),
    (r"training", "训练"),
    (r"train", "训练"),
    (r"valid", "验证"),
    (r"eval", "测试"),
    (r"test", "测试"),
    (r"loss", "损失"),
    (r"epoch", "轮"),
    (r"step", "步"),
    (r"degree", "次数"),
    (r"fit", "拟合"),
    (r"decay", "衰减"),
    (r"vs", "与"),
    (r"rung", "级"),
]
_PATTERNS = [(re.compile(r"(?<![\w-])" + english + r"(?![\w-])"), chinese) for english, chinese in FIGURE_TEXT]
# English words allowed to stay in a Chinese figure: names of models, layers, optimizers and losses, as code spells them
KEPT_WORDS = {"MLP", "CNN", "SGD", "Adam", "Momentum", "Adagrad", "MSE", "ReLU", "TwoLayerNet", "NumPy", "Paddle",
              "Linear", "softmax", "sigmoid", "oneDNN", "Dropout", "dropout", "batch", "lr", "log", "conv", "std",
              "cnn", "mlp", "linear", "fast_cnn", "wide_cnn", "sigmoid_mlp", "ce", "mse", "sgd", "adam", "momentum",
              "adagrad", "sigmoid_ce", "companion_fnn", "k", "m", "x", "y", "p", "L1", "L2", "conv1", "conv2", "paddle", "numpy", "MNIST"}


def translate(text):
    """`text` in Chinese, phrase by phrase (FIGURE_TEXT); what no phrase covers stays as it was."""
    for pattern, chinese in _PATTERNS:
        text = pattern.sub(chinese, text)
    if re.search(r"[\u4e00-\u9fff]", text):  # Chinese punctuation in a Chinese sentence
        text = re.sub(r"(?<=[\u4e00-\u9fff）]), ", "，", text)  # after Chinese only: [B, 1] keeps its comma
        text = re.sub(r"(?<=[\u4e00-\u9fff）\w]):(?= |\n)", "：", text).replace("： ", "：")
        text = re.sub(r"\s*\(([^()]*[\u4e00-\u9fff][^()]*)\)", r"（\1）", text)  # (Chinese words), not Linear(784, 1)
        text = re.sub(r"\s*（", "（", text)
    return text


def english_left(text):
    """The English words of a translated text that are not names kept as code spells them (or file names)."""
    text = re.sub(r"\S+\.(png|jpe?g|gif|bmp|tiff?|webp)\b", "", text, flags=re.I)
    text = re.sub(r"\d+(\.\d+)?e[-+]?\d+", "", text)  # 1e-05
    return [word for word in re.findall(r"[A-Za-z][A-Za-z_]*[A-Za-z0-9_]*", text)
            if word not in KEPT_WORDS and not re.fullmatch(r"[a-z]+\d+|[A-Z]\d*", word)]


def localize(fig, lang=None):
    """Draw a matplotlib figure in the figure language (figure_language): its titles, axis labels, legends and
    texts translated, a Chinese font put first. Returns the figure."""
    if figure_language(lang) != "zh":
        return fig
    import matplotlib
    family = cjk_font()
    sans = matplotlib.rcParams["font.sans-serif"]
    if not sans or sans[0] != family:
        matplotlib.rcParams["font.sans-serif"] = [family] + [name for name in sans if name != family]
    matplotlib.rcParams["axes.unicode_minus"] = False  # not every Chinese font has the minus sign U+2212
    from matplotlib.text import Text
    left = []
    for artist in fig.findobj(Text):
        text = artist.get_text()
        if text and "$" not in text and re.search(r"[A-Za-z]", text):  # mathtext ($10^{0}$) is left alone
            translated = translate(text)
            artist.set_text(translated)
            left += [translated] if english_left(translated) else []
    report = os.environ.get(UNTRANSLATED_VARIABLE)
    if report and left:
        with open(report, "a", encoding="utf-8") as f:
            f.write("".join(f"{text!r}\n" for text in left))
    return fig
