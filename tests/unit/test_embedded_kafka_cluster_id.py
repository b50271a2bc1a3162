"""The embedded broker's cluster id: never one a command line would read as an option."""
import uuid

from creditstream.embedded import kafka


def test_cluster_id_is_22_base64url_characters():
    cluster_id = kafka.new_cluster_id()
    assert len(cluster_id) == 22
    assert set(cluster_id) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_an_id_that_would_start_with_a_dash_is_drawn_again(monkeypatch):
    # 0xF8 as the first byte encodes to '-' in base64url: about one id in 64 did.
    drawn = iter([uuid.UUID(bytes=b"\xf8" + b"\x00" * 15), uuid.UUID(bytes=b"\x10" * 16)])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(drawn))
    assert kafka.new_cluster_id() == "EBAQEBAQEBAQEBAQEBAQEA"
