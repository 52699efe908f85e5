import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import bentu
from bentu.cli.pii import app
from bentu.green.memory import peak_rss_kib
from bentu.privacy._corpus import write_table_csv

runner = CliRunner()
SRC = str(Path(bentu.__file__).resolve().parents[1])


def run(*args, input=None, env=None):
    return runner.invoke(app, list(args), input=input, env=env)


def test_detect_protocol_adds_spans_in_order_and_passes_fields_through():
    lines = [{"id": 1, "text": "客户张伟的手机+86 138-0013-8000"}, {"id": 2, "text": "无"},
             {"id": 3, "text": "邮箱a.b@example.com，IP 10.1.2.3:80"}]
    result = run("detect", input="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, 2, 3]
    assert out[0]["spans"] == [{"start": 2, "end": 4, "type": "PERSON"},
                               {"start": 7, "end": 24, "type": "CN_PHONE"}]
    assert out[1]["spans"] == []
    assert [s["type"] for s in out[2]["spans"]] == ["EMAIL", "IP_ADDRESS"]


def test_detect_bad_line_is_a_clean_error():
    result = run("detect", "--lang", "en", input='{"text": "ok"}\nnot json\n')
    assert result.exit_code == 2
    assert "Line 2 of the input is not valid JSON." in result.stderr
    assert "Traceback" not in result.output
    result = run("detect", "--lang", "zh", input='{"txt": "x"}\n')
    assert result.exit_code == 2 and "输入第 1 行缺少 \"text\" 字符串" in result.stderr


def test_detect_subprocess_with_two_workers_keeps_order():
    texts = [f"第{i}行 客户王伟{i % 10} 手机1380013{i:04d}" for i in range(3000)]
    data = "".join(json.dumps({"n": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts))
    proc = subprocess.run([sys.executable, "-m", "bentu.cli.pii", "detect", "--workers", "2"],
                          input=data.encode(), capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 0, proc.stderr.decode()
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [o["n"] for o in out] == list(range(3000))
    assert all(any(s["type"] == "CN_PHONE" for s in o["spans"]) for o in out)


def test_detect_answers_each_line_before_the_next_arrives():
    proc = subprocess.Popen([sys.executable, "-m", "bentu.cli.pii", "detect", "--workers", "2"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": SRC})
    try:
        for i, text in enumerate(["手机13800138000", "邮箱a@b.cn"]):
            proc.stdin.write(json.dumps({"i": i, "text": text}).encode() + b"\n")
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())  # blocks until flushed
            assert answer["i"] == i and len(answer["spans"]) == 1
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "customers.csv"
    write_table_csv(path, 60_000, seed=2)
    return path


def test_scan_table_and_json(table):
    result = run("scan", str(table), "--format", "json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert {c for c, v in info["columns"].items() if v["class"] == "direct_identifier"} >= {"name", "id_card", "mobile", "address"}
    raw = pd.read_csv(table, dtype=str)
    assert raw["id_card"][0] not in result.stdout
    result = run("scan", str(table))
    assert result.exit_code == 0 and "direct_identifier" in result.stdout


def test_mask_needs_a_key_unless_told_ephemeral(table, tmp_path, monkeypatch):
    monkeypatch.delenv("BENTU_PSEUDONYM_KEY", raising=False)
    out = tmp_path / "out.csv"
    result = run("mask", str(table), str(out))
    assert result.exit_code == 2 and "No pseudonymisation key" in result.stderr and not out.exists()
    result = run("mask", str(table), str(out), "--ephemeral-key")
    assert result.exit_code == 0, result.output
    assert "key: ephemeral" in result.stderr


def test_mask_pseudonymises_consistently_and_never_keeps_raw_values(table, tmp_path, key_env):
    out1, out2 = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run("mask", str(table), str(out1)).exit_code == 0
    assert run("mask", str(table), str(out2)).exit_code == 0
    raw, a, b = (pd.read_csv(p, dtype=str) for p in (table, out1, out2))
    assert a.equals(b)  # same key → same pseudonyms: records join across files
    text = out1.read_text(encoding="utf-8")
    for col in ("name", "id_card", "mobile"):
        assert not any(v in text for v in raw[col].head(50))
    assert a["age"].equals(raw["age"]) and a["amount"].equals(raw["amount"])
    assert (a["address"].str.len() < raw["address"].str.len()).all()  # generalised to the city


def test_mask_policy_and_text_files(table, tmp_path, key_env):
    policy = tmp_path / "p.yaml"
    policy.write_text("types:\n  CN_PHONE: {op: mask}\n  PERSON: {op: mask}\ncolumns:\n  age: {op: generalize, width: 10}\n",
                      encoding="utf-8")
    out = tmp_path / "o.csv"
    assert run("mask", str(table), str(out), "--policy", str(policy)).exit_code == 0
    df = pd.read_csv(out, dtype=str)
    assert df["mobile"].str.fullmatch(r"\d{3}\*{4}\d{4}").all()
    assert set(df["age"].astype(float) % 10) == {4.5}
    txt = tmp_path / "notes.txt"
    txt.write_text("患者李娜，电话13800138000。\n无个人信息\n", encoding="utf-8")
    out = tmp_path / "notes.out.txt"
    assert run("mask", str(txt), str(out), "--policy", str(policy)).exit_code != 0  # columns on text
    policy.write_text("types:\n  CN_PHONE: {op: mask}\n  PERSON: {op: mask}\n", encoding="utf-8")
    assert run("mask", str(txt), str(out), "--policy", str(policy)).exit_code == 0
    assert out.read_text(encoding="utf-8") == "患者李*，电话138****8000。\n无个人信息\n"


@pytest.mark.parametrize("case", ["gbk", "binary", "same", "unknown_type", "unknown_column", "missing"])
def test_bad_input_gets_a_clear_error(case, table, tmp_path, key_env):
    inp, out, extra = table, tmp_path / "o.csv", []
    if case == "gbk":
        inp = tmp_path / "gbk.txt"
        inp.write_bytes("客户张伟的手机13800138000\n".encode("gb18030"))
        expected = f"File '{inp}' is not UTF-8: it looks like GBK/GB18030"
    elif case == "binary":
        inp = tmp_path / "x.bin"
        inp.write_bytes(bytes(range(256)) * 4)
        expected = f"File '{inp}' is binary, not text (it contains NUL bytes)."
    elif case == "same":
        out = table
        expected = f"The output path '{table}' is the input file."
    elif case == "missing":
        inp = tmp_path / "nope.csv"
        expected = f"Input file '{inp}' does not exist."
    else:
        policy = tmp_path / "p.yaml"
        policy.write_text("types:\n  CN_IDCARD: mask\n" if case == "unknown_type" else "columns:\n  mobil: mask\n",
                          encoding="utf-8")
        extra = ["--policy", str(policy)]
        expected = (f"Policy '{policy}' names unknown PII type 'CN_IDCARD'." if case == "unknown_type"
                    else f"Policy '{policy}' names column(s) 'mobil' that the data does not have.")
    result = run("mask", str(inp), str(out), *extra, "--lang", "en")
    assert result.exit_code == 2
    assert expected in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    if case != "same":
        assert not out.exists()


def test_gbk_input_accepted_with_encoding_option(tmp_path, key_env):
    inp = tmp_path / "gbk.txt"
    inp.write_bytes("客户张伟的手机13800138000\n".encode("gb18030"))
    out = tmp_path / "o.txt"
    assert run("mask", str(inp), str(out), "--encoding", "gb18030").exit_code == 0
    assert "13800138000" not in out.read_text(encoding="utf-8")


def _mask_child(inp, out):
    env = {**os.environ, "PYTHONPATH": SRC, "BENTU_PSEUDONYM_KEY": "k" * 32}
    return subprocess.Popen([sys.executable, "-m", "bentu.cli.pii", "mask", str(inp), str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_mask_memory_stays_bounded(tmp_path):
    inp = tmp_path / "big.csv"
    write_table_csv(inp, 4_000_000, seed=5)
    child = _mask_child(inp, tmp_path / "out.csv")
    peak = peak_rss_kib(child, interval=0.02)
    assert child.wait() == 0, child.stderr.read().decode()
    assert 0 < peak < 300 * 1024  # KiB: constant memory, far below the 500 MB target


def test_mask_killed_halfway_leaves_no_output(tmp_path):
    inp = tmp_path / "big.csv"
    write_table_csv(inp, 4_000_000, seed=6)
    out = tmp_path / "out.csv"
    child = _mask_child(inp, out)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".out.csv.*.part")):
        time.sleep(0.05)
    time.sleep(0.3)
    assert child.poll() is None, "mask finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not out.exists()


# --- pii mask masks every row and every field; its counts are true --------------------------------
# The checks below use their own identity-number checksum (GB 11643-1999) and mobile pattern,
# not bentu's detectors.

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_RE = __import__("re").compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
_MOBILE_RE = __import__("re").compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def _id_ok(s: str) -> bool:
    return "10X98765432"[sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS)) % 11] == s[17].upper()


def _raw_identifiers(text: str) -> list[str]:
    return [m for m in _ID_RE.findall(text) if _id_ok(m)] + _MOBILE_RE.findall(text)


def _make_id(rng, digit_check: bool = False) -> str:
    while True:
        body = f"{rng.choice((110101, 310104, 440305, 510107))}{rng.randint(1960, 2004)}" \
               f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11]
        if not digit_check or check != "X":
            return body + check


def _make_mobile(rng) -> str:
    return rng.choice(("138", "159", "186", "135")) + f"{rng.randrange(10 ** 8):08d}"


def _printed_total(result) -> int:
    import re

    m = re.search(r"records, (\d+) PII values replaced", result.stderr)
    assert m, result.stderr
    return int(m.group(1))


def test_mask_csv_late_identifiers_and_fields_beyond_the_header(tmp_path, key_env):
    import csv
    import random

    rng = random.Random(7)
    ids = [_make_id(rng) for _ in range(120)]
    mobiles = [_make_mobile(rng) for _ in range(60)]
    early_mobile = _make_mobile(rng)
    rows = [["note", "kind", "amount", f"seen {_make_mobile(rng)}"]]  # even a header cell
    for i in range(1500):
        note, kind = rng.choice(("ok", "fine", "follow up", "paid")), rng.choice(("A", "B", "C"))
        row = [note, kind, f"{rng.uniform(10, 9000):.2f}", ""]
        if 1100 <= i < 1200:  # a free-text column clean in the first 1,000 rows
            row[0] = f"customer id {ids[i - 1100]} called"
        if 1200 <= i < 1260:  # a categorical column that holds mobiles later
            row[1] = mobiles[i - 1200]
        if 1300 <= i < 1320:  # fields beyond the header
            row += ["extra", f"id={ids[100 + i - 1300]}"]
        if i == 3:  # a field beyond the header in the rows the columns are classified from
            row += [f"tel {early_mobile}"]
        rows.append(row)
    inp, out = tmp_path / "late.csv", tmp_path / "late.masked.csv"
    with inp.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    planted = _raw_identifiers(inp.read_text(encoding="utf-8"))
    assert len(planted) == 182  # the test's own count
    result = run("mask", str(inp), str(out), "--lang", "en")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert _raw_identifiers(text) == []
    assert not any(v in text for v in [*ids, *mobiles, early_mobile])
    assert _printed_total(result) == len(planted)
    masked = list(csv.reader(text.splitlines()))
    assert len(masked) == len(rows) and [len(r) for r in masked] == [len(r) for r in rows]
    assert [r[2] for r in masked] == [r[2] for r in rows]  # measurements untouched
    assert masked[5] == rows[5]  # clean rows untouched
    assert masked[0][:3] == rows[0][:3] and masked[0][3].startswith("seen ")


def test_mask_jsonl_every_value_key_number_and_line(tmp_path, key_env):
    import random

    rng = random.Random(11)
    id_a, id_b, id_num, id_key = (_make_id(rng, digit_check=True) for _ in range(4))
    mob_a, mob_b, mob_num, mob_line = (_make_mobile(rng) for _ in range(4))
    values = [
        {"id": 1, "text": "no personal data"},
        {"id": 2, "patient": {"contact": {"phone": f"call {mob_a}"}}},  # nested object
        {"id": 3, "tags": ["x", f"ID {id_a}", [f"mobile {mob_b}"]]},  # arrays, nested
        {"id": 4, "id_number": int(id_num), "mobile": int(mob_num), "count": 12},  # numbers
        {"id": 5, "by_id": {id_key: "seen"}},  # a JSON key
        f"free text line with {id_b}",  # a bare string per line
        ["array line", mob_line, 3.5],  # a bare array per line
        42,
    ]
    inp, out = tmp_path / "records.jsonl", tmp_path / "records.masked.jsonl"
    inp.write_text("".join(json.dumps(v, ensure_ascii=False) + "\n" for v in values), encoding="utf-8")
    planted = _raw_identifiers(inp.read_text(encoding="utf-8"))
    assert len(planted) == 8
    result = run("mask", str(inp), str(out), "--lang", "en")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert _raw_identifiers(text) == []
    assert not any(v in text for v in (id_a, id_b, id_num, id_key, mob_a, mob_b, mob_num, mob_line))
    assert _printed_total(result) == len(planted)
    masked = [json.loads(line) for line in text.splitlines()]
    assert masked[0] == values[0] and masked[7] == 42
    assert masked[3]["count"] == 12 and isinstance(masked[3]["id_number"], str)
    assert masked[6][0] == "array line" and masked[6][2] == 3.5
    assert list(masked[4]["by_id"].values()) == ["seen"]


def test_mask_refuses_an_existing_output_unless_forced(tmp_path, key_env):
    inp, out = tmp_path / "in.txt", tmp_path / "out.txt"
    inp.write_text("电话13800138000\n", encoding="utf-8")
    out.write_text("not yours\n", encoding="utf-8")
    result = run("mask", str(inp), str(out), "--lang", "en")
    assert result.exit_code == 2
    assert (f"The output file '{out}' already exists. bentu pii mask does not overwrite a file it did not "
            "create: remove it, give another path, or pass --force.") in " ".join(result.stderr.split())
    assert out.read_text(encoding="utf-8") == "not yours\n"
    result = run("mask", str(inp), str(out), "--force", "--lang", "en")
    assert result.exit_code == 0 and _raw_identifiers(out.read_text(encoding="utf-8")) == []
    result = run("mask", str(inp), str(inp), "--force", "--lang", "en")  # never the input, even forced
    assert result.exit_code == 2 and f"The output path '{inp}' is the input file." in result.stderr


def test_mask_identifiers_glued_to_latin_letters(tmp_path, key_env):
    import random

    rng = random.Random(23)
    ids = [_make_id(rng) for _ in range(200)]
    mobiles = [_make_mobile(rng) for _ in range(50)]
    lines = [f"ID{v}abc" for v in ids] + [f"tel{m}x" for m in mobiles]
    inp, out = tmp_path / "glued.txt", tmp_path / "glued.masked.txt"
    inp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("mask", str(inp), str(out), "--lang", "en")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    # the test's own search: an 18-character ID or an 11-digit mobile anywhere, letters around or not
    import re

    leaked = [v for v in ids if v in text] + [m for m in mobiles if m in text]
    assert leaked == [] and re.findall(r"[1-9][0-9]{16}[0-9Xx]", text) == []
    assert _printed_total(result) == len(ids) + len(mobiles)


def test_policy_alias_bomb_fails_fast(tmp_path, key_env):
    import time as _time

    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi")) + "types: *i\n"
    (tmp_path / "policy.yaml").write_text(bomb, encoding="utf-8")
    (tmp_path / "in.txt").write_text("电话13800138000\n", encoding="utf-8")
    start = _time.monotonic()
    result = run("mask", str(tmp_path / "in.txt"), str(tmp_path / "out.txt"), "--policy", str(tmp_path / "policy.yaml"),
                 "--lang", "en")
    assert _time.monotonic() - start < 2
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"Policy file '{tmp_path / 'policy.yaml'}' cannot be parsed: its aliases (*name) expand to more than " \
           "100,000 values" in " ".join(result.stderr.split())
    assert not (tmp_path / "out.txt").exists()
