"""Data-layer benchmark: loading the three splits and batching one shuffled epoch, against the course.

    python bench/bench_data.py              # needs work/mnist.json.gz (python -m digits.prepare builds it)
    python bench/bench_data.py --skip-course

Each measurement runs in a fresh process, so its peak RSS is that process's own. Targets: warm load
of all three splits <= 0.3 s and <= 300 MB peak RSS; one shuffled 50k epoch of batching <= 0.03 s.
The first (cold) load, which parses the JSON, is bench/bench_cold_load.py's subject.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


def measure(kind, datafile, repeats):
    """Run in a child process: print one JSON line with seconds and peak RSS."""
    started = time.perf_counter()
    if kind in ("cold", "warm"):
        from digits.data import load_course_data
        data = load_course_data(datafile)
        seconds = time.perf_counter() - started
        assert sum(len(data[m][0]) for m in ("train", "valid", "eval")) > 0
        result = {"load_s": seconds}
    elif kind == "epoch":
        from digits.data import load_data
        loader = load_data("train", 100, datafile=datafile)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in loader():
                pass
            times.append(time.perf_counter() - started)
        result = {"epoch_s": statistics.median(times)}
    else:  # the course: parse the JSON for each of the three modes, then one train epoch of its generator
        from digits.courseloader import load_data as course_load_data
        loaders = [course_load_data(mode, datafile) for mode in ("train", "valid", "eval")]
        result = {"load_s": time.perf_counter() - started}
        started = time.perf_counter()
        for _ in loaders[0]():
            pass
        result["epoch_s"] = time.perf_counter() - started
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def child(kind, datafile, repeats=1):
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--data", datafile, "--repeats", str(repeats)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(os.path.dirname(HERE), "work", "mnist.json.gz"))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip-course", action="store_true", help="skip the course loader (15 s, 2.8 GB)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return measure(args.child, args.data, args.repeats)
    if not os.path.exists(args.data):
        sys.exit(f"error: {args.data} not found: build it with `python -m digits.prepare --source DIR`")

    child("warm", args.data)  # makes sure the cache exists
    loads = [child("warm", args.data) for _ in range(args.repeats)]
    warm_s = statistics.median(r["load_s"] for r in loads)
    warm_rss = max(r["peak_rss_mb"] for r in loads)
    epoch = child("epoch", args.data, args.repeats)
    print(f"warm load, all three splits : {warm_s:7.3f} s   (target <= 0.3 s)   median of {args.repeats} processes")
    print(f"peak RSS of that process    : {warm_rss:7.0f} MB  (target <= 300 MB)")
    print(f"one shuffled 50k epoch      : {epoch['epoch_s']:7.4f} s   (target <= 0.03 s)  median of {args.repeats}")
    if not args.skip_course:
        course = child("course", args.data)
        print(f"course loader, 3 modes      : {course['load_s']:7.2f} s, {course['peak_rss_mb']:.0f} MB peak RSS"
              f"  -> {course['load_s'] / warm_s:.0f}x slower to load")
        print(f"course generator, one epoch : {course['epoch_s']:7.2f} s   -> {course['epoch_s'] / epoch['epoch_s']:.0f}x slower")


if __name__ == "__main__":
    main()
