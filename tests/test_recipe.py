import pytest

from bentu.errors import RecipeError
from bentu.recipe import builtin_recipes, load_recipe, recipe_to_dict


def test_builtin_recipes_all_validate():
    names = builtin_recipes()
    assert {"credit", "credit-uci"} <= set(names)
    for name in names:
        assert load_recipe(name).name == name


def test_unknown_recipe_suggests_close_match():
    with pytest.raises(RecipeError) as e:
        load_recipe("credt")
    assert str(e.value).startswith("Unknown recipe 'credt'. Did you mean 'credit'")


def test_misspelt_key_is_named_with_suggestion(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("name: r\ntrain: {epocs: 3}\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(str(p))
    assert "unknown key 'train.epocs'. Did you mean 'epochs'?" in str(e.value)


def test_top_level_misspelt_section(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("name: r\ntrian: {epochs: 3}\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(str(p))
    assert "unknown key 'trian'. Did you mean 'train'?" in str(e.value)


def test_set_override_is_type_checked():
    assert load_recipe("credit", ["train.epochs=3"]).train.epochs == 3
    with pytest.raises(RecipeError) as e:
        load_recipe("credit", ["train.epochs=many"])
    assert "'train.epochs': Input should be a valid integer" in str(e.value)
    assert "(got 'many')" in str(e.value)


def test_set_needs_key_value():
    with pytest.raises(RecipeError, match=r"--set expects key=value \(e.g. train.epochs=5\). Got 'train.epochs' instead."):
        load_recipe("credit", ["train.epochs"])


def test_model_params_pass_through_and_resolved_recipe_has_defaults():
    r = load_recipe("credit", ["model.hidden=[16]"])
    assert r.model.params()["hidden"] == [16]
    d = recipe_to_dict(r)
    assert d["train"]["optimizer"] == "adam" and d["transfer"]["from"] is None


def test_invalid_yaml_names_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: r\ntrain: {epochs: 3\n")
    with pytest.raises(RecipeError, match=r"is not valid YAML at line"):
        load_recipe(str(p))
