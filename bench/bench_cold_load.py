"""Cold-start benchmark: the first load of the course file, before and after the streaming reader, and the
first run's build from the IDX folder, before and after prepare writes the array cache.

    python bench/bench_cold_load.py                      # needs work/mnist.json.gz and the IDX folder
    python bench/bench_cold_load.py --repeats 3 --skip-before

Every measurement runs in a fresh process on a fresh copy of the file in a temporary folder, with
XDG_CACHE_HOME there too, so no earlier cache is found ("cold" means no array cache; the file itself
is in the page cache). Peak memory is the child's own max RSS. "before" is the code path as it was:
json.load for a parse, and a build that writes no cache (the bench switches the new parts off in its
child process). Targets: a cold load <= 4 s and <= 600 MB on a two-core machine.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def measure(kind, path, source):
    """In the child: do one `kind` of work on `path`, print one JSON line with seconds and peak RSS."""
    from digits import data, prepare
    if kind.endswith("-before"):  # the old paths: json.load for every parse, no cache from prepare
        data.read_course_json = lambda _path: None
        data.cache_course_arrays = lambda *args: None
    started = time.perf_counter()
    if kind.startswith("load"):
        loaded = data.load_course_data(path)
        assert [len(loaded[m][0]) for m in data.MODES] == [50000, 10000, 10000], "not the full course file"
    else:
        prepare.prepare(path, source)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"s": seconds, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}))


def child(kind, path, source, folder):
    env = {**os.environ, "XDG_CACHE_HOME": os.path.join(folder, "user-cache")}
    env.pop("MNIST_JSON", None)
    done = subprocess.run([sys.executable, __file__, "--child", kind, "--data", path, "--source", source],
                          capture_output=True, text=True, env=env, cwd=folder)
    if done.returncode:
        sys.exit(f"error: the {kind} child failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fresh_copy(datafile, folder, name):
    """A copy of the course file in its own new folder: no cache beside it, none in the user cache."""
    os.makedirs(os.path.join(folder, name))
    return shutil.copy(datafile, os.path.join(folder, name, "mnist.json.gz"))


def median(runs):
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(ROOT, "work", "mnist.json.gz"))
    parser.add_argument("--source", default=os.environ.get("MNIST_SOURCE") or
                        os.path.join(ROOT, "..", "shared", "data", "mnist"), help="the four MNIST IDX .gz files")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each new-path measurement (median)")
    parser.add_argument("--skip-before", action="store_true", help="skip the old paths (json.load: ~15 s, 2.6 GB)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return measure(args.child, args.data, args.source)
    if not os.path.exists(args.data):
        sys.exit(f"error: {args.data} not found: build it with `python -m digits.prepare --source DIR`")

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as folder:
        count = iter(range(1 << 30))

        def new_folder():
            path = os.path.join(folder, str(next(count)))
            os.makedirs(path)
            return path

        def copy():  # the course file alone in a new folder: no cache beside it or in the user cache
            return shutil.copy(args.data, os.path.join(new_folder(), "mnist.json.gz"))

        def run(kind, path):
            return child(kind, path, args.source, folder)

        cold, hit, build, first = [], [], [], []
        for _ in range(args.repeats):
            path = copy()
            cold.append(run("load", path))
            hit.append(run("load", path))  # its cache is there now
            path = os.path.join(new_folder(), "mnist.json.gz")
            build.append(run("build", path))
            first.append(run("load", path))
        after = [median(cold), median(hit), median(build), median(first)]
        if args.skip_before:
            before = [None] * 4
        else:
            path = copy()
            cold_before = run("load-before", path)
            hit_before = run("load-before", path)
            path = os.path.join(new_folder(), "mnist.json.gz")
            before = [cold_before, hit_before, run("build-before", path), run("load-before", path)]

    def cell(result):
        if not result:
            return f"{'(skipped)':>27s}"
        return f"{result['s']:7.2f} s {result['cpu_s']:6.2f} s {result['peak_mb']:6.0f} MB"

    print(f"{args.data}: {os.path.getsize(args.data) / 1e6:.1f} MB; each cell one fresh process "
          f"({'median of ' + str(args.repeats) if args.repeats > 1 else 'one run'} after, one run before)")
    print(f"{'':42s}{'before':^29s}  {'after':^29s}")
    print(f"{'':42s}" + f"{'wall':>9s} {'cpu':>8s} {'peak RSS':>9s}  " * 2)
    names = ["cold load, no cache (json.load | reader)", "cache-hit load",
             "build from the IDX folder (prepare)", "first load after it (parse | cache)"]
    for name, old, new in zip(names, before, after):
        print(f"{name:42s}{cell(old)}  {cell(new)}")
    first_run = [f"{b['s'] + f['s']:7.2f} s" if b else f"{'(skipped)':>9s}" for b, f in
                 ((before[2], before[3]), (after[2], after[3]))]
    print(f"{'build + first load':42s}{first_run[0]:27s}  {first_run[1]}")
    print(f"load average (1 min) {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
          f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
