"""The audit sender keeps going when one record raises: counted, logged, the rest still sent."""
from checks.service import AuditSender

class P:
    pending = 0
    def __init__(self): self.sent = []
    def send(self, record, key=None, on_delivery=None): self.sent.append(record)
    def poll(self, t): pass
    def flush(self, t): return 0

def test_a_record_that_raises_is_counted_and_the_rest_still_sent():
    p = P(); a = AuditSender(p)
    a.emit_later(lambda: 1 / 0)
    a.emit({"check_id": "x"})
    a._drain(0)
    assert a.failed == 1 and p.sent == [{"check_id": "x"}]
