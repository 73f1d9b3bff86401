#!/usr/bin/python3
"""Generates the extra test models of package model and XGBoost's own answers for them.

Run from this directory with Debian's python3 (python3-xgboost 1.7.4, pandas):

    /usr/bin/python3 gen_references.py

Every model is trained on heart_failure_clinical_records_dataset.csv (CC BY 4.0, see
README.md) with fixed seeds and one thread, so the outputs are reproducible. Each model goes
to its own folder with model.json, input_schema.json and reference.csv. reference.csv has the
columns of ../../../shared/fixtures/seed_model_reference.csv: the features in the model's order
(an empty cell is a missing value), then margin, prob, contrib_<feature>... and contrib_bias,
outputs printed with 9 significant digits. The Go tests compare every row; CI runs no Python,
so the outputs are committed.

The reference rows are the data set's rows, rows with about 30% of their cells blanked, and
rows whose values sit on a split threshold of the model, or one float64 or float32 step away
from it: there float32 rounding and the strict `<` decide the branch.
"""

import json
import os

import numpy as np
import pandas as pd
import xgboost as xgb

DATA = "heart_failure_clinical_records_dataset.csv"
TARGET = "DEATH_EVENT"
BOOLEAN = {"anaemia", "diabetes", "high_blood_pressure", "sex", "smoking"}
# Plausible clinical bounds, wider than the data, so that the schemas exercise min and max.
BOUNDS = {
    "age": (0, 130),
    "creatinine_phosphokinase": (0, 100000),
    "ejection_fraction": (0, 100),
    "platelets": (0, 2000000),
    "serum_creatinine": (0, 50),
    "serum_sodium": (80, 200),
    "time": (0, 1000),
}


def schema(columns):
    out = []
    for name in columns:
        if name in BOOLEAN:
            out.append({"name": name, "type": "boolean"})
        else:
            lo, hi = BOUNDS[name]
            out.append({"name": name, "type": "numeric", "min": lo, "max": hi})
    return {"input_schema": {"columns": out}}


def thresholds_by_feature(model_path, n_features):
    """The split thresholds of each feature, as the float32 values the model holds."""
    with open(model_path) as f:
        learner = json.load(f)["learner"]
    found = [set() for _ in range(n_features)]
    for tree in learner["gradient_booster"]["model"]["trees"]:
        for left, feature, cond in zip(
            tree["left_children"], tree["split_indices"], tree["split_conditions"]
        ):
            if left != -1:
                found[feature].add(float(np.float32(cond)))
    return [sorted(s) for s in found]


def reference_rows(X, thresholds, rng, n_blanked=100, n_threshold=80):
    """The data rows, rows with blanks, and rows on (or one step off) split thresholds."""
    data = X.to_numpy(dtype=np.float64)
    blanked = data[rng.choice(len(data), n_blanked, replace=False)].copy()
    blanked[rng.random(blanked.shape) < 0.3] = np.nan

    edges = data[rng.choice(len(data), n_threshold, replace=True)].copy()
    for row in edges:
        for j, cuts in enumerate(thresholds):
            if not cuts or X.columns[j] in BOOLEAN or rng.random() > 0.7:
                continue
            t = cuts[rng.integers(len(cuts))]
            step = rng.integers(4)
            if step == 0:
                row[j] = t
            elif step == 1:  # rounds to t in float32: XGBoost goes right
                row[j] = np.nextafter(t, -np.inf)
            elif step == 2:
                row[j] = np.nextafter(t, np.inf)
            else:  # the float32 just below t: XGBoost goes left
                row[j] = float(np.nextafter(np.float32(t), np.float32(-np.inf)))
        if rng.random() < 0.2:
            row[rng.integers(len(row))] = np.nan
    return np.vstack([data, blanked, edges])


def fmt_input(v):
    if np.isnan(v):
        return ""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))  # shortest text that reads back as the same float64


def write_reference(path, booster, rows, names, iteration_range=(0, 0), named=True):
    """Writes XGBoost's answers; names head the columns, and name the DMatrix's if named."""
    dm = xgb.DMatrix(rows, missing=np.nan, feature_names=names if named else None)
    margin = booster.predict(dm, output_margin=True, iteration_range=iteration_range)
    prob = booster.predict(dm, iteration_range=iteration_range)
    contribs = booster.predict(dm, pred_contribs=True, iteration_range=iteration_range)
    header = (
        list(names)
        + ["margin", "prob"]
        + ["contrib_" + n for n in names]
        + ["contrib_bias"]
    )
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row, m, p, c in zip(rows, margin, prob, contribs):
            cells = [fmt_input(v) for v in row]
            cells += ["%.9g" % m, "%.9g" % p] + ["%.9g" % v for v in c]
            f.write(",".join(cells) + "\n")


def save(folder, booster, schema_columns):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.json")
    booster.save_model(path)
    with open(os.path.join(folder, "input_schema.json"), "w") as f:
        json.dump(schema(schema_columns), f, indent=1)
        f.write("\n")
    return path


def deep(df):
    """300 trees of depth 6 on all 12 features, trained in an order unlike the schema's."""
    schema_order = [c for c in df.columns if c != TARGET]
    model_order = list(np.random.default_rng(11).permutation(schema_order))
    assert model_order != schema_order
    X, y = df[model_order], df[TARGET]
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "max_depth": 6,
        "eta": 0.05,
        "base_score": 0.3,
        "seed": 1,
        "nthread": 1,
    }
    booster = xgb.train(params, xgb.DMatrix(X, y), num_boost_round=300)
    path = save("deep", booster, schema_order)
    rows = reference_rows(
        X, thresholds_by_feature(path, len(model_order)), np.random.default_rng(12)
    )
    write_reference("deep/reference.csv", booster, rows, model_order)


def unnamed(df):
    """A model trained on a bare array (no feature_names), pruned: it has deleted nodes."""
    columns = [
        "ejection_fraction",
        "serum_creatinine",
        "age",
        "serum_sodium",
        "anaemia",
        "platelets",
    ]
    X, y = df[columns], df[TARGET]
    params = {
        "objective": "binary:logistic",
        "tree_method": "exact",  # grows then prunes: the pruned nodes stay, deleted
        "gamma": 1.5,
        "max_depth": 4,
        "eta": 0.2,
        "base_score": 0.65,
        "seed": 2,
        "nthread": 1,
    }
    booster = xgb.train(params, xgb.DMatrix(X.to_numpy(), y), num_boost_round=40)
    path = save("unnamed", booster, columns)
    with open(path) as f:
        learner = json.load(f)["learner"]
    assert not learner.get("feature_names"), "the model must have no feature names"
    deleted = sum(
        int(t["tree_param"]["num_deleted"])
        for t in learner["gradient_booster"]["model"]["trees"]
    )
    assert deleted > 0, "the model must have deleted nodes"
    rows = reference_rows(
        X, thresholds_by_feature(path, len(columns)), np.random.default_rng(22)
    )
    write_reference("unnamed/reference.csv", booster, rows, columns, named=False)


def early(df):
    """Early stopping with two parallel trees per round: best_iteration < rounds - 1."""
    columns = [
        "age",
        "creatinine_phosphokinase",
        "ejection_fraction",
        "platelets",
        "serum_creatinine",
        "serum_sodium",
        "sex",
        "high_blood_pressure",
    ]
    X, y = df[columns], df[TARGET]
    order = np.random.default_rng(31).permutation(len(X))
    train, valid = order[:200], order[200:]
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "max_depth": 3,
        "eta": 0.3,
        "num_parallel_tree": 2,
        "subsample": 0.7,
        "colsample_bynode": 0.8,
        "eval_metric": "logloss",
        "seed": 3,
        "nthread": 1,
    }
    booster = xgb.train(
        params,
        xgb.DMatrix(X.iloc[train], y.iloc[train]),
        num_boost_round=200,
        evals=[(xgb.DMatrix(X.iloc[valid], y.iloc[valid]), "valid")],
        early_stopping_rounds=10,
        verbose_eval=False,
    )
    best = booster.best_iteration
    rounds = booster.num_boosted_rounds()
    assert best < rounds - 1, (best, rounds)
    path = save("early", booster, columns)
    with open(path) as f:
        attributes = json.load(f)["learner"]["attributes"]
    assert int(attributes["best_iteration"]) == best, attributes
    rows = reference_rows(
        X, thresholds_by_feature(path, len(columns)), np.random.default_rng(32)
    )
    # The scikit-learn wrapper predicts with the trees of rounds [0, best_iteration]; the
    # references must differ from what all the trees give, or the test could not fail.
    dm = xgb.DMatrix(rows, feature_names=columns)
    sliced = booster.predict(dm, iteration_range=(0, best + 1))
    assert not np.allclose(sliced, booster.predict(dm), atol=1e-4), "slicing must matter"
    write_reference("early/reference.csv", booster, rows, columns, (0, best + 1))


def main():
    df = pd.read_csv(DATA)
    deep(df)
    unnamed(df)
    early(df)


if __name__ == "__main__":
    main()
