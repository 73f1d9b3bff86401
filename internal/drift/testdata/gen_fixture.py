"""Computes the drift fixture with numpy, independently of the Go code.

Run here with Debian's python3-numpy: /usr/bin/python3 gen_fixture.py
It reads the heart-failure training data (internal/model/testdata) and
served.csv (a made-up served sample, seeded below), and writes fixture.json:
per feature, the reference (deciles by np.quantile's default linear method,
each kept when below the largest value and the bin it closes holds a training
value; shares of the training rows in bins closed on the right) and the PSI of served.csv against it, with
empty shares taken as 1e-4.
"""
import csv
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = os.path.join(HERE, "..", "..", "model", "testdata", "heart_failure_clinical_records_dataset.csv")
FEATURES = ["age", "creatinine_phosphokinase", "ejection_fraction", "platelets",
            "serum_creatinine", "serum_sodium", "sex", "high_blood_pressure"]
EPSILON = 1e-4


def columns(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {name: np.array([float(r[name]) for r in rows if r[name] != ""]) for name in FEATURES}


def write_served(train):
    # Older, sicker patients with fewer platelets than the training data:
    # a shifted sample of 200 rows.
    rng = np.random.default_rng(9)
    n = 200
    served = {
        "age": np.round(rng.normal(72, 9, n)),
        "creatinine_phosphokinase": np.round(rng.choice(train["creatinine_phosphokinase"], n)),
        "ejection_fraction": np.round(rng.choice(train["ejection_fraction"], n) - 5),
        "platelets": np.round(rng.choice(train["platelets"], n) * 0.8, 2),
        "serum_creatinine": np.round(rng.choice(train["serum_creatinine"], n), 2),
        "serum_sodium": rng.choice(train["serum_sodium"], n),
        "sex": rng.integers(0, 2, n).astype(float),
        "high_blood_pressure": (rng.random(n) < 0.7).astype(float),
    }
    with open(os.path.join(HERE, "served.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FEATURES)
        for i in range(n):
            w.writerow([repr(float(served[name][i])) for name in FEATURES])
    return served


def reference(values):
    largest = values.max()
    cuts = []
    for c in np.quantile(values, np.arange(1, 10) / 10):
        if c >= largest:
            break
        prev = cuts[-1] if cuts else -np.inf
        # The bin c closes, (prev, c], must hold a training value.
        if np.any((values > prev) & (values <= c)):
            cuts.append(float(c))
    return cuts, shares(values, cuts)


def shares(values, cuts):
    # side="left": the first cut >= x, so bins are closed on the right.
    bins = np.searchsorted(np.array(cuts), values, side="left")
    return (np.bincount(bins, minlength=len(cuts) + 1) / len(values)).tolist()


def psi(expected, actual):
    e = np.maximum(np.array(expected), EPSILON)
    a = np.maximum(np.array(actual), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def main():
    train = columns(TRAIN)
    served = write_served(train)
    out = {"rows": len(train["age"]), "served": len(served["age"]), "features": []}
    for name in FEATURES:
        cuts, expected = reference(train[name])
        actual = shares(served[name], cuts)
        out["features"].append({"name": name, "cuts": cuts, "shares": expected,
                                "actual": actual, "psi": psi(expected, actual)})
    with open(os.path.join(HERE, "fixture.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


main()
