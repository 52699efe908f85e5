"""A stand-in for the public German-credit table, generated (no file is downloaded).

1,000 applicants, 20 attribute columns and the target ``creditability`` (``good``/``bad``, about
30 % bad), with the long English headers and the category texts ("... < 0 DM", "none") users see
in the published versions. The values are drawn here from made-up distributions with a learnable
logistic signal; nothing comes from the real table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CHECKING = ["... < 0 DM", "0 <= ... < 200 DM", "... >= 200 DM / salary assignments for at least 1 year",
            "no checking account"]
HISTORY = ["no credits taken/ all credits paid back duly", "all credits at this bank paid back duly",
           "existing credits paid back duly till now", "delay in paying off in the past",
           "critical account/ other credits existing (not at this bank)"]
PURPOSE = ["car (new)", "car (used)", "furniture/equipment", "radio/television", "domestic appliances", "repairs",
           "education", "retraining", "business", "others"]
SAVINGS = ["... < 100 DM", "100 <= ... < 500 DM", "500 <= ... < 1000 DM", ".. >= 1000 DM",
           "unknown/ no savings account"]
EMPLOYMENT = ["unemployed", "... < 1 year", "1 <= ... < 4 years", "4 <= ... < 7 years", ".. >= 7 years"]
PERSONAL = ["male : divorced/separated", "female : divorced/separated/married", "male : single",
            "male : married/widowed"]
DEBTORS = ["none", "co-applicant", "guarantor"]
PROPERTY = ["real estate", "building society savings agreement/ life insurance", "car or other",
            "unknown / no property"]
PLANS = ["bank", "stores", "none"]
HOUSING = ["rent", "own", "for free"]
JOB = ["unemployed/ unskilled - non-resident", "unskilled - resident", "skilled employee / official",
       "management/ self-employed/ highly qualified employee/ officer"]
TELEPHONE = ["none", "yes, registered under the customers name"]


def german_credit(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The stand-in table: 20 attributes and ``creditability`` in {"good", "bad"}."""
    rng = np.random.default_rng(seed)

    def pick(values, p=None):
        return rng.choice(len(values), size=n, p=p)

    checking = pick(CHECKING, [0.27, 0.27, 0.06, 0.40])
    history = pick(HISTORY, [0.04, 0.05, 0.53, 0.09, 0.29])
    savings = pick(SAVINGS, [0.60, 0.10, 0.06, 0.05, 0.19])
    employment = pick(EMPLOYMENT, [0.06, 0.17, 0.34, 0.17, 0.26])
    duration = np.clip(rng.gamma(3.0, 7.0, n).round(), 4, 72).astype(int)
    amount = np.clip(rng.lognormal(7.8, 0.75, n).round(), 250, 18500).astype(int)
    age = np.clip(rng.gamma(6.0, 6.0, n).round() + 19, 19, 75).astype(int)
    installment = rng.integers(1, 5, n)
    plans = pick(PLANS, [0.14, 0.05, 0.81])
    df = pd.DataFrame({
        "status_of_existing_checking_account": np.array(CHECKING)[checking],
        "duration_in_month": duration,
        "credit_history": np.array(HISTORY)[history],
        "purpose": np.array(PURPOSE)[pick(PURPOSE, [0.23, 0.10, 0.18, 0.28, 0.01, 0.02, 0.05, 0.01, 0.10, 0.02])],
        "credit_amount": amount,
        "savings_account_bonds": np.array(SAVINGS)[savings],
        "present_employment_since": np.array(EMPLOYMENT)[employment],
        "installment_rate_in_percentage_of_disposable_income": installment,
        "personal_status_and_sex": np.array(PERSONAL)[pick(PERSONAL, [0.05, 0.31, 0.55, 0.09])],
        "other_debtors_guarantors": np.array(DEBTORS)[pick(DEBTORS, [0.91, 0.04, 0.05])],
        "present_residence_since": rng.integers(1, 5, n),
        "property": np.array(PROPERTY)[pick(PROPERTY, [0.28, 0.23, 0.33, 0.16])],
        "age_in_years": age,
        "other_installment_plans": np.array(PLANS)[plans],
        "housing": np.array(HOUSING)[pick(HOUSING, [0.18, 0.71, 0.11])],
        "number_of_existing_credits_at_this_bank": rng.choice([1, 2, 3, 4], n, p=[0.63, 0.33, 0.03, 0.01]),
        "job": np.array(JOB)[pick(JOB, [0.02, 0.20, 0.63, 0.15])],
        "number_of_people_being_liable_to_provide_maintenance_for": rng.choice([1, 2], n, p=[0.85, 0.15]),
        "telephone": np.array(TELEPHONE)[pick(TELEPHONE, [0.6, 0.4])],
        "foreign_worker": rng.choice(["yes", "no"], n, p=[0.96, 0.04]),
    })
    logit = (-0.8 + np.array([0.9, 0.4, -0.4, -1.1])[checking] + np.array([0.8, 0.7, 0.0, 0.2, -0.6])[history]
             + np.array([0.3, 0.1, -0.3, -0.6, -0.5])[savings] + np.array([0.3, 0.3, 0.0, -0.3, -0.2])[employment]
             + 0.035 * (duration - 20) + 0.00005 * (amount - 3000) - 0.015 * (age - 35) + 0.15 * (installment - 2.5)
             + np.array([0.4, 0.3, 0.0])[plans])
    bad = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    df["creditability"] = np.where(bad, "bad", "good")
    return df


def write_german_credit(folder: Path, n: int = 1000, seed: int = 0) -> Path:
    """Write the stand-in as ``german_credit.csv`` the way a user's export looks."""
    path = Path(folder) / "german_credit.csv"
    german_credit(n, seed).to_csv(path, index=False)
    return path
