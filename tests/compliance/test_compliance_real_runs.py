"""Compliance verdicts on real tiny runs: a real recipe change flips the verdict."""

from __future__ import annotations

from conftest import verdicts


def test_smoke(credit_run, csv_runs, learning_run, imaging_run):
    for run, recipe in [credit_run, csv_runs["good"], csv_runs["changed"], learning_run, imaging_run]:
        v = verdicts(run, recipe)
        print(run, {k: (x["verdict"], x["reason"]) for k, x in v.items()})
