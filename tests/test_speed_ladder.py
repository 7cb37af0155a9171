"""Lab 15, the speed ladder, runs in quick mode and shows what it claims: the speed rungs change only the time.
Rung 0's numbers are read from the results.json the lab records (digits.lab.record); rungs 1 to 3, which it does
not record, from its printed ladder."""
import re

import pytest

from conftest import notebook_images, recorded, run_lab, run_script

pytestmark = pytest.mark.full  # the full tier: python -m pytest --full


def test_lab15_speed_ladder(tmp_path, small_datafile):
    out = run_lab("15_speed_ladder.py", tmp_path, small_datafile)
    rungs = re.findall(r"^rung (\d) (.+?)\s+([\d.]+) ± ([\d.]+) s   eval accuracy ([\d.]+ ± [\d.]+)%", out, re.M)
    assert [int(r[0]) for r in rungs] == list(range(7)), out[-3000:]
    accuracy = {int(r[0]): r[4] for r in rungs}
    results = recorded(tmp_path, "lab15")
    course = 100 * results["course_accuracy"]  # rung 0's mean eval accuracy, %
    assert 10 < course <= 100 and 10 < 100 * results["minute_accuracy"] <= 100
    assert 0 < results["fused_seconds"] and 0 < results["course_seconds"] and 0 < results["minute_seconds"]
    # rungs 0 and 1 differ only in the loader, and the two loaders give the same batches from one seed:
    # the same runs, to the last digit; the oneDNN rungs compute the same sums in another order
    assert accuracy[0] == accuracy[1] and abs(float(accuracy[0].split(" ± ")[0]) - course) <= 0.005
    for rung in (2, 3):
        assert abs(float(accuracy[rung].split(" ± ")[0]) - course) < 2.0
    table = next(tmp_path.glob("runs/lab15/*/table.md")).read_text()
    assert table.count("\n| ") == 8 and "Mean ± std over 2 seeds (0, 1) per rung; quick mode" in table
    assert next(tmp_path.glob("runs/lab15/*/ladder.png")).stat().st_size > 1000
    assert sorted(n for n in notebook_images(tmp_path, "15_speed_ladder.py").values() if n) == [1]


def test_lab15_needs_two_seeds_for_a_spread(tmp_path, small_datafile):
    done = run_script(["labs/15_speed_ladder.py", "--seeds", "3"], tmp_path, small_datafile)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: seeds = [3]: give at least two different seeds" in done.stderr
