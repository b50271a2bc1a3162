"""The interface mode (接口对接): a unit's system pushes a JSON array of records.

All or nothing: every record is mapped and validated with the stream's own rules first; if any
fails, the answer is 422 naming each problem by record index and field, and nothing is sent. If all
pass, all are sent and the answer waits for Kafka's acknowledgement: 202 with one receipt (event id)
per record, or 503 when the broker did not take them all — resending the whole request is then
safe, because event ids are deterministic and replays are dropped downstream.

Records may use any known layout's field names (XK_*/CF_* codes, Chinese headers, the court's
keys ...) or the platform's own (``subject.uscc`` or nested ``{"subject": {"uscc": ...}}``).
"""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from creditstream.auth.http import read_json as read_json_within
from creditstream.auth.tokens import TokenInfo
from producers.batch_file import LoadOptions, catalog_category, choose_layout
from producers.file_formats import FileProblem, records_to_sheet
from producers.http_app import IngestContext, Limits, Problem, context, require
from producers.layouts import LayoutProblem, RowMapper
from producers.verdict import verdict
from producers.zero_report import ZeroReportProblem, zero_report, zero_report_key

router = APIRouter()

_UNIT_KEYS = ("source_unit", "unit")
# What the adapter notices that the stream's rules would not name: said back to the sender.
_MAPPING_PROBLEMS = {"unknown_category": ("category", "信息类别取值未知 unknown category value"),
                     "unknown_subject_type": ("subject.type", "主体类别取值未知 unknown subject type value")}


async def read_json(request: Request, limits: Limits):
    """The request body as JSON, within the ingest size limit."""
    return await read_json_within(request, limits.max_body_bytes, "split the records over several requests")


@dataclass
class Prepared:
    """Records mapped to events, each with the stream's verdict, and every problem found."""
    request_id: str
    layout: str
    events: list[dict] = field(default_factory=list)
    verdicts: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)


def prepare(records: list, token: TokenInfo, *, limits: Limits, mode: str, source_format: str,
            layout: str | None = None, catalog: str | None = None, category: str | None = None,
            now: datetime | None = None) -> Prepared:
    now = now or datetime.now(timezone.utc)
    if not isinstance(records, list):
        raise Problem(422, "请求格式错误 invalid request", "the body must be a JSON array of records", kind="invalid-request")
    if not records:
        raise Problem(422, "没有记录 no records", "the array is empty; a unit with nothing new files a zero report "
                      "(POST /v1/zero-reports)", kind="invalid-request")
    if len(records) > limits.max_records:
        raise Problem(413, "记录过多 too many records", f"at most {limits.max_records:,} records per request",
                      kind="too-large")
    problems: list[dict] = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append({"record": i, "code": "not_an_object", "field": "", "message": "记录须为 JSON 对象 "
                             "a record must be a JSON object"})
            continue
        for key in _UNIT_KEYS:
            claimed = record.get(key)
            if claimed not in (None, "") and str(claimed).strip() != token.unit:
                raise Problem(403, "不能代报 a unit reports only for itself",
                              f"record {i} names unit {claimed!r}; this token reports for {token.unit!r}",
                              kind="forbidden")
        for key, value in record.items():
            if isinstance(value, str) and len(value) > limits.max_value_chars:
                problems.append({"record": i, "code": "value_too_long", "field": key,
                                 "message": f"字段过长 longer than {limits.max_value_chars} characters"})
    if problems:
        raise Problem(422, "记录格式错误 records malformed; nothing was accepted", problems=problems,
                      kind="rejected-records", accepted=0)
    request_id = uuid.uuid4().hex[:16]
    try:
        sheet = records_to_sheet("request", [(str(i), r) for i, r in enumerate(records)])
    except FileProblem as exc:
        raise Problem(422, "请求格式错误 invalid request", exc.message, kind="invalid-request") from None
    rows = iter(sheet.rows)
    _, header = next(rows)
    # As the file adapter does: an indicator set named without a category implies its category
    # (unless the layout carries its own).
    implied = category or catalog_category(catalog)
    options = LoadOptions(unit=token.unit, catalog=catalog, layout=layout, category=category, mode=mode)
    try:
        chosen = choose_layout(header, options)
        mapper = RowMapper(chosen, header, unit=token.unit, catalog=catalog,
                           category=implied if implied and not chosen.category else category, mode=mode,
                           source_format=source_format, source_name=f"{source_format}-{request_id}",
                           header_row="keys", reported_by=f"token:{token.id}")
    except LayoutProblem as exc:
        raise Problem(422, "字段无法识别 record fields not recognised", str(exc), kind="layout",
                      problems=[{"record": None, "code": "layout", "field": exc.column or "", "message": str(exc)}]) \
            from None
    prepared = Prepared(request_id, chosen.name)
    reported_at = int(now.timestamp() * 1000)
    for ref, values in rows:
        i = int(ref)
        before = Counter(mapper.problems)
        event = mapper.event(values, ref, reported_at)
        result = verdict(event, now)
        for kind in (mapper.problems - before):
            if kind in _MAPPING_PROBLEMS:
                name, message = _MAPPING_PROBLEMS[kind]
                result = {**result, "status": "rejected",
                          "reasons": [*result["reasons"], {"code": kind, "field": name, "message": message}]}
        prepared.events.append(event)
        prepared.verdicts.append(result)
        prepared.problems += [{"record": i, **reason} for reason in result["reasons"]]
    return prepared


class _RequestDeliveries:
    """Failure reports of one request's messages (the producer reports failures only)."""

    def __init__(self):
        self.failed: Counter[str] = Counter()

    def __call__(self, err) -> None:
        if err is not None:
            self.failed[str(err.name())] += 1


def _send_and_wait(producer, messages: list[tuple[dict, str | None]], timeout: float) -> int:
    """How many of ``messages`` the broker acknowledged: all of them once the producer's queue has
    drained without a failure report for them; none is counted while any is still queued."""
    deliveries = _RequestDeliveries()
    for record, key in messages:
        producer.send(record, key=key, on_delivery=deliveries)
    if producer.flush(timeout) > 0:
        return 0
    return len(messages) - sum(deliveries.failed.values())


async def deliver(ctx_producer, messages: list[tuple[dict, str | None]], timeout: float) -> None:
    """Send and wait for the broker's acknowledgement of every message, or raise 503."""
    acknowledged = await run_in_threadpool(_send_and_wait, ctx_producer, messages, timeout)
    if acknowledged != len(messages):
        raise Problem(503, "暂时无法接收 not all records reached the broker",
                      f"{acknowledged} of {len(messages)} acknowledged; send the whole request again: records "
                      "already taken keep their event ids and are not doubled",
                      kind="unavailable", headers={"Retry-After": "5"})


async def accept_records(ctx: IngestContext, token: TokenInfo, records, *, mode: str, source_format: str,
                         layout: str | None = None, catalog: str | None = None, category: str | None = None) -> dict:
    prepared = prepare(records, token, limits=ctx.limits, mode=mode, source_format=source_format, layout=layout,
                       catalog=catalog, category=category)
    if prepared.problems:
        rejected = sum(1 for v in prepared.verdicts if v["status"] == "rejected")
        raise Problem(422, "记录未通过校验 records rejected; nothing was accepted",
                      f"{rejected} of {len(prepared.events)} records fail validation; fix them and send the whole "
                      "request again", problems=prepared.problems, kind="rejected-records", accepted=0,
                      layout=prepared.layout)
    await deliver(ctx.events, [(event, None) for event in prepared.events], ctx.delivery_timeout)
    return {"request_id": prepared.request_id, "unit": token.unit, "layout": prepared.layout,
            "accepted": len(prepared.events),
            "receipts": [{"record": i, "event_id": e["event_id"], "source_ref": e["source_ref"],
                          "subject": v["subject"]}
                         for i, (e, v) in enumerate(zip(prepared.events, prepared.verdicts))]}


def check_records(ctx: IngestContext, token: TokenInfo, records, *, mode: str, source_format: str,
                  layout: str | None = None, catalog: str | None = None, category: str | None = None) -> dict:
    prepared = prepare(records, token, limits=ctx.limits, mode=mode, source_format=source_format, layout=layout,
                       catalog=catalog, category=category)
    return {"layout": prepared.layout,
            "records": [{"record": i, "status": v["status"], "reasons": v["reasons"], "subject": v["subject"],
                         "event_id": e["event_id"]}
                        for i, (e, v) in enumerate(zip(prepared.events, prepared.verdicts))]}


async def accept_zero_report(ctx: IngestContext, token: TokenInfo, body, mode: str) -> dict:
    if not isinstance(body, dict):
        raise Problem(422, "请求格式错误 invalid request", "expected {catalog, period, note}", kind="invalid-request")
    claimed = body.get("source_unit") or body.get("unit")
    if claimed and str(claimed).strip() != token.unit:
        raise Problem(403, "不能代报 a unit reports only for itself", f"this token reports for {token.unit!r}",
                      kind="forbidden")
    try:
        report = zero_report(token.unit, str(body.get("catalog") or ""), str(body.get("period") or ""),
                             reporter=f"token:{token.id}", note=body.get("note"), mode=mode)
    except ZeroReportProblem as exc:
        raise Problem(422, "零报送无效 zero report rejected", problems=[exc.as_dict()], kind="rejected-zero-report") \
            from None
    await deliver(ctx.zero_reports, [(report, zero_report_key(report))], ctx.delivery_timeout)
    return {"receipt": {"unit": report["source_unit"], "catalog": report["catalog"], "period": report["period"],
                        "reported_at": report["reported_at"], "key": zero_report_key(report)}}


@router.post("/v1/reports", status_code=202)
async def post_reports(request: Request, token: TokenInfo = Depends(require("report")),
                       ctx: IngestContext = Depends(context),
                       layout: str | None = Query(None, description="layout name; recognised from the keys if absent"),
                       catalog: str | None = Query(None, description="indicator set (指标集) code"),
                       category: str | None = Query(None, description="category when the layout has none")) -> dict:
    """Report records (接口对接). All pass and are acknowledged by Kafka (202), or none is taken."""
    records = await read_json(request, ctx.limits)
    return await accept_records(ctx, token, records, mode="INTERFACE", source_format="http", layout=layout,
                                catalog=catalog, category=category)


@router.post("/v1/reports/check")
async def post_reports_check(request: Request, token: TokenInfo = Depends(require("report")),
                             ctx: IngestContext = Depends(context), layout: str | None = Query(None),
                             catalog: str | None = Query(None), category: str | None = Query(None)) -> dict:
    """Validate records as /v1/reports would, sending nothing."""
    records = await read_json(request, ctx.limits)
    return check_records(ctx, token, records, mode="INTERFACE", source_format="http", layout=layout,
                         catalog=catalog, category=category)


@router.post("/v1/zero-reports", status_code=202)
async def post_zero_report(request: Request, token: TokenInfo = Depends(require("report")),
                           ctx: IngestContext = Depends(context)) -> dict:
    """零报送: {"catalog": "SGS-XK", "period": "2026-11" | "2026-W47" | "2026-Q4", "note": "..."}."""
    return await accept_zero_report(ctx, token, await read_json(request, ctx.limits), mode="INTERFACE")
