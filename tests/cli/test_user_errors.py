"""Every user error is one paragraph on stderr with exit code 2, in English and Chinese.

Each test makes the bad input the way a user would (a real file on disk, a real option) and
runs the real command line.  Kinds: non-finite numbers, damaged compressed data, recipes that
are not UTF-8 or are alias bombs, OSError on --out, unknown encodings, csv.Error, empty or
malformed CSV for ``pii scan``, and ``monitor --out`` on a directory or on its own input.
"""

import errno
import gzip
import os
import random
import time

import pytest
import typer
from typer.testing import CliRunner

from bentu.cli._common import user_errors
from bentu.cli.app import app
from bentu.errors import RecipeError
from bentu.recipe import builtin_recipes, load_recipe

runner = CliRunner()


def _table(n: int = 200, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "a,b,y\n" + "".join(f"{rng.random():.6f},{rng.random():.6f},{i % 2}\n" for i in range(n))


def _write_run_inputs(tmp_path, data_name: str, data_bytes: bytes, recipe: str | None = None) -> str:
    (tmp_path / data_name).write_bytes(data_bytes)
    p = tmp_path / "r.yaml"
    p.write_text(recipe or f"name: x\ndata: {{path: {data_name}, target: y}}\ntrain: {{epochs: 1}}\n",
                 encoding="utf-8")
    return str(p)


def _invoke(tmp_path, args, lang="en"):
    os.chdir(tmp_path)
    return runner.invoke(app, [*args, "--lang", lang])


def _one_paragraph(result, text):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output + result.stderr
    assert result.stderr.strip().count("\n\n") == 0  # one paragraph
    assert text in " ".join(result.stderr.split()), result.stderr


def _no_run_left(tmp_path):
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(runs.iterdir())


# --- non-finite numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("value, shown, why", [
    ("inf", "inf", "is not a finite number"),
    ("-inf", "-inf", "is not a finite number"),
    ("1e308", "1e+308", "is beyond ±3.4e+38, the largest a model can use"),
])
def test_non_finite_number_in_data(tmp_path, value, shown, why):
    lines = _table().splitlines()
    lines[6] = f"0.5,{value},1"  # data row 6
    recipe = _write_run_inputs(tmp_path, "d.csv", ("\n".join(lines) + "\n").encode())
    r = _invoke(tmp_path, ["run", recipe, "--data", str(tmp_path), "--quiet"])
    _one_paragraph(r, f"d.csv, column 'b', data row 6: the value {shown} {why} (1 such value(s) in this "
                      "column). Replace them with real values or leave the cells empty (missing).")
    _no_run_left(tmp_path)


def test_non_finite_number_in_chinese(tmp_path):
    lines = _table().splitlines()
    lines[3] = "inf,0.5,1"
    recipe = _write_run_inputs(tmp_path, "d.csv", ("\n".join(lines) + "\n").encode())
    r = _invoke(tmp_path, ["run", recipe, "--data", str(tmp_path), "--quiet"], lang="zh")
    _one_paragraph(r, "错误: d.csv 的列 'a' 第 3 个数据行：值 inf 不是有限数（该列共 1 个这样的值）。")


# --- damaged compressed data ------------------------------------------------------------------

def test_truncated_gzip(tmp_path):
    blob = gzip.compress(_table(5000).encode())
    recipe = _write_run_inputs(tmp_path, "d.csv.gz", blob[: len(blob) // 2])
    r = _invoke(tmp_path, ["run", recipe, "--data", str(tmp_path), "--quiet"])
    _one_paragraph(r, "d.csv.gz is a damaged or truncated compressed file (Compressed file ended before the "
                      "end-of-stream marker was reached). Download or copy it again, or give the uncompressed file.")
    _no_run_left(tmp_path)


def test_corrupt_gzip(tmp_path):
    blob = bytearray(gzip.compress(_table(5000).encode()))
    blob[len(blob) // 2: len(blob) // 2 + 64] = b"\xff" * 64
    recipe = _write_run_inputs(tmp_path, "d.csv.gz", bytes(blob))
    r = _invoke(tmp_path, ["run", recipe, "--data", str(tmp_path), "--quiet"])
    _one_paragraph(r, "d.csv.gz is a damaged or truncated compressed file (CRC check failed 0x")


def test_gzip_with_a_bad_deflate_stream(tmp_path):
    header = gzip.compress(b"")[:10]  # a valid gzip header, then a deflate block of the reserved type
    recipe = _write_run_inputs(tmp_path, "d.csv.gz", header + b"\x07" + b"\x00" * 64)
    r = _invoke(tmp_path, ["run", recipe, "--data", str(tmp_path), "--quiet"])
    _one_paragraph(r, "d.csv.gz is a damaged or truncated compressed file (Error -3 while decompressing data: "
                      "invalid block type). Download or copy it again, or give the uncompressed file.")


def test_not_gzip_at_all(tmp_path):
    recipe = _write_run_inputs(tmp_path, "d.csv.gz", _table().encode())
    r = _invoke(tmp_path, ["run", recipe, "--data", str(tmp_path), "--quiet"], lang="zh")
    _one_paragraph(r, "错误: d.csv.gz 是已损坏或不完整的压缩文件（Not a gzipped file (b'a,')）。")


# --- recipes ----------------------------------------------------------------------------------

def test_gbk_recipe(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_bytes("name: x\ndescription: 信用评分\ndata: {path: d.csv, target: y}\n".encode("gbk"))
    r = _invoke(tmp_path, ["run", str(p), "--quiet"])
    _one_paragraph(r, f"Recipe {p} is not UTF-8 (byte 21: it looks like GBK/GB18030). Save it as UTF-8, "
                      "e.g. `iconv -f GB18030 -t UTF-8 r.yaml > r.utf8.yaml`.")
    r = _invoke(tmp_path, ["run", str(p), "--quiet"], lang="zh")
    _one_paragraph(r, f"错误: 配方 {p} 不是 UTF-8 编码（第 21 字节：看起来是 GBK/GB18030）。")


BOMB = "name: x\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
) + "data: {path: d.csv, target: y}\n"


def test_alias_bomb_fails_fast(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(BOMB, encoding="utf-8")
    start = time.perf_counter()
    r = _invoke(tmp_path, ["run", str(p), "--quiet"])
    elapsed = time.perf_counter() - start
    _one_paragraph(r, f"Recipe {p} is refused: its aliases (*name) expand to more than 100,000 values. "
                      "Write the values out instead of nesting aliases.")
    assert elapsed < 2.0, elapsed
    _no_run_left(tmp_path)


def test_self_referring_alias(tmp_path):
    p = tmp_path / "loop.yaml"
    p.write_text("name: x\ndata: &d {path: d.csv, target: y, more: *d}\n", encoding="utf-8")
    r = _invoke(tmp_path, ["run", str(p), "--quiet"])
    _one_paragraph(r, f"Recipe {p} is refused: an alias refers to the mapping or list that contains it.")


def test_alias_bomb_in_set_override(tmp_path):
    nested, prev = "&a [x, x, x, x, x, x, x, x, x, x]", "a"
    for level in "bcdef":  # each level: 10 times the one before, 1.1 million values in all
        nested, prev = f"&{level} [{nested}, " + ", ".join([f"*{prev}"] * 9) + "]", level
    start = time.perf_counter()
    r = _invoke(tmp_path, ["run", "credit", "--set", f"train.lr={nested}", "--quiet"])
    assert time.perf_counter() - start < 2.0
    _one_paragraph(r, "--set train.lr: the value is refused: its aliases (*name) expand to more than 100,000 values.")


def test_plain_and_aliased_recipes_still_load(tmp_path):
    for name in builtin_recipes():
        assert load_recipe(name).name == name
    p = tmp_path / "alias.yaml"  # a modest alias is still fine: the bound is on the expanded size
    p.write_text("name: x\nsplit: &s {test: 0.3, val: 0.1}\ndata: {path: d.csv, target: y, split: *s}\n",
                 encoding="utf-8")
    with pytest.raises(RecipeError, match="'split'"):  # only the stray top-level key is reported
        load_recipe(str(p))
    p.write_text("name: x\ndata: {path: d.csv, target: y, split: &s {test: 0.3, val: 0.1}}\n"
                 "federated: {enabled: false}\n", encoding="utf-8")
    assert load_recipe(str(p)).data.split.test == 0.3


# --- --out that cannot be written (OSError) -------------------------------------------------------

def test_out_under_a_file(tmp_path):
    recipe = _write_run_inputs(tmp_path, "d.csv", _table().encode())
    (tmp_path / "afile").write_text("keep")
    r = _invoke(tmp_path, ["run", recipe, "--data", str(tmp_path), "--out", str(tmp_path / "afile" / "run"), "--quiet"])
    _one_paragraph(r, f"Cannot create the run directory {tmp_path / 'afile' / 'run'}: File exists (in "
                      f"{tmp_path / 'afile'}). Choose an --out in a folder you can write to.")
    assert (tmp_path / "afile").read_text() == "keep"


def test_out_in_proc(tmp_path):
    recipe = _write_run_inputs(tmp_path, "d.csv", _table().encode())
    r = _invoke(tmp_path, ["run", recipe, "--data", str(tmp_path), "--out", "/proc/bentu-run", "--quiet"], lang="zh")
    assert r.exit_code == 2
    # named by the --out the user gave, never by the hidden working folder
    _one_paragraph(r, "错误: 无法创建运行目录 /proc/bentu-run：No such file or directory（位于 /proc）。"
                      "请把 --out 设在有写权限的目录下。")
    assert ".partial-" not in r.stderr


def test_pii_mask_out_under_a_file(tmp_path):
    (tmp_path / "in.txt").write_text("电话13800138000\n", encoding="utf-8")
    (tmp_path / "afile").write_text("keep")
    r = _invoke(tmp_path, ["pii", "mask", "in.txt", "afile/out.txt", "--ephemeral-key"])
    _one_paragraph(r, f"Cannot read, write or create '{tmp_path / 'afile'}/.out.txt.")
    assert "a part of the path is a file, not a directory." in r.stderr


def test_only_user_os_errors_are_converted():
    """A bug (an OSError without a path, any other exception) keeps its traceback."""
    with pytest.raises(typer.Exit) as ex, user_errors("en"):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/nowhere/x")
    assert ex.value.exit_code == 2
    with pytest.raises(OSError, match="device busy"), user_errors("en"):
        raise OSError(errno.EBUSY, "device busy")
    with pytest.raises(LookupError), user_errors("en"):
        raise LookupError("no such thing")
    with pytest.raises(KeyError), user_errors("en"):
        raise KeyError("bug")


# --- encodings, csv.Error, pii scan on bad CSV ---------------------------------------------------

@pytest.mark.parametrize("cmd", [["pii", "scan", "d.csv"], ["pii", "mask", "d.csv", "o.csv", "--ephemeral-key"]])
def test_unknown_encoding(tmp_path, cmd):
    (tmp_path / "d.csv").write_text(_table(), encoding="utf-8")
    r = _invoke(tmp_path, [*cmd, "--encoding", "bogus"])
    _one_paragraph(r, "Error: Unknown text encoding 'bogus' (--encoding). Use a Python codec name such as "
                      "utf-8, gb18030 or gbk.")
    assert not (tmp_path / "o.csv").exists()
    r = _invoke(tmp_path, [*cmd, "--encoding", "bogus"], lang="zh")
    _one_paragraph(r, "错误: 未知的文本编码 'bogus'（--encoding）。")


def test_csv_field_over_128_kib(tmp_path):
    lines = ["note,y"] + [f"fine {i},0" for i in range(10)] + ['"' + "x" * 200_000 + '",1']
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = _invoke(tmp_path, ["pii", "mask", "d.csv", "o.csv", "--ephemeral-key"])
    _one_paragraph(r, "Error: Line 12 of 'd.csv' is not valid CSV: field larger than field limit (131072). "
                      "Fix that row (a field over 128 KiB, or an unbalanced quote).")
    assert not (tmp_path / "o.csv").exists() and not [p for p in tmp_path.iterdir() if p.suffix == ".part"]


def test_csv_field_over_128_kib_in_a_malformed_data_file(tmp_path):
    lines = ["a,y"] + ["1,0"] * 5 + ['"' + "x" * 200_000 + '",1', "2,1,9"]
    recipe = _write_run_inputs(tmp_path, "d.csv", ("\n".join(lines) + "\n").encode())
    r = _invoke(tmp_path, ["run", recipe, "--data", str(tmp_path), "--quiet"])
    _one_paragraph(r, "d.csv has a malformed row: field larger than field limit (131072). Fix or remove that row.")


@pytest.mark.parametrize("body, expected", [
    ("", "Error: CSV file 'd.csv' is empty."),
    ("\n\n", "Error: CSV file 'd.csv' is empty."),
    ('a,b\n1,"never closed\n2,3\n', ("Error: CSV file 'd.csv' is malformed: Error tokenizing data. C error: "
                                     "EOF inside string starting at row 1.")),
])
def test_pii_scan_empty_or_malformed_csv(tmp_path, body, expected):
    (tmp_path / "d.csv").write_text(body, encoding="utf-8")
    r = _invoke(tmp_path, ["pii", "scan", "d.csv"])
    _one_paragraph(r, expected)


def test_pii_scan_empty_csv_in_chinese(tmp_path):
    (tmp_path / "d.csv").write_text("", encoding="utf-8")
    r = _invoke(tmp_path, ["pii", "scan", "d.csv"], lang="zh")
    _one_paragraph(r, "错误: CSV 文件 'd.csv' 为空。")


# --- monitor --out ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A real (tiny) run of a recipe, and the data it was trained on."""
    root = tmp_path_factory.mktemp("run")
    data = root / "d.csv"
    data.write_text(_table(300), encoding="utf-8")
    (root / "r.yaml").write_text("name: tiny\ndata: {path: d.csv, target: y}\ntrain: {epochs: 1}\n", encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        r = runner.invoke(app, ["run", "r.yaml", "--data", str(root), "--out", str(root / "run"), "--quiet"])
    finally:
        os.chdir(cwd)
    assert r.exit_code == 0, r.output
    return root / "run", data


def test_monitor_refuses_to_overwrite_its_input(finished_run, tmp_path):
    run_dir, data = finished_run
    new = tmp_path / "new.csv"
    new.write_text(data.read_text(encoding="utf-8"), encoding="utf-8")
    before = new.read_bytes()
    r = _invoke(tmp_path, ["monitor", str(run_dir), str(new), "--out", str(new)])
    _one_paragraph(r, f"Error: --out {new} would overwrite the command's input {new}. Give another path.")
    assert new.read_bytes() == before
    target = run_dir / "metrics.json"
    before = target.read_bytes()
    r = _invoke(tmp_path, ["monitor", str(run_dir), str(new), "--out", str(target), "--force"])
    _one_paragraph(r, f"Error: --out {target} would overwrite the command's input {run_dir}.")
    assert target.read_bytes() == before


def test_monitor_out_directory_and_existing_file(finished_run, tmp_path):
    run_dir, data = finished_run
    r = _invoke(tmp_path, ["monitor", str(run_dir), str(data), "--out", str(tmp_path)])
    _one_paragraph(r, f"Error: --out {tmp_path} is a directory; give the path of a file to write.")
    r = _invoke(tmp_path, ["monitor", str(run_dir), str(data), "--out", str(tmp_path)], lang="zh")
    _one_paragraph(r, f"错误: --out {tmp_path} 是目录；请给出要写入的文件路径。")
    mine = tmp_path / "report.json"
    mine.write_text("not yours", encoding="utf-8")
    r = _invoke(tmp_path, ["monitor", str(run_dir), str(data), "--out", str(mine)])
    _one_paragraph(r, f"Error: --out {mine} already exists, and bentu does not overwrite a file it did not "
                      "create: remove it, give another path, or pass --force.")
    assert mine.read_text(encoding="utf-8") == "not yours"
    r = _invoke(tmp_path, ["monitor", str(run_dir), str(data), "--out", str(mine), "--force"])
    assert r.exit_code == 0, r.output
    assert '"crossed": []' in mine.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temporary file left


def test_monitor_out_under_a_file(finished_run, tmp_path):
    run_dir, data = finished_run
    (tmp_path / "afile").write_text("keep")
    r = _invoke(tmp_path, ["monitor", str(run_dir), str(data), "--out", "afile/x.json"])
    _one_paragraph(r, "Error: Cannot read, write or create 'afile': a file or directory of that name already exists.")


@pytest.mark.parametrize("cmd", [["pii", "scan", "d.parquet"], ["pii", "mask", "d.parquet", "o.parquet", "--ephemeral-key"]])
def test_pii_on_a_damaged_parquet_file(tmp_path, cmd):
    import pandas as pd

    pd.DataFrame({"mobile": ["13800138000"] * 50, "n": range(50)}).to_parquet(tmp_path / "good.parquet")
    blob = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "d.parquet").write_bytes(blob[: len(blob) // 2])  # cut short: header kept, footer lost
    r = _invoke(tmp_path, cmd)
    _one_paragraph(r, "Error: File 'd.parquet' is not a readable Parquet file: Parquet magic bytes not found in "
                      "footer. Either the file is corrupted or this is not a parquet file.")
    assert not (tmp_path / "o.parquet").exists()


def test_bentu_lang_picks_chinese(tmp_path):
    (tmp_path / "d.csv").write_text("", encoding="utf-8")
    os.chdir(tmp_path)
    r = runner.invoke(app, ["pii", "scan", "d.csv"], env={"BENTU_LANG": "zh"})
    _one_paragraph(r, "错误: CSV 文件 'd.csv' 为空。")
