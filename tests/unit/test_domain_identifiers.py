"""Subject identifiers: USCC, ID numbers (18 and 15 digits, masked), pre-USCC codes, masking."""
from __future__ import annotations

import random
import re

import pytest
from hypothesis import assume, given, strategies as st
from stdnum.cn import ric, uscc

from creditstream.domain import reasons as R
from creditstream.domain.identifiers import (compact, division_code, id15_to_18, identify_subject, is_masked_id,
                                             id_number_is_valid, mask_id_number, normalise_document_number,
                                             org_code_is_valid, routing_key, sex_from_id, uscc_is_valid,
                                             uscc_subject_type)
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Divisions with the first year python-stdnum's table knows them from (an ID number must not
# predate its division).
_DIVISIONS = {"110105": 1950, "420202": 1984, "420281": 1995, "350102": 1984, "330106": 1984, "310104": 1950}


def make_uscc(rng: random.Random, division: str | None = None, kind: str = "91") -> str:
    body = kind + (division or rng.choice(sorted(_DIVISIONS))) + "".join(rng.choice(_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def make_id_number(rng: random.Random, division: str | None = None) -> str:
    division = division or rng.choice(sorted(_DIVISIONS))
    year = rng.randrange(max(_DIVISIONS.get(division, 1984), 1950), 2005)
    body = f"{division}{year}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
    number = body + ric.calc_check_digit(body + "0")
    assert ric.is_valid(number), number
    return number
seeds = st.integers(min_value=0, max_value=2**32)


def org(code):
    return identify_subject({"type": "LEGAL_PERSON", "uscc": code})


def person(number, **extra):
    return identify_subject({"type": "NATURAL_PERSON", "id_number": number, **extra})


@given(seeds)
def test_valid_usccs_are_accepted_and_any_one_changed_character_is_rejected(seed):
    rng = random.Random(seed)
    code = make_uscc(rng)
    assert org(code) == (code, "USCC", (), ())
    position = rng.randrange(18)
    replacement = rng.choice([c for c in _ALPHABET if c != code[position]])
    broken = code[:position] + replacement + code[position + 1:]
    assume(not uscc.is_valid(broken))  # a changed region digit can collide with the check
    result = org(broken)
    assert [p.code for p in result.problems] == [R.INVALID_USCC]


def test_pilot_usccs_pass_only_when_the_deployment_lists_them():
    code = make_uscc(random.Random(3))
    pilot = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert org(pilot).problems
    allowed = identify_subject({"type": "LEGAL_PERSON", "uscc": pilot}, frozenset({pilot}))
    assert allowed.problems == () and allowed.flags == ("CHECKSUM_PILOT",)


def test_uscc_spacing_and_case_do_not_matter():
    code = make_uscc(random.Random(5))
    assert org(" " + code[:8].lower() + " " + code[8:].lower() + "\u3000").key == code


@given(seeds)
def test_valid_18_digit_id_numbers(seed):
    number = make_id_number(random.Random(seed))
    assert person(number) == (number, "ID_NUMBER", (), ())
    assert person(number.lower()).key == number


@given(seeds)
def test_a_changed_id_digit_is_invalid_and_the_message_shows_it_masked(seed):
    rng = random.Random(seed)
    number = make_id_number(rng)
    position = rng.randrange(17)
    broken = number[:position] + str((int(number[position]) + 1) % 10) + number[position + 1:]
    assume(not ric.is_valid(broken))
    result = person(broken)
    assert [p.code for p in result.problems] == [R.INVALID_ID_NUMBER]
    assert broken not in result.problems[0].message
    assert mask_id_number(broken) in result.problems[0].message


@given(seeds)
def test_old_15_digit_numbers_are_keyed_by_their_18_digit_form(seed):
    rng = random.Random(seed)
    full = make_id_number(rng)
    assume(full[6:8] == "19")
    old = full[:6] + full[8:17]
    result = person(old)
    assert result.key == full and result.flags == ("OLD_ID_NUMBER",) and not result.problems


@st.composite
def uscc_candidates(draw):
    """Valid codes, codes with one character changed, and uscc-like text (lower case, spaces,
    letters the alphabet leaves out, wrong lengths)."""
    kind = draw(st.sampled_from(["valid", "changed", "text"]))
    if kind == "text":
        return draw(st.text(alphabet=_ALPHABET + "IOSVZa -", min_size=16, max_size=20))
    code = make_uscc(random.Random(draw(seeds)))
    if kind == "changed":
        position = draw(st.integers(0, 17))
        code = code[:position] + draw(st.sampled_from(_ALPHABET)) + code[position + 1:]
    return code


@st.composite
def id_number_candidates(draw):
    """Valid numbers, and numbers of any division (unknown ones too), year, month and day, with a
    right or a wrong check character, and id-like text."""
    kind = draw(st.sampled_from(["valid", "built", "text"]))
    if kind == "valid":
        return make_id_number(random.Random(draw(seeds)))
    if kind == "text":
        return draw(st.text(alphabet="0123456789Xx ", min_size=17, max_size=19))
    division = draw(st.sampled_from(sorted(_DIVISIONS) + ["999999", "110000", "000000", "230751"]))
    body = (f"{division}{draw(st.integers(1850, 2030))}{draw(st.integers(0, 13)):02d}"
            f"{draw(st.integers(0, 32)):02d}{draw(st.integers(0, 999)):03d}")
    return body + (ric.calc_check_digit(body + "0") if draw(st.booleans()) else draw(st.sampled_from("0123456789Xx")))


@given(uscc_candidates())
def test_the_uscc_check_gives_python_stdnums_verdict(code):
    assert uscc_is_valid(code) == uscc.is_valid(code)


@given(id_number_candidates())
def test_the_id_number_check_gives_python_stdnums_verdict(number):
    assert id_number_is_valid(number) == ric.is_valid(number)


def test_impossible_15_digit_numbers_are_invalid():
    assert id15_to_18("110105491331002") is None  # month 13
    assert person("999999491231002").problems


@pytest.mark.parametrize("masked", ["3423011964****3224", "342301196401****24", "342301********3224", "3423011964＊＊＊＊322X"])
def test_masked_id_numbers_are_recognised_not_rejected(masked):
    assert is_masked_id(masked)
    result = person(masked)
    assert result.kind == "ID_NUMBER_MASKED" and not result.problems


def test_other_identity_documents_are_not_checked_as_id_cards():
    result = person("E12345678", id_type="护照号")
    assert result.kind == "OTHER" and not result.problems


@pytest.mark.parametrize("code", ["D2143569X", "600037341", "D2143569-X"])
def test_organisation_codes_are_pre_uscc_identifiers(code):
    result = org(code)
    assert result.kind == "ORG_CODE" and result.flags == ("PRE_USCC_CODE",) and not result.problems


def test_a_wrong_organisation_code_check_is_rejected():
    assert not org_code_is_valid("D2143569Y")
    assert [p.code for p in org("D21435691").problems] == [R.INVALID_ORG_CODE]


def test_tax_registration_numbers_are_division_plus_organisation_code():
    result = org("420202600037341")
    assert result.kind == "TAX_NUMBER" and not result.problems
    assert [p.code for p in org("420202600037342").problems] == [R.INVALID_TAX_NUMBER]


def test_wrong_length_is_an_invalid_uscc():
    assert [p.code for p in org("9142020012345").problems] == [R.INVALID_USCC]


def test_other_ids_stand_in_when_the_uscc_is_missing():
    result = identify_subject({"type": "LEGAL_PERSON", "uscc": None, "other_ids": {"org_code": "600037341"}})
    assert result.key == "600037341"


def test_missing_subject_id_has_an_empty_key():
    assert identify_subject({"type": "LEGAL_PERSON"}).key == ""
    assert identify_subject({"type": "NATURAL_PERSON", "id_number": "  "}).key == ""


@given(seeds)
def test_masking_keeps_division_and_birth_year_and_hides_the_rest(seed):
    number = make_id_number(random.Random(seed))
    masked = mask_id_number(number)
    assert masked[:10] == number[:10] and masked[10:14] == "****" and masked[14:] == number[14:]
    assert is_masked_id(masked)
    assert mask_id_number(masked) == masked


@given(st.text(alphabet="0123456789X", min_size=5, max_size=30))
def test_masking_never_returns_the_number_itself(number):
    assert mask_id_number(number) != number or is_masked_id(number)


def test_routing_key_is_the_subject_key():
    full = make_id_number(random.Random(8))
    assume_old = full[:6] + full[8:17]
    if full[6:8] == "19":
        assert routing_key({"type": "NATURAL_PERSON", "id_number": assume_old}) == full
    code = make_uscc(random.Random(9))
    assert routing_key({"type": "LEGAL_PERSON", "uscc": code.lower()}) == code
    assert routing_key({"type": "VEHICLE", "plate": "鄂B 12345"}) == "鄂B12345"


def test_subject_type_and_division_from_the_uscc():
    assert uscc_subject_type("92420202MA4ABCDE1X") == "INDIVIDUAL_BUSINESS"
    assert uscc_subject_type("91420202MA4ABCDE1X") == "LEGAL_PERSON"
    assert uscc_subject_type("52420202MA4ABCDE1X") == "LEGAL_PERSON"
    assert division_code("91420202MA4ABCDE1X", "USCC") == "420202"
    assert division_code("420202196401010011", "ID_NUMBER") == "420202"
    assert division_code("600037341", "ORG_CODE") is None


@given(seeds)
def test_sex_from_the_17th_digit(seed):
    number = make_id_number(random.Random(seed))
    assert sex_from_id(number, "ID_NUMBER") == ("M" if int(number[16]) % 2 else "F")
    assert sex_from_id(mask_id_number(number), "ID_NUMBER_MASKED") is None


@given(st.text(alphabet="（）() 　（2014）沪0115执12号", max_size=30))
def test_document_numbers_compare_equal_whatever_the_bracket_width(text):
    out = normalise_document_number(text)
    assert out is None or (not re.search(r"[\s（）\u3000]", out))


def test_document_number_brackets():
    assert normalise_document_number("（2014）沪0115执12号") == normalise_document_number("(2014) 沪0115执12号")


def test_compact():
    assert compact(" 9142 0202-mA\u3000") == "91420202MA"
