"""Loaders of interaction logs: DKT synthetic (real file), ASSISTments 2009 and pyKT (fixtures)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from bentu.datasets.interactions import (
    dkt_synthetic_path, load_assistments2009, load_dkt_synthetic, load_dkt_synthetic_concepts, load_pykt,
)
from bentu.errors import DataError

from _learning_helpers import DATA_ROOT

ASSIST = """order_id,assignment_id,user_id,problem_id,original,correct,attempt_count,skill_id,skill_name
33,1,70363,51424,1,1,1,10,Box and Whisker
31,1,70363,51425,1,0,2,10,Box and Whisker
35,1,70363,51426,1,1,1,,
40,2,70364,51427,1,0,1,277,Percents
41,2,70364,51428,1,1,1,10,Box and Whisker
"""


def test_dkt_synthetic_real_file():
    data = load_dkt_synthetic(dkt_synthetic_path(DATA_ROOT, concepts=5, version=0))
    assert len(data) == 4000 and data.n_exercises == 50 and data.n_answers == 200_000
    assert np.array_equal(data.exercises[7], np.arange(50))  # every student answers 0..49 in order
    assert abs(np.concatenate(data.responses).mean() - 0.6078) < 1e-4  # PROVENANCE.md
    concept_of, difficulty = load_dkt_synthetic_concepts(DATA_ROOT / "dkt_synthetic/info/naive_c5_q50_s4000_v0_info.txt")
    assert set(concept_of) == set(range(5)) and len(difficulty) == 50


def test_dkt_synthetic_bad_value(tmp_path):
    p = tmp_path / "bad.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("0,1,1\n1,2,0\n")
    with pytest.raises(DataError) as err:
        load_dkt_synthetic(p)
    assert err.value.en == f"{p}: row 2, column 2 holds '2'; correctness must be 0 or 1."


def test_dkt_synthetic_missing_file_names_path_and_source(tmp_path):
    with pytest.raises(DataError) as err:
        load_dkt_synthetic(dkt_synthetic_path(tmp_path, version=3))
    assert str(tmp_path / "dkt_synthetic" / "naive_c5_q50_s4000_v3.csv.gz") in err.value.en
    assert "chrispiech/DeepKnowledgeTracing" in err.value.en and "BENTU_DATA" in err.value.en


def test_assistments_orders_by_order_id_and_drops_rows_without_skill(tmp_path):
    p = tmp_path / "skill_builder_data.csv"
    p.write_text(ASSIST)
    data = load_assistments2009(p)
    assert data.students == ["70363", "70364"]
    assert data.exercise_names == ["10", "277"]
    # user 70363: order 31 (wrong) before 33 (right); the row without skill_id is dropped
    assert data.exercises[0].tolist() == [0, 0] and data.responses[0].tolist() == [0, 1]
    assert data.exercises[1].tolist() == [1, 0] and data.responses[1].tolist() == [0, 1]


def test_assistments_unknown_column(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(ASSIST.replace("skill_name", "skil_name").replace("attempt_count", "score"))
    with pytest.raises(DataError) as err:
        load_assistments2009(p)
    assert err.value.en.startswith(
        f"{p} is not in the ASSISTments 2009 skill-builder layout: unknown column(s) 'score', 'skil_name'. Expected columns from: order_id,"
    )


def test_assistments_correct_not_binary(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(ASSIST.replace("40,2,70364,51427,1,0,", "40,2,70364,51427,1,0.5,"))
    with pytest.raises(DataError) as err:
        load_assistments2009(p)
    assert err.value.en.startswith(f"{p}: column 'correct' at line 5 holds '0.5'; correctness must be 0 or 1 (1 such value(s)).")


def test_assistments_missing_required_column(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("user_id,correct\n1,0\n")
    with pytest.raises(DataError, match="missing required column\\(s\\) 'skill_id'"):
        load_assistments2009(p)


PYKT = """fold,uid,questions,concepts,responses,selectmasks,is_repeat
0,u1,"1,2,3,-1","7,8_9,8_9,-1","1,0,0,-1","1,1,1,-1","0,0,1,0"
0,u2,"4,5,-1,-1","9,7,-1,-1","0,1,-1,-1","1,1,-1,-1","0,0,0,0"
0,u1,"6,-1,-1,-1","7,-1,-1,-1","1,-1,-1,-1","1,-1,-1,-1","0,0,0,0"
"""


def test_pykt_padding_repeats_and_windows(tmp_path):
    p = tmp_path / "train_valid_sequences.csv"
    p.write_text(PYKT)
    data = load_pykt(p)
    assert data.students == ["u1", "u2"]
    assert data.exercise_names == ["7", "8", "9"]
    assert data.exercises[0].tolist() == [0, 1, 0]  # repeated row dropped, windows of u1 joined
    assert data.responses[0].tolist() == [1, 0, 1]
    assert data.exercises[1].tolist() == [2, 0] and data.responses[1].tolist() == [0, 1]


def test_pykt_student_without_answers(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text(PYKT + '0,u3,"1,-1","7,-1","-1,-1","-1,-1","0,0"\n')
    with pytest.raises(DataError) as err:
        load_pykt(p)
    assert err.value.en == f"{p}: student(s) 'u3' have no answers (only padding). Remove them before loading."


def test_pykt_bad_response_and_unknown_column(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text(PYKT.replace('"0,1,-1,-1"', '"0,3,-1,-1"'))
    with pytest.raises(DataError) as err:
        load_pykt(p)
    assert err.value.en == f"{p}: line 3, column 'responses' holds '3'; correctness must be 0 or 1 (-1 = padding)."
    p.write_text(PYKT.replace("is_repeat", "grade"))
    with pytest.raises(DataError, match="unknown column\\(s\\) 'grade'"):
        load_pykt(p)


def test_info_files_with_commas_are_read():
    # v0's info file is tab-separated, the other versions comma-separated
    c1, d1 = load_dkt_synthetic_concepts(DATA_ROOT / "dkt_synthetic/info/naive_c5_q50_s4000_v1_info.txt")
    assert len(c1) == 50 and set(c1) == set(range(5)) and np.isfinite(d1).all()
