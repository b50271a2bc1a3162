"""The evaluation formula: four scores, weights over the scores that apply, 优/良/中/差."""
from __future__ import annotations

from datetime import date

import pytest

from creditstream.reports.evaluation import EvaluationInputs, scores, set_due, total_and_grade


def inputs(**overrides) -> EvaluationInputs:
    values = dict(sets_due=4, sets_reported=3, dated_records=10, late_records=2, deadlines_due=6, deadlines_met=4,
                  accepted=90, rejected=10, checks=5, blacklist_hits=4, feedback=2)
    values.update(overrides)
    return EvaluationInputs(**values)


def test_each_score_from_its_inputs():
    assert scores(inputs()) == {"volume": 75.0, "timeliness": pytest.approx(100 * 12 / 16), "quality": 90.0,
                                "use": 50.0}


def test_total_weights_thirty_twenty_five_thirty_fifteen():
    total, grade = total_and_grade({"volume": 80.0, "timeliness": 60.0, "quality": 90.0, "use": 40.0})
    assert total == (30 * 80 + 25 * 60 + 30 * 90 + 15 * 40) / 100 == 72.0
    assert grade == "中"


def test_scores_without_input_are_left_out_not_zero():
    parts = scores(inputs(dated_records=0, late_records=0, deadlines_due=0, deadlines_met=0, checks=0))
    assert parts["timeliness"] is None and parts["use"] is None
    assert total_and_grade(parts) == (round((30 * 75 + 30 * 90) / 60, 1), "良")
    assert total_and_grade(dict.fromkeys(("volume", "timeliness", "quality", "use"))) == (None, "差")


def test_use_counts_checks_until_feedback_is_stored():
    assert scores(inputs(feedback=None))["use"] == 100.0
    assert scores(inputs(blacklist_hits=0, feedback=0))["use"] == 100.0
    assert scores(inputs(feedback=9))["use"] == 100.0           # more answers than hits do not exceed 100


@pytest.mark.parametrize("total, grade", [(90.0, "优"), (89.9, "良"), (75.0, "良"), (74.9, "中"), (60.0, "中"),
                                          (59.9, "差")])
def test_grade_floors(total, grade):
    assert total_and_grade({"volume": total, "timeliness": None, "quality": None, "use": None}) == (total, grade)


def test_quarterly_and_yearly_sets_are_due_in_their_closing_month():
    october, december = [date(2026, 10, 1)], [date(2026, 12, 1)]
    assert set_due("月", october) and set_due("实时", october)
    assert not set_due("季度", october) and set_due("季度", december) and set_due("季度", [date(2026, 9, 1)])
    assert not set_due("年", october) and set_due("年", december)
