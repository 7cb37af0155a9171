"""The maintainer's tools: the lab report (report, with the published numbers it lays ours beside) and the
notebooks built from the labs (notebooks). Students import digits/; these build on it:

    python -m tools.notebooks          # notebooks/en and notebooks/zh from labs/
    python -m tools.report --readme    # the README's generated tables from report/
"""
