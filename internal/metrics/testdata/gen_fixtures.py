#!/usr/bin/env python3
"""Writes fixtures.json: cases of (probability, predicted label, outcome)
with the figures scikit-learn computes for them, which metrics_test.go
compares to internal/metrics to 1e-9, and the ROC curve, whose points it
compares exactly.

Run from this directory: python3 gen_fixtures.py (needs numpy and
scikit-learn; Debian's python3-sklearn will do). The output depends only on
the seeds below and the scikit-learn version, which it records.

A figure is null where scikit-learn warns that it is undefined
(UndefinedMetricWarning: it then returns 0) or refuses it (ROC AUC with one
class), as the API's schema asks; metrics returns nil there too. The ROC
curve is empty where ROC AUC is null, and its first threshold, which
roc_curve makes up above every score (the highest plus one, or +inf in newer
versions), is null.
"""
import json
import warnings

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (accuracy_score, brier_score_loss, f1_score,
                             log_loss, precision_score, recall_score,
                             roc_auc_score, roc_curve)

BINS = 10


def undefined_is_null(fn, *args, **kwargs):
    """fn's value, or None when scikit-learn warns it is undefined or
    refuses to compute it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        try:
            value = fn(*args, **kwargs)
        except (UndefinedMetricWarning, ValueError):
            return None
    value = float(value)
    return None if np.isnan(value) else value


def roc(prob, label, auc):
    """roc_curve with every distinct probability as a threshold, as three
    lists; empty where ROC AUC is undefined."""
    if auc is None:
        return {"thresholds": [], "fpr": [], "tpr": []}
    fpr, tpr, thresholds = roc_curve(label, prob, drop_intermediate=False)
    thresholds = [None] + thresholds[1:].tolist()
    return {"thresholds": thresholds, "fpr": fpr.tolist(),
            "tpr": tpr.tolist()}


def figures(prob, pred, label):
    prob = np.asarray(prob, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    out = {"count": int(len(prob)), "positives": int(label.sum())}
    calibration = []
    edges = np.linspace(0.0, 1.0, BINS + 1)
    if len(prob) == 0:
        for name in ("accuracy", "precision", "recall", "f1", "roc_auc",
                     "brier", "log_loss"):
            out[name] = None
        out["roc"] = roc(prob, label, None)
        counts = np.zeros(BINS, dtype=np.int64)
        means, rates = {}, {}
    else:
        out["accuracy"] = float(accuracy_score(label, pred))
        out["precision"] = undefined_is_null(precision_score, label, pred)
        out["recall"] = undefined_is_null(recall_score, label, pred)
        out["f1"] = undefined_is_null(f1_score, label, pred)
        out["roc_auc"] = undefined_is_null(roc_auc_score, label, prob)
        out["roc"] = roc(prob, label, out["roc_auc"])
        out["brier"] = float(brier_score_loss(label, prob))
        # labels: log_loss refuses outcomes of one class without them.
        out["log_loss"] = float(log_loss(label, prob, labels=[0, 1]))
        rate, mean = calibration_curve(label, prob, n_bins=BINS,
                                       strategy="uniform")
        # calibration_curve leaves out empty bins: find each bin's
        # figures again by the bin its samples fall in, as it does.
        ids = np.searchsorted(edges[1:-1], prob)
        counts = np.bincount(ids, minlength=BINS)
        nonempty = np.flatnonzero(counts)
        assert len(nonempty) == len(rate)
        means = dict(zip(nonempty.tolist(), mean.tolist()))
        rates = dict(zip(nonempty.tolist(), rate.tolist()))
    for i in range(BINS):
        calibration.append({
            "lower": float(edges[i]), "upper": float(edges[i + 1]),
            "count": int(counts[i]),
            "mean_predicted": means.get(i), "observed_rate": rates.get(i),
        })
    out["calibration"] = calibration
    return out


def case(name, prob, label, pred=None):
    prob = [float(p) for p in prob]
    if pred is None:  # as the model labels: 1 when above 0.5
        pred = [int(p > 0.5) for p in prob]
    label = [int(y) for y in label]
    return {"name": name, "prob": prob, "pred": [int(p) for p in pred],
            "label": label, "want": figures(prob, pred, label)}


def main():
    rng = np.random.default_rng(20261125)
    cases = []

    # Random: outcomes drawn from the probabilities, so the model is good.
    p = rng.random(500)
    cases.append(case("random", p, rng.random(500) < p))
    # Stored probabilities are float32 values, as the model's are.
    p = rng.random(300).astype(np.float32).astype(np.float64)
    cases.append(case("float32 probabilities", p, rng.random(300) < p))
    # Uninformative: outcomes independent of the probabilities.
    cases.append(case("uninformative", rng.random(200), rng.random(200) < 0.3))
    # Ties: few distinct probabilities, many samples on each.
    p = rng.choice([0.05, 0.2, 0.5, 0.7, 0.95], size=400)
    cases.append(case("ties", p, rng.random(400) < p))
    # Every probability on a bin edge, and next to one.
    edges = np.linspace(0.0, 1.0, BINS + 1)
    p = np.concatenate([edges, np.nextafter(edges, 2), np.nextafter(edges, -1),
                        [0.3, 0.7, 0.1 * 3, 0.1 * 7]])
    p = np.clip(p, 0, 1)
    cases.append(case("bin edges", p, rng.random(len(p)) < 0.5))
    # Probabilities 0 and 1, right and wrong: log loss clips them.
    cases.append(case("clipped", [0, 1, 0, 1, 0.5, 1e-20, 1 - 1e-17],
                      [0, 1, 1, 0, 1, 1, 0]))
    # One class only: no ROC AUC; recall undefined without positives.
    p = rng.random(50)
    cases.append(case("negatives only", p, np.zeros(50)))
    cases.append(case("positives only", p, np.ones(50)))
    # No positive prediction: precision undefined, F1 still 0.
    p = rng.random(40) * 0.5
    cases.append(case("no predicted positive", p, rng.random(40) < 0.5))
    # Nothing predicted or true positive: precision, recall, F1 undefined.
    cases.append(case("all true negatives", rng.random(20) * 0.5, np.zeros(20)))
    # All correct, perfectly separated.
    p = rng.random(100)
    cases.append(case("all correct", p, p > 0.5))
    # Perfectly wrong.
    cases.append(case("all wrong", p, p <= 0.5))
    # Labels that disagree with the probabilities' threshold: the figures
    # of the labels are the served yhat's, not recomputed.
    p = rng.random(60)
    cases.append(case("labels not from probabilities", p,
                      rng.random(60) < 0.5, pred=rng.random(60) < 0.5))
    cases.append(case("one sample", [0.8], [1]))
    cases.append(case("empty", [], []))

    with open("fixtures.json", "w") as f:
        json.dump({"generator": "gen_fixtures.py",
                   "sklearn": sklearn.__version__,
                   "numpy": np.__version__,
                   "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
