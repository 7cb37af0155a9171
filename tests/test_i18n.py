"""Figures in the Chinese edition: translated, drawn with a real Chinese font, or in English with one line
saying how to get a font (never boxes)."""
import os
import shutil
import warnings

import numpy as np
import pytest
from PIL import Image

from digits import i18n
from digits.plots import plot_confusion, plot_curves

APT_LINE = "sudo apt-get install fonts-noto-cjk"


def draw_a_lab_figure(path):
    """A figure as the labs draw them: a live-curve title, a legend, log axes, the library's labels."""
    steps = np.arange(1, 60)
    return plot_curves({"train (mean of the window)": (steps, 2 / steps), "valid": (steps, 3 / steps)}, path,
                       "train loss, MSE regression (mean of the last 50 batches)", logy=True, show_inline=False)


def texts_and_warnings(draw, path):
    """Draw with every warning recorded; return (the warnings' texts, the figure's file as pixels)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw(path)
    return [str(w.message) for w in caught], np.asarray(Image.open(path).convert("L"))


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv(i18n.LANGUAGE_VARIABLE, "zh")
    monkeypatch.setattr(i18n, "_font", {})


def test_a_chinese_figure_uses_a_chinese_font_and_misses_no_glyph(chinese, monkeypatch, tmp_path, capsys):
    if i18n.cjk_font() is None:
        if os.environ.get("CI"):
            pytest.fail(f"no Chinese font on this CI machine: .ci/run installs one ({APT_LINE})")
        pytest.skip(f"no Chinese font installed ({APT_LINE})")
    untranslated = tmp_path / "untranslated.txt"
    monkeypatch.setenv(i18n.UNTRANSLATED_VARIABLE, str(untranslated))
    caught, pixels = texts_and_warnings(draw_a_lab_figure, str(tmp_path / "zh.png"))
    caught += texts_and_warnings(lambda p: plot_confusion(np.eye(10, dtype=int) * 9, p, "eval confusion matrix"),
                                 str(tmp_path / "confusion.png"))[0]
    assert not [w for w in caught if "Glyph" in w or "missing" in w], caught
    assert capsys.readouterr().err == ""  # no font hint: the font is there
    assert not untranslated.exists()  # every English word of these figures has its Chinese
    monkeypatch.setenv(i18n.LANGUAGE_VARIABLE, "en")
    english = texts_and_warnings(draw_a_lab_figure, str(tmp_path / "en.png"))[1]
    assert pixels.shape != english.shape or np.any(pixels != english)  # the Chinese labels were drawn


def test_without_a_chinese_font_the_figure_stays_english_and_says_how_once(chinese, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(i18n, "CJK_FAMILIES", ("No Such Font SC",))  # a machine without any of the usual fonts
    monkeypatch.setattr(i18n, "CJK_FILES", i18n.re.compile("no-such-font-file"))
    monkeypatch.setattr(i18n, "FONT_FOLDERS", ())
    caught, _ = texts_and_warnings(draw_a_lab_figure, str(tmp_path / "a.png"))
    texts_and_warnings(draw_a_lab_figure, str(tmp_path / "b.png"))
    assert not [w for w in caught if "Glyph" in w], caught  # no boxes
    err = capsys.readouterr().err
    assert err == i18n.FONT_HINT + "\n" and APT_LINE in err  # one line, said once
    assert i18n.figure_language() == "en"


def test_a_font_file_the_student_put_in_work_fonts_is_used(chinese, monkeypatch, tmp_path):
    """AI Studio keeps ~/work: a Chinese font copied into ~/work/fonts/, whatever its name, draws the figures."""
    from matplotlib import font_manager
    system = [path for path in font_manager.findSystemFonts() if i18n.CJK_FILES.search(os.path.basename(path))]
    if not system:
        pytest.skip(f"no Chinese font file to copy ({APT_LINE})")
    (tmp_path / "work" / "fonts").mkdir(parents=True)
    shutil.copy(sorted(system)[0], tmp_path / "work" / "fonts" / "my-teachers-font.ttc")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(i18n, "CJK_FAMILIES", ("No Such Font SC",))  # not found by family name ...
    monkeypatch.setattr(i18n, "CJK_FILES", i18n.re.compile("no-such-font-file"))  # ... nor by the usual file names
    assert i18n.cjk_font() and i18n.figure_language() == "zh"


def test_phrases_translate_and_names_stay():
    assert i18n.translate("train loss, MSE regression (mean of the last 50 batches)") == \
        "训练损失，MSE 回归（最近 50 个 batch 的均值）"
    assert i18n.translate("MLP vs CNN as classifiers (cross-entropy, SGD 0.01)") == "MLP 与 CNN 做分类（交叉熵，SGD 0.01）"
    assert i18n.translate("cnn, ce loss") == "cnn, ce 损失"  # a comma after Latin stays Latin
    assert i18n.translate("labels [B, 1]") == "标签 [B, 1]"
    assert i18n.translate("MLP 784-10-10-1, SGD 0.01") == "MLP 784-10-10-1, SGD 0.01"  # nothing to translate
    assert i18n.translate("trained") == "trained"  # whole words only
    assert i18n.english_left("训练损失，MSE 回归，wide_cnn，conv1") == []
    assert i18n.english_left("hidden 训练") == ["hidden"]


@pytest.mark.parametrize("value, lang", [("zh", "zh"), ("zh_CN.UTF-8", "zh"), ("zh-TW", "zh"), ("en", "en"),
                                         ("", "en"), ("fr", "en")])
def test_the_language_variable(monkeypatch, value, lang):
    monkeypatch.setenv(i18n.LANGUAGE_VARIABLE, value)
    assert i18n.language() == lang
