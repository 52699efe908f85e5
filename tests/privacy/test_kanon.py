import pandas as pd

from bentu.privacy import generalize_to_k, k_anonymity


def test_k_is_the_smallest_equivalence_class():
    df = pd.DataFrame({"sex": ["男", "男", "女", "女", "女"], "age": [30, 30, 40, 40, 41]})
    assert k_anonymity(df, ["sex", "age"]).k == 1
    assert k_anonymity(df, ["sex"]).k == 2


def test_generalisation_reaches_k_with_bands_and_regions():
    df = pd.DataFrame({"age": list(range(20, 80)) * 5,
                       "province": (["广东", "广西", "浙江", "江苏", "四川", "云南"] * 50)})
    out, report = generalize_to_k(df, ["age", "province"], 10)
    assert report["reached"] and report["k"] >= 10
    assert report["before"]["k"] < 10
    assert report["generalised_columns"] == ["age"] and out["age"].nunique() < 60
    out, report = generalize_to_k(df, ["province"], 80)
    assert set(out["province"]) == {"华南", "华东", "西南"} and report["records_suppressed"] == 0
