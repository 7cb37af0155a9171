"""The lab report: run the labs, keep each one's numbers, figures and wall time, and write them up.

    python -m tools.report                  # every lab not yet in report/, in full (hours on 2 cores)
    python -m tools.report --quick          # every lab for one epoch on the data it finds (runs/report-quick/)
    python -m tools.report --labs 02 14a    # only these labs (a prefix of the file name is enough)
    python -m tools.report --again          # run the chosen labs even where a result is already there
    python -m tools.report --readme         # write the README's lab tables from the report; runs nothing

Each lab runs as a script (`python labs/<lab>.py`, `--quick` in quick mode) in its own process, with
LAB_RUN_FOLDER telling it where to write. What it keeps with `digits.lab.record` (results.json), its
figures (made smaller), its printed output (log.txt) and a meta.json (wall time, exit code, machine,
versions, date) go to <report>/<lab>/, and <report>/README.md lays them out beside the numbers the
course published (tools/published.py). A lab that fails keeps its log in <report>/<lab>.failed/ and
leaves the previous result, if any, in place; a lab already done in the same mode is skipped (--again
runs it anew), so an interrupted report continues where it stopped.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time

from digits import PROJECT_ROOT
from digits.errors import UserError, run_main
from digits.fileio import write_text
from digits.lab import RUN_FOLDER
from .published import LABS, SOURCES_ZH, format_number

FULL_REPORT = os.path.join(PROJECT_ROOT, "report")
QUICK_REPORT = os.path.join(PROJECT_ROOT, "runs", "report-quick")
README = os.path.join(PROJECT_ROOT, "README.md")
README_ZH = os.path.join(PROJECT_ROOT, "README.zh-CN.md")
FIGURE_WIDTH = 900  # pixels: wide enough to read a loss curve, small enough to commit a few dozen
TRACKS = {"course": "the course's labs", "numpy": "the from-scratch NumPy track", "speed": "the speed ladder"}


def choose(prefixes):
    """The catalogue's labs named by these prefixes (all of them for none), in the course's order."""
    if not prefixes:
        return list(LABS)
    chosen = []
    for prefix in prefixes:
        found = [lab for lab in LABS if lab.name.startswith(prefix)]
        exact = [lab for lab in found if lab.name.split("_")[0] == prefix]
        found = exact or found
        if len(found) != 1:
            names = ", ".join(lab.name for lab in found) or ", ".join(lab.name.split("_")[0] for lab in LABS)
            raise UserError(f"--labs {prefix}: {'matches ' + names if found else 'no such lab; choose from ' + names}")
        chosen += found
    return [lab for lab in LABS if lab in chosen]


def machine():
    """What the numbers were measured on: the processor, its vector units, cores, and the versions."""
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    cpu = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    vectors = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    import numpy
    import paddle
    return {"cpu": cpu, "vectors": vectors, "cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "paddle": paddle.__version__, "numpy": numpy.__version__, "system": platform.platform(terse=True)}


def describe(m, lang="en"):
    if lang == "zh":
        return f"{m['cpu']}（{m['vectors']}），{m['cores']} 核；Python {m['python']}，Paddle {m['paddle']}，NumPy {m['numpy']}"
    return (f"{m['cpu']} ({m['vectors']}), {m['cores']} cores; Python {m['python']}, Paddle {m['paddle']}, "
            f"NumPy {m['numpy']}")


def done(report, lab, quick):
    """The lab's kept result when it finished in this mode, else None."""
    meta = read_json(os.path.join(report, lab.name, "meta.json"))
    return meta if meta and meta.get("quick") == quick and meta.get("exit_code") == 0 else None


def run_lab(report, lab, quick, this_machine):
    """Run one lab as a script into <report>/<lab>.running/, then keep it as <report>/<lab>/ (or <lab>.failed/)."""
    running = os.path.join(report, lab.name + ".running")
    shutil.rmtree(running, ignore_errors=True)
    os.makedirs(running)
    command = [sys.executable, os.path.join(PROJECT_ROOT, "labs", lab.name + ".py")] + (["--quick"] if quick else [])
    print(f"{lab.name}: running {' '.join(os.path.relpath(c, PROJECT_ROOT) if c.startswith(PROJECT_ROOT) else c for c in command[1:])}",
          flush=True)
    started = time.perf_counter()
    with open(os.path.join(running, "log.txt"), "w", encoding="utf-8") as log:
        env = {**os.environ, RUN_FOLDER: running,  # the lab finds the project, installed or not
               "PYTHONPATH": os.pathsep.join(filter(None, [PROJECT_ROOT, os.environ.get("PYTHONPATH")]))}
        status = subprocess.run(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=die_with_parent).returncode
    seconds = time.perf_counter() - started
    meta = {"lab": lab.name, "quick": quick, "exit_code": status, "seconds": round(seconds, 1),
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": this_machine}
    results = read_json(os.path.join(running, "results.json"))
    missing = [n.key for n in lab.numbers if n.key not in (results or {})]
    if status == 0 and missing:
        status = meta["exit_code"] = "recorded no " + ", ".join(missing)
    write_json(os.path.join(running, "meta.json"), meta)
    if status != 0:
        failed = os.path.join(report, lab.name + ".failed")
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(running, failed)
        tail = open(os.path.join(failed, "log.txt"), encoding="utf-8", errors="replace").read().strip().splitlines()[-1:]
        print(f"{lab.name}: FAILED ({status}) after {seconds:.0f} s: {' '.join(tail)}; log in {failed}/log.txt")
        return False
    keep(running, os.path.join(report, lab.name))
    print(f"{lab.name}: {seconds:.0f} s; {lab.show(results)}")
    return True


def die_with_parent():
    """In the lab's process, before it starts: ask Linux to kill it when the report dies (even by kill -9), so no
    orphaned lab races a rerun of the report. Elsewhere nothing is asked."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def keep(running, final):
    """Keep what the report needs of a finished lab's folder: its numbers, log, table and figures, smaller."""
    from PIL import Image
    kept = final + ".new"
    shutil.rmtree(kept, ignore_errors=True)
    os.makedirs(kept)
    for name in sorted(os.listdir(running)):
        path = os.path.join(running, name)
        if name.endswith((".json", ".txt", ".md")):
            shutil.copy(path, kept)
        elif name.endswith(".png"):
            with Image.open(path) as image:
                image = image.convert("RGB")
                if image.width > FIGURE_WIDTH:
                    image = image.resize((FIGURE_WIDTH, round(image.height * FIGURE_WIDTH / image.width)), Image.LANCZOS)
                # octree keeps a line's colour; median cut merged tab10's blue and orange into greys and reds
                image.quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(os.path.join(kept, name), optimize=True)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(kept, final)
    shutil.rmtree(running, ignore_errors=True)
    shutil.rmtree(final + ".failed", ignore_errors=True)


# ---------------------------------------------------------------- writing it up

def collected(report):
    """(lab, results, meta) for each catalogued lab that has a kept result in the report folder."""
    found = []
    for lab in LABS:
        meta = read_json(os.path.join(report, lab.name, "meta.json"))
        if meta:
            found.append((lab, read_json(os.path.join(report, lab.name, "results.json")) or {}, meta))
    return found


def minutes(seconds):
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


HEADINGS = {
    "en": ("lab", {"course": "course section", "numpy": "after"}, "section", "what it shows", "result", "published",
           "time"),
    "zh": ("实验", {"course": "课程章节", "numpy": "对应内容"}, "章节", "内容", "结果", "公布的数字", "用时"),
}


def lab_table(entries, track, link="", lang="en"):
    """The markdown table of one track: lab, course section, what it shows, the numbers, the published ones, time.
    A catalogued lab not in the report yet keeps its row, saying how to add it. lang "zh": README.zh-CN.md's."""
    kept = {lab.name: (results, meta) for lab, results, meta in entries}
    lab_heading, sections, section, shows, result_heading, published_heading, time_heading = HEADINGS[lang]
    rows = [f"| {lab_heading} | {sections.get(track, section)} | {shows} | {result_heading} | {published_heading} | "
            f"{time_heading} |", "| --- | --- | --- | --- | --- | --- |"]
    for lab in LABS:
        if lab.track != track:
            continue
        source = lab.source if lang == "en" else SOURCES_ZH[lab.source]
        published = "not published" if lang == "en" else "未公布"
        if lab.published():
            published = f"{source}: {lab.published()}" if lang == "en" else f"{source}：{lab.published(lang)}"
        command = f"`python -m tools.report --labs {lab.name.split('_')[0]}`"
        if lab.name in kept:
            results, meta = kept[lab.name]
            quick = (" (quick: 1 epoch)" if lang == "en" else "（快速模式：1 轮）") if meta["quick"] else ""
            result, time_taken = lab.show(results, lang) + quick, minutes(meta["seconds"])
        else:
            result = f"not in the report yet: {command}" if lang == "en" else f"尚未运行：{command}"
            time_taken = ""
        described = (lab.section, lab.shows) if lang == "en" else (lab.section_zh or lab.section, lab.shows_zh)
        rows.append(f"| [`{lab.name}.py`]({link}labs/{lab.name}.py) | {described[0]} | {described[1]} | {result} | "
                    f"{published} | {time_taken} |")
    return "\n".join(rows)


def machines_line(entries, lang="en"):
    seen = []
    for _, _, meta in entries:
        text = describe(meta["machine"], lang)
        if text not in seen:
            seen.append(text)
    dates = sorted(meta["date"][:10] for _, _, meta in entries)
    when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    if lang == "zh":
        return f"测于 {when}，" + "；以及 ".join(seen)
    return f"measured {when} on " + "; and on ".join(seen)


def write_report(report):
    """<report>/README.md: a summary table per track, then each lab's numbers beside the published ones and its figures."""
    entries = collected(report)
    if not entries:
        raise UserError(f"{report} holds no lab results yet: run `python -m tools.report` first")
    total = sum(meta["seconds"] for _, _, meta in entries)
    lines = ["# Lab report", "",
             f"Written by `python -m tools.report`: {len(entries)} of {len(LABS)} labs, {machines_line(entries)}. "
             f"The labs' wall time adds up to {minutes(total)}.", ""]
    missing = [lab.name for lab in LABS if lab not in [e[0] for e in entries]]
    if missing:
        lines += [f"Not in this report yet: {', '.join(missing)} (`python -m tools.report` runs them).", ""]
    for track, title in TRACKS.items():
        if any(lab.track == track for lab, _, _ in entries):
            lines += [f"## {title[0].upper() + title[1:]}", "", lab_table(entries, track, "../"), ""]
    for lab, results, meta in entries:
        folder = os.path.join(report, lab.name)
        lines += [f"## {lab.name}: {lab.section}", "", lab.shows + ".", "",
                  f"{'Quick mode (one epoch). ' if meta['quick'] else ''}{minutes(meta['seconds'])} wall, {meta['date']}, "
                  f"{describe(meta['machine'])}; output: [log.txt]({lab.name}/log.txt).", "",
                  f"| number | this run | {lab.source} |", "| --- | --- | --- |"]
        lines += [f"| {n.label} | {format_number(n, results[n.key]) if n.key in results else '-'} | "
                  f"{n.published or 'not published'} |"
                  for n in lab.numbers]
        table = os.path.join(folder, "table.md")
        if os.path.exists(table):
            lines += ["", open(table, encoding="utf-8").read().strip()]
        study = os.path.join(report, "studies", lab.name + ".md")  # a bench's study of the lab's question
        if os.path.exists(study):
            lines += ["", open(study, encoding="utf-8").read().strip()]
        for figure in sorted(f for f in os.listdir(folder) if f.endswith(".png")):
            lines += ["", f"![{figure}]({lab.name}/{figure})"]
        lines.append("")
    write_text(os.path.join(report, "README.md"), "\n".join(lines))
    return os.path.join(report, "README.md")


def readme_blocks(report, lang="en"):
    """{marker: generated markdown} for the generated blocks of README.md (lang "en") or README.zh-CN.md ("zh")."""
    entries = collected(report)
    relative = os.path.relpath(report, PROJECT_ROOT)
    blocks = {f"labs-{track}": lab_table(entries, track, lang=lang) for track in ("course", "numpy")}
    if entries and lang == "en":
        blocks["labs-machine"] = (f"Generated from [`{relative}/`]({relative}/README.md) by `python -m tools.report "
                                  f"--readme`; {machines_line(entries)}.")
    elif entries:
        blocks["labs-machine"] = (f"由 `python -m tools.report --readme` 根据 [`{relative}/`]({relative}/README.md) "
                                  f"生成；{machines_line(entries, 'zh')}。")
    else:
        blocks["labs-machine"] = ""
    ladder = [(meta, os.path.join(report, lab.name, "table.md")) for lab, _, meta in entries if lab.track == "speed"]
    if ladder and os.path.exists(ladder[0][1]):
        meta, table = ladder[0]
        measured = (f" Measured {meta['date'][:10]} on {describe(meta['machine'])}; the lab took "
                    f"{minutes(meta['seconds'])}." if lang == "en" else
                    f" 测于 {meta['date'][:10]}，{describe(meta['machine'], 'zh')}；本实验用时 {minutes(meta['seconds'])}。")
        ladder_table = open(table, encoding="utf-8").read().strip()
        if lang == "zh":
            for english, chinese in LADDER_ZH:
                ladder_table = ladder_table.replace(english, chinese)
        blocks["speed-ladder"] = ladder_table + measured
    blocks["shipped-model"] = shipped_block(lang)
    return blocks


READMES = {"en": README, "zh": README_ZH}
# lab 15's table (report/15_speed_ladder/table.md) in README.zh-CN.md's words
LADDER_ZH = (("| rung | change | epochs | time, s | speed-up | eval accuracy, % |",
              "| 级 | 改动 | 轮数 | 用时，秒 | 加速比 | 测试集准确率，% |"),
             ("the course's program, one epoch", "课程的程序，1 轮"),
             ("+ cached arrays, sliced batches", "+ 缓存的数组，切片取 batch"),
             ("+ oneDNN convolutions", "+ oneDNN 卷积"),
             ("+ fused conv-relu-pool stages", "+ 融合的卷积-ReLU-池化阶段"),
             ("+ four epochs", "+ 训练 4 轮"),
             ("+ one-cycle schedule, peak 0.005", "+ one-cycle 学习率策略，峰值 0.005"),
             ("+ shifts of up to 1 pixel", "+ 最多 1 像素的平移"),
             ("Mean ± std over 3 seeds (0, 1, 2) per rung.", "每一级在 3 个随机种子（0、1、2）上的均值 ± 标准差。"))
SHIPPED_CARD = os.path.join(PROJECT_ROOT, "pretrained", "robust", "card.json")


def shipped_block(lang, card_path=SHIPPED_CARD):
    """The README's table of the model that comes with the project, from its card (pretrained/build.py)."""
    card = read_json(card_path)
    if not card:
        return ""
    measured = card["measured"]
    weakest = sorted(range(10), key=lambda d: measured["uci_per_digit"][d])[:3]
    shown = ", ".join(f"{d}: {100 * measured['uci_per_digit'][d]:.0f}%" for d in weakest)
    command = f"`python train.py {' '.join(card['recipe'])}`"
    if lang == "zh":
        rows = ["| 模型 | MNIST 测试集（10,000 张） | UCI 手写数字拍成照片（1,797 张） | 最弱的 UCI 数字 | 训练 |",
                "| --- | --- | --- | --- | --- |",
                f"| `pretrained/robust`（{command}） | {100 * measured['mnist_eval']:.2f}% | "
                f"**{100 * measured['uci_photos']:.2f}%** | {shown} | {card['training_minutes']:.0f} 分钟，"
                f"{card['machine']} |"]
    else:
        rows = ["| model | MNIST eval (10,000 test digits) | UCI digits as photos (1,797) | weakest UCI digits | training |",
                "| --- | --- | --- | --- | --- |",
                f"| `pretrained/robust` ({command}) | {100 * measured['mnist_eval']:.2f}% | "
                f"**{100 * measured['uci_photos']:.2f}%** | {shown} | {card['training_minutes']:.0f} min on "
                f"{card['machine']} |"]
    return "\n".join(rows)


def update_readme(report, readme=None, lang="en"):
    """Replace each `<!-- begin NAME -->...<!-- end NAME -->` block of the README (README.zh-CN.md for lang "zh")
    by its generated text."""
    readme = readme or READMES[lang]
    text = open(readme, encoding="utf-8").read()
    for name, block in readme_blocks(report, lang).items():
        begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
        if begin not in text or end not in text:
            raise UserError(f"{readme} has no {begin} ... {end} block for the generated {name} text")
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + block + "\n" + end + rest.split(end, 1)[1]
    write_text(readme, text)
    return readme


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, values):
    write_text(path, json.dumps(values, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="each lab in quick mode (one epoch: a smoke test)")
    parser.add_argument("--labs", nargs="+", metavar="LAB", help="only these labs (e.g. 02 11b; default: all)")
    parser.add_argument("--again", action="store_true", help="run the chosen labs even where their result is there")
    parser.add_argument("--out", help="the report folder (default: report/, in quick mode runs/report-quick/)")
    parser.add_argument("--readme", action="store_true", help="write the README's lab tables from the report and stop")
    args = parser.parse_args()
    report = os.path.abspath(args.out or (QUICK_REPORT if args.quick else FULL_REPORT))
    if args.readme:
        if not collected(report):  # writing empty tables would wipe the README's
            raise UserError(f"{report} holds no lab results: --readme writes the README's tables from a report; "
                            f"run `python -m tools.report` first (or pass --out the report folder)")
        for lang in READMES:
            print(f"wrote {update_readme(report, lang=lang)} from {report}")
        return
    os.makedirs(report, exist_ok=True)
    chosen, this_machine, failures = choose(args.labs), machine(), []
    print(f"{'quick' if args.quick else 'full'} report in {report}; {describe(this_machine)}")
    for lab in chosen:
        if not args.again and done(report, lab, args.quick):
            print(f"{lab.name}: already in the report (--again runs it anew)")
            continue
        if not run_lab(report, lab, args.quick, this_machine):
            failures.append(lab.name)
    print(f"wrote {write_report(report)}")
    if failures:
        raise UserError(f"{len(failures)} lab(s) failed: {', '.join(failures)} (their logs are in {report}/<lab>.failed/)")


if __name__ == "__main__":
    run_main(main)
