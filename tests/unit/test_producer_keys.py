"""The producer's message key is the domain's routing key, only cheaper."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from creditstream.domain.identifiers import routing_key
from producers.credit_producer import message_key
from producers.demo_feed import DemoFeed

ids = st.one_of(st.none(), st.just(""), st.sampled_from([
    "91420200EKB845UM02", "91420200AGEWK2AHX9", "420281757012345", "YPD557134", "12345678-9",
    "420202198811241149", "420202881124114", "4202021988****1149", " 9142 0200EKB845UM02 ", "abc"]),
    st.text("0123456789X*-", max_size=20))
subjects = st.fixed_dictionaries({
    "type": st.sampled_from(["LEGAL_PERSON", "INDIVIDUAL_BUSINESS", "NATURAL_PERSON", "VEHICLE", "UNKNOWN"]),
    "uscc": ids, "id_number": ids, "plate": st.one_of(st.none(), st.just("鄂B12345")),
    "id_type": st.sampled_from([None, "身份证", "护照号", "01"]),
    "other_ids": st.one_of(st.just({}), st.just({"org_code": "YPD557134"}), st.just({"tax_registration": "420281757012345"})),
})


@settings(max_examples=400, deadline=None)
@given(subjects)
def test_message_key_equals_routing_key(subject):
    assert message_key(subject) == routing_key(subject)


def test_message_key_equals_routing_key_on_the_demo_feed():
    feed = DemoFeed(seed=3, bad_share=0.2, bad_kinds=("checksum", "missing_id"))
    for event, _ in feed.events(2000):
        assert message_key(event["subject"]) == routing_key(event["subject"])
