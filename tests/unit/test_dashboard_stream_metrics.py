"""The worker's late and list metrics, read from what a batch commits to the tables: a listing
counts once, a repair takes the subject off, a late record counts for its unit, an aborted batch
counts nothing, and a restore recounts."""
from __future__ import annotations

from prometheus_client import REGISTRY

from stream_apps import metrics
from stream_apps.processing import BatchProcessor, BatchStats
from tests.unit.test_domain_assessment import NOW, make_event
from tests.unit.test_stream_processing import messages


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def commit(processor: BatchProcessor, events, first_offset: int = 0, now=NOW) -> None:
    """What the pipeline does around a batch: process, observe the pending changes, commit."""
    processor.process(messages(events, first_offset=first_offset), now, BatchStats())
    metrics.observe_changes(processor.tables)
    processor.tables.commit()


def test_a_listing_and_its_repair_move_the_black_list_size_and_flow():
    processor = BatchProcessor()
    metrics.count_listed(processor.tables.subject_to_list_state)
    joined = sample("creditstream_stream_list_changes_total", list="black", change="joined")
    left = sample("creditstream_stream_list_changes_total", list="black", change="left")
    listing = make_event(category="TAX_VIOLATION", catalog="TAX-ZDSS", source_unit="TAX-420200", event_id="m-tax-1")
    commit(processor, [listing])
    assert sample("creditstream_stream_list_subjects", list="black") == 1
    assert sample("creditstream_stream_list_changes_total", list="black", change="joined") == joined + 1

    again = make_event(category="TAX_VIOLATION", catalog="TAX-ZDSS", source_unit="TAX-420200", event_id="m-tax-2",
                       decision__document_number="（2024）鄂02税稽2号")
    commit(processor, [again], first_offset=1)  # a second basis for a listed subject: no new entry
    assert sample("creditstream_stream_list_subjects", list="black") == 1
    assert sample("creditstream_stream_list_changes_total", list="black", change="joined") == joined + 1

    repair = make_event(category="OTHER", catalog="XYB-XF", source_unit="XYB-420200", event_id="m-repair-1",
                        decision__document_number="黄信修〔2024〕1号", matter__name="信用修复")
    commit(processor, [repair], first_offset=2)
    assert sample("creditstream_stream_list_subjects", list="black") == 0
    assert sample("creditstream_stream_list_changes_total", list="black", change="left") == left + 1


def test_late_records_count_per_unit_and_an_aborted_batch_counts_nothing():
    unit = "WATER-LATE-TEST"
    late_event = make_event(source_unit=unit, event_id="m-late-1", decision__date="2024年8月1日")
    before = sample("creditstream_stream_late_total", unit=unit)
    processor = BatchProcessor()
    processor.process(messages([late_event]), NOW, BatchStats())
    processor.tables.abort()  # the transaction failed: nothing was published, nothing is counted
    assert sample("creditstream_stream_late_total", unit=unit) == before
    commit(processor, [late_event])
    assert sample("creditstream_stream_late_total", unit=unit) == before + 1
    on_time = make_event(source_unit=unit, event_id="m-late-2", decision__document_number="（2024）鄂02市监罚9号",
                         decision__date="2024年10月9日")
    commit(processor, [on_time], first_offset=1)
    assert sample("creditstream_stream_late_total", unit=unit) == before + 1


def test_a_restored_partition_is_recounted_and_a_revoked_one_forgotten():
    processor = BatchProcessor()
    listing = make_event(category="COURT_DISHONEST", catalog="COURT-SXBZXR", person=True, event_id="m-court-1")
    commit(processor, [listing])
    table = processor.tables.subject_to_list_state
    metrics.count_listed(table)
    assert sample("creditstream_stream_list_subjects", list="black") == 1
    table.drop([0])
    metrics.count_listed(table)
    assert sample("creditstream_stream_list_subjects", list="black") == 0
    assert sample("creditstream_stream_list_subjects", list="red") == 0
