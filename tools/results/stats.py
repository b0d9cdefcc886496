"""Mean ± standard error over seeds, for the results summaries."""
import math
import os
import re


def mean_se(values):
    """Mean and standard error of the mean (nan where there are too few values)."""
    if not values:
        return float("nan"), float("nan")
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var / len(values))


def cell(values, unit=""):
    """A table cell: "mean ± s.e." with `unit`, the mean alone for one value, "–" for none."""
    if not values:
        return "–"
    mean, se = mean_se(values)
    return f"{mean:.1f}{unit}" if math.isnan(se) else f"{mean:.1f} ± {se:.1f}{unit}"


def seeds_in(folder, run_pattern):
    """Every seed with a run folder in `folder`, ascending: seed 0's runs match
    `run_pattern` (a regular expression), seed N's the same with "-sN" after it."""
    found = set()
    for name in os.listdir(folder):
        m = re.fullmatch(f"{run_pattern}(?:-s(\\d+))?", name)
        if m and os.path.isdir(os.path.join(folder, name)):
            found.add(int(m.group(1) or 0))
    return sorted(found)
