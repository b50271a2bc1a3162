"""The check API (逢报必查): blacklist status and checks in milliseconds, bulk checks, feedback
(黑名单反馈), objections (异议), credit repair and exits; OpenAPI at /openapi.json, errors as
problem documents, unit tokens with scopes (check, object, admin, read_personal), a rate limit per
token and a body size limit.

ID numbers: an answer shows a person's number masked; with the read_personal scope and the
subject's authorization reference the caller may ask for it in clear (``personal=true``), and that
read is recorded in credit.checks with the reference. The access log is off: paths carry ids.
"""
from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager
from functools import lru_cache
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from checks import answers as A
from checks import names as N
from checks.control import basis_status_event, exit_event, repair_event
from checks.hot import HotPaths, PlainCheck
from checks.index import STALE_AFTER_MS
from checks.service import CheckService, NotDelivered, send_and_wait
from creditstream.auth.http import Problem, authorise, install_problem_handlers, invalid_request, require
from creditstream.auth.ratelimit import RateLimiter
from creditstream.auth.tokens import PLATFORM_UNIT, TokenInfo
from creditstream.domain import objections as O
from creditstream.domain.identifiers import normalise_document_number
from creditstream.domain.normalise import CHINA_TZ, epoch_days
from creditstream.domain.pseudonym import KeyFailure
from creditstream.gc_policy import freeze_survivors

log = logging.getLogger(__name__)

_TEXT = 500
_SHORT = 100


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Matter(Strict):
    kind: str = Field(min_length=1, max_length=_SHORT, description="事项类型: 行政审批, 政府采购, 招标投标, 财政资金, 评优评先, 任职 …")
    name: str | None = Field(None, max_length=_TEXT, description="事项名称")
    reference: str | None = Field(None, max_length=_SHORT, description="办件编号 the window's own case number")


class SubjectRef(Strict):
    id: str | None = Field(None, min_length=1, max_length=A.MAX_ID_CHARS, description="USCC or resident ID number")
    name: str | None = Field(None, min_length=1, max_length=N.MAX_NAME_CHARS,
                             description="名称; alone (no id): name fallback, ranked candidates by name only")

    @model_validator(mode="after")
    def id_or_name(self) -> "SubjectRef":
        if self.id is None and self.name is None:
            raise ValueError("give subject.id (USCC or ID number) or, failing that, subject.name")
        return self


class CheckRequest(Strict):
    matter: Matter
    subject: SubjectRef
    requesting_unit: str | None = Field(None, min_length=1, max_length=_SHORT,
                                        description="核查单位; the token's unit when left out")


class BulkCheckRequest(Strict):
    matter: Matter
    subjects: list[str | SubjectRef] = Field(min_length=1, description="USCCs or ID numbers (or {id, name})")
    requesting_unit: str | None = Field(None, min_length=1, max_length=_SHORT)


class WatchRequest(Strict):
    subjects: list[str] = Field(min_length=1, max_length=10_000, description="USCCs or ID numbers to watch")
    label: str | None = Field(None, max_length=_SHORT, description="the unit's own note: 办件编号, contract …")


class WebhookRequest(Strict):
    url: str = Field(max_length=_TEXT, pattern=r"^https?://[^\s]+$", description="where watch events are POSTed")
    secret: str = Field(min_length=16, max_length=200,
                        description="key of the HMAC-SHA256 signature header (X-Creditstream-Signature)")


class FeedbackRequest(Strict):
    outcome: Literal["refused", "conditioned", "approved"]
    reason: str | None = Field(None, max_length=_TEXT)
    measures: list[str] = Field(default_factory=list, max_length=50)


class ObjectionRequest(Strict):
    subject: str = Field(min_length=1, max_length=A.MAX_ID_CHARS, description="USCC or ID number of the subject")
    basis_event_id: str = Field(min_length=1, max_length=_SHORT, description="event id of the record objected to")
    reason: str = Field(min_length=1, max_length=_TEXT, description="异议理由")


class TransitionRequest(Strict):
    reason: str | None = Field(None, max_length=_TEXT)


class ResolutionRequest(Strict):
    outcome: Literal["restored", "corrected", "deleted"]
    reason: str = Field(min_length=1, max_length=_TEXT, description="the reason, recorded (required for a deletion)")


class RepairRequest(Strict):
    decision_number: str = Field(min_length=1, max_length=_SHORT, description="修复决定文书号")
    repaired_document: str | None = Field(None, max_length=_SHORT, description="the basis decision repaired; all when left out")
    reason: str = Field(min_length=1, max_length=_TEXT)


class ExitRequest(Strict):
    kind: Literal["注销", "吊销"]
    decision_number: str = Field(min_length=1, max_length=_SHORT)
    reason: str = Field(min_length=1, max_length=_TEXT)


def _now_ms() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1000)


def _today_days() -> int:
    return epoch_days(datetime.now(CHINA_TZ).date())


class BodyLimit:
    """Pure ASGI: refuses a body over the limit (declared or streamed) before anything parses it."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            return await self.problem().response()(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self.problem()
            return message

        try:
            return await self.app(scope, limited, send)
        except Problem as exc:
            return await exc.response()(scope, receive, send)

    def problem(self) -> Problem:
        return Problem(413, "请求过大 request too large", f"the body exceeds {self.max_bytes:,} bytes", kind="too-large")


class CheckApp(FastAPI):
    """The FastAPI app with the hot paths (checks.hot) ahead of its own request path."""
    hot: HotPaths | None = None

    async def __call__(self, scope, receive, send) -> None:
        if self.hot is not None and scope["type"] == "http":
            scope["app"] = self
            return await self.hot(scope, receive, send)
        await super().__call__(scope, receive, send)


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # The app, its routes and models are built by now (about 80,000 objects): out of the cycle
    # collector's sight, so that its full passes do not walk them. The index is frozen when it
    # has caught up (checks.index); whichever comes first, the other freezes what came since.
    freeze_survivors()
    yield


def create_app(service: CheckService, hot_paths: bool = True) -> FastAPI:
    """The check API. ``hot_paths``: POST /v1/checks and GET /v1/subjects/{id}/status in their
    plain case are answered by checks.hot ahead of FastAPI (same checks, same handlers); False
    sends every request through FastAPI (the tests compare the two)."""
    app = CheckApp(title="creditstream checks", version="1", docs_url="/docs", redoc_url=None, lifespan=_lifespan,
                  description="逢报必查: blacklist status and checks for approval windows, feedback, objections (异议), "
                              "credit repair and exits. Every check is recorded in credit.checks.")
    app.state.token_store = service.tokens
    app.state.service = service
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=service.limits.max_body_bytes)
    recent_checks: OrderedDict[str, bool] = OrderedDict()  # check id -> listed, for feedback's reason rule

    # Per-token limits through require(scope), as every service of the platform has them.
    app.state.rate_limiter = RateLimiter(service.limits.rate_per_token, service.limits.burst_per_token)

    def guard(scope: str):
        check = require(scope)

        async def guarded(request: Request) -> TokenInfo:  # async: no thread-pool hop per request
            return check(request)
        return guarded

    async def ready_index() -> None:
        not_ready()

    def not_ready() -> None:
        if not service.ready:
            failure = (service.index.follower.failure or service.book.follower.failure
                       or service.index.follower.waiting or service.book.follower.waiting)
            raise Problem(503, "名单索引未就绪 index not ready",
                          failure or "the blacklist index is still reading credit.blacklist; retry shortly",
                          kind="not-ready", headers={"Retry-After": "1"})

    snapshot: list = [None, None, None]  # the last state seen and its version's text, per index

    def index_view(state, now: int | None = None) -> dict:
        """The snapshot an answer came from: its version (offsets of credit.blacklist), the newest
        change in it, when the broker last confirmed it complete, that age, and whether it is stale."""
        now = now or _now_ms()
        index = service.index
        if snapshot[0] is not state or snapshot[1] is not index:  # a state is replaced, never changed
            snapshot[:] = state, index, {"version": index.version(state), "as_of_ms": state.as_of_ms,
                                         "as_of": _iso_ms(state.as_of_ms), "checked_at": _iso_ms(state.checked_at_ms)}
        return {**snapshot[2], "age_ms": state.age_ms(now), "stale": state.stale(now)}

    def lookup(query: A.SubjectQuery) -> tuple[dict | None, str | None]:
        """The entry of the queried subject and, for a person, the current pseudonym."""
        if not query.person:
            return service.index.get(query.number), None
        keys = service.keys.current().lookup_keys(query.number)
        for key in keys + [query.number]:  # older key versions, then entries from before pseudonyms
            entry = service.index.get(key)
            if entry is not None:
                return entry, keys[0]
        return None, keys[0]

    @lru_cache(maxsize=500_000)
    def parse_cached(text: str) -> A.SubjectQuery:
        """Checksums cost tens of µs; the same applicants come back to the windows again and again."""
        return A.parse_subject_id(text, service.catalog.pilot_usccs)

    def parse(text: str, field: str = "subject.id") -> A.SubjectQuery:
        try:
            return parse_cached(text)
        except A.InvalidSubjectId as exc:
            raise invalid_request(str(exc), field, "invalid_subject_id") from None

    def parsed_or_noted(position: int, text: str, notes: list) -> A.SubjectQuery | None:
        """One id of a list: parsed, or its reason noted in place and None."""
        try:
            return parse_cached(text)
        except A.InvalidSubjectId as exc:
            notes.append({"position": position, "error": str(exc)})
            return None

    def requesting_unit(token: TokenInfo, asked: str | None) -> str:
        if asked and asked != token.unit and token.unit != PLATFORM_UNIT:
            raise Problem(403, "权限不足 forbidden", f"token {token.id} checks for unit {token.unit}, not {asked}",
                          kind="forbidden")
        return asked or token.unit

    def answer_for(query: A.SubjectQuery, entry: dict | None, today: int) -> dict:
        return {"subject": A.subject_view(query, entry),
                **A.standing(entry, today, service.book.open_by_basis)}

    counters: dict = {}

    def answered(match: str, stale: bool):
        """The answers counter of (match, stale), its child kept (labels() takes a lock and a lookup)."""
        counter = counters.get((match, stale))
        if counter is None:
            counter = counters[match, stale] = service.metrics.answers.labels(match, str(stale).lower())
        return counter

    def remember(check_id: str, listed: bool) -> None:
        recent_checks[check_id] = listed
        if len(recent_checks) > 200_000:
            recent_checks.popitem(last=False)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"], responses={503: {"description": "index not caught up yet"}})
    async def readyz():
        await ready_index()
        return {"ready": True, "subjects": len(service.index.entries), "index": index_view(service.index.state),
                "open_objections": len(service.book.open_by_basis)}

    @app.get("/metrics", tags=["service"], include_in_schema=False)
    def metrics() -> Response:
        """Counts and the index's freshness only, no personal data: Prometheus scrapes it, as the
        sink's and the worker's."""
        return Response(service.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/v1/blacklist/status", tags=["checks"])
    async def blacklist_status(_token: TokenInfo = Depends(guard("check"))):
        """The blacklist snapshot answers come from: version (offsets of credit.blacklist), the
        newest change, when the broker last confirmed it complete, its age, stale or not, size,
        and whether a rebuild is under way."""
        index = service.index
        return {"ready": index.ready, "subjects": len(index.entries), "names": len(index.names),
                "index": index_view(index.state), "stale_after_ms": STALE_AFTER_MS,
                "follower_failure": index.follower.failure, "follower_waiting": index.follower.waiting,
                "rebuilding": service.rebuilding,
                "rebuilt_at": _iso_ms(service.rebuilt_at_ms)}

    @app.post("/v1/blacklist/rebuild", status_code=202, tags=["checks"])
    async def rebuild(_token: TokenInfo = Depends(guard("admin"))):
        """Read credit.blacklist again from the beginning into a new index and switch to it in one
        step once it is complete; answers come from the current one until then."""
        if not service.start_rebuild():
            raise Problem(409, "正在重建 rebuild under way", "an index rebuild is already under way", kind="conflict")
        return {"rebuilding": True}

    @app.get("/v1/subjects/{subject_id}/status", tags=["checks"])
    async def subject_status(subject_id: str = Path(max_length=A.MAX_ID_CHARS),
                       personal: bool = Query(False, description="show a person's ID number in clear (read_personal)"),
                       authorization: str | None = Query(None, max_length=_SHORT,
                                                         description="the subject's authorization reference, with personal"),
                       token: TokenInfo = Depends(guard("check")), _ready: None = Depends(ready_index)):
        """On a blacklist or not, which lists, since and until when, the basis records, and
        whether publication is suspended by an objection."""
        return JSONResponse(answer_status(token, subject_id, personal, authorization))

    def answer_status(token: TokenInfo, subject_id: str, personal: bool = False,
                      authorization: str | None = None) -> dict:
        """The status answer (what JSONResponse renders); raises the Problem of a refusal."""
        query = parse(subject_id, "subject_id")
        state = service.index.state
        entry, pseudonym = lookup(query)
        answer = answer_for(query, entry, _today_days())
        if personal:
            answer["subject"]["id_number"] = reveal(token, query, entry, pseudonym, authorization, answer, state)
        answer["index"] = index_view(state)
        return answer

    def reveal(token, query, entry, pseudonym, authorization, answer, state) -> str | None:
        if not token.allows("read_personal"):
            raise Problem(403, "权限不足 forbidden", f"token {token.id} lacks the scope 'read_personal'", kind="forbidden")
        if not authorization:
            raise invalid_request("查询非公开信息须提供主体授权编号 a clear ID number needs the subject's authorization "
                                  "reference (authorization=…)", "authorization", "authorization_required")
        if not query.person:
            return None
        number = query.number
        sealed = (entry or {}).get("subject_sealed")
        if sealed:
            try:
                number = service.keys.current().open(sealed)
            except KeyFailure as exc:
                raise Problem(503, "无法解密 cannot open the sealed number", str(exc), kind="key-failure") from None
        key, kind = A.record_key(query, entry, pseudonym)
        service.audit.emit(A.check_record(
            f"pi-{uuid.uuid4().hex}", _now_ms(), token.unit, token.id,
            {"kind": "个人信息查阅", "name": "查阅身份证件号码 clear ID number read", "reference": authorization},
            key, kind, "NATURAL_PERSON", None, answer, index_view(state)))
        return number

    @app.post("/v1/checks", tags=["checks"])
    async def check(body: CheckRequest, token: TokenInfo = Depends(guard("check")), _ready: None = Depends(ready_index)):
        """One check for a matter: the status answer plus a check id; recorded in credit.checks.
        With a name and no id, ranked candidates by name only (``match: NAME``), never a plain
        "not listed"."""
        return JSONResponse(answer_check(token, body.matter.model_dump(), body.subject.id, body.subject.name,
                                         body.requesting_unit))

    def answer_check(token: TokenInfo, matter: dict, subject_id: str | None, subject_name: str | None,
                     asked_unit: str | None) -> dict:
        """One check, recorded; ``matter`` as Matter.model_dump() gives it (kind, name, reference).
        The answer (what JSONResponse renders); raises the Problem of a refusal."""
        unit = requesting_unit(token, asked_unit)
        if subject_id is None:
            return check_by_name(matter, subject_name, unit, token)
        query = parse(subject_id)
        state = service.index.state
        entry, pseudonym = lookup(query)
        answer = answer_for(query, entry, _today_days())
        check_id = uuid.uuid4().hex
        key, kind = A.record_key(query, entry, pseudonym)
        now = _now_ms()
        index = index_view(state, now)
        caller, name = token.id, subject_name or answer["subject"]["name"]
        service.audit.emit(A.check_record(check_id, now, unit, caller, matter, key, kind, answer["subject"]["type"],
                                          name, answer, index))
        remember(check_id, answer["listed"])
        answered("KEY", index["stale"]).inc()
        return {"check_id": check_id, **answer, "index": index}

    def check_by_name(matter: dict, name: str, unit: str, token: TokenInfo) -> dict:
        index_now = service.index
        state = index_now.state
        try:
            found, total = index_now.names.search(name)
        except N.InvalidName as exc:
            raise invalid_request(str(exc), "subject.name", "invalid_name") from None
        today = _today_days()
        candidates = [A.candidate_view(c.as_dict(), index_now.get(c.key), today, service.book.open_by_basis)
                      for c in found]
        answer = A.name_answer(name, candidates, total)
        check_id = uuid.uuid4().hex
        index = index_view(state)
        service.audit.emit(A.check_record(check_id, _now_ms(), unit, token.id, matter, N.match_key(name), "OTHER",
                                          None, name, A.name_hits(answer), index, match="NAME"))
        remember(check_id, bool(answer["candidates_listed"]))
        answered("NAME", index["stale"]).inc()
        return {"check_id": check_id, **answer, "index": index}

    @app.post("/v1/checks/bulk", tags=["checks"])
    async def bulk_check(body: BulkCheckRequest, token: TokenInfo = Depends(guard("check")),
                   _ready: None = Depends(ready_index)):
        """Many subjects for one matter (up to the configured limit, 50,000 by default): one
        result and one check id (recorded) per subject; an unusable id gets its reason in place."""
        if len(body.subjects) > service.limits.max_bulk_subjects:
            raise invalid_request(f"at most {service.limits.max_bulk_subjects:,} subjects per call; "
                                  f"got {len(body.subjects):,}", "subjects", "too_many_subjects")
        unit = requesting_unit(token, body.requesting_unit)
        state = service.index.state
        index = index_view(state)
        today, now = _today_days(), _now_ms()
        matter = body.matter.model_dump()
        bulk_id = uuid.uuid4().hex
        results, checked, listed = [], [], 0
        for n, item in enumerate(body.subjects):
            text, name = (item, None) if isinstance(item, str) else (item.id, item.name)
            if text is None:
                results.append({"position": n, "error": "名称核查请逐一提交 a check by name only goes one at a time "
                                                        "through /v1/checks: its answer is a list of candidates"})
                continue
            query = parsed_or_noted(n, text, results)
            if query is None:
                continue
            entry, pseudonym = lookup(query)
            answer = answer_for(query, entry, today)
            check_id = f"{bulk_id}-{n}"
            checked.append((check_id, *A.record_key(query, entry, pseudonym), answer, name))
            listed += answer["listed"]
            if answer["lists"]:
                results.append({"position": n, "check_id": check_id, **answer})
            else:  # the common case, kept short: 23,322 subjects, 179 listed
                results.append({"position": n, "check_id": check_id, "subject": answer["subject"], "listed": False,
                                "status": "NOT_LISTED"})
        caller_id = token.id

        service.audit.emit_many([A.check_record(check_id, now, unit, caller_id, matter, key, kind,
                                                answer["subject"]["type"], name or answer["subject"]["name"], answer,
                                                index) for check_id, key, kind, answer, name in checked])
        return JSONResponse({"bulk_id": bulk_id, "checked": len(checked), "listed": listed,
                             "invalid": len(body.subjects) - len(checked), "results": results, "index": index})

    @app.post("/v1/checks/{check_id}/feedback", status_code=202, tags=["checks"])
    def feedback(body: FeedbackRequest, check_id: str = Path(min_length=1, max_length=_SHORT, pattern=r"^[0-9a-f]{32}(-\d+)?$"),
                 token: TokenInfo = Depends(require("check"))):
        """黑名单反馈: what the window did with the answer (refused, conditioned, approved)."""
        if body.outcome != "refused" and recent_checks.get(check_id) and not body.reason:
            raise invalid_request("办理列入黑名单的主体须说明理由 approving or conditioning a listed subject needs a reason",
                                  "reason", "reason_required")
        record = {"feedback_id": uuid.uuid4().hex, "check_id": check_id, "reported_at": _now_ms(),
                  "requesting_unit": token.unit, "caller": token.id, "outcome": body.outcome.upper(),
                  "measures": body.measures, "reason": body.reason}
        deliver(service.feedback, record, check_id)
        return {"feedback_id": record["feedback_id"], "check_id": check_id, "outcome": record["outcome"]}

    def deliver(producer, record: dict, key: str | None = None) -> None:
        try:
            send_and_wait(producer, record, key)
        except NotDelivered as exc:
            raise Problem(503, "暂时无法记录 cannot record now", f"{exc}; nothing was changed, send it again",
                          kind="unavailable", headers={"Retry-After": "5"}) from None

    # ------------------------------------------------------------------------------------- watches
    def watches():
        if service.watches is None:
            raise Problem(503, "关注功能未启用 watches not available", "this service runs without watch lists",
                          kind="unavailable")
        return service.watches

    @app.post("/v1/watches", status_code=201, tags=["watches"])
    def add_watches(body: WatchRequest, token: TokenInfo = Depends(require("check")),
                    _ready: None = Depends(ready_index)):
        """信用监管: watch subjects the unit approved or contracts with; when one enters or leaves a
        list, a WatchEvent goes to credit.watch.<unit> and to the unit's webhook. Persons are kept
        by pseudonym."""
        added, invalid = [], []
        for n, text in enumerate(body.subjects):
            query = parsed_or_noted(n, text, invalid)
            if query is None:
                continue
            entry, pseudonym = lookup(query)
            key, _kind = A.record_key(query, entry, pseudonym)
            added.append(watches().add(token.unit, key, query.shown, body.label))
        return {"unit": token.unit, "watching": added, "invalid": invalid}

    @app.get("/v1/watches", tags=["watches"])
    def list_watches(token: TokenInfo = Depends(require("check"))):
        return {"unit": token.unit, "watches": watches().list(token.unit), "webhook": watches().webhook(token.unit)}

    @app.delete("/v1/watches/{subject_id}", status_code=204, tags=["watches"])
    def delete_watch(subject_id: str = Path(max_length=A.MAX_ID_CHARS), token: TokenInfo = Depends(require("check")),
                     _ready: None = Depends(ready_index)):
        query = parse(subject_id, "subject_id")
        entry, pseudonym = lookup(query)
        keys = {A.record_key(query, entry, pseudonym)[0]}
        if query.person:
            keys.update(service.keys.current().lookup_keys(query.number))
        if not any([watches().remove(token.unit, key) for key in keys]):
            raise Problem(404, "未关注 not watched", f"unit {token.unit} does not watch {query.shown}", kind="not-found")
        return Response(status_code=204)

    @app.put("/v1/watches/webhook", tags=["watches"])
    def set_webhook(body: WebhookRequest, token: TokenInfo = Depends(require("check"))):
        """The unit's webhook: each event POSTed as JSON with X-Creditstream-Timestamp and
        X-Creditstream-Signature = sha256=HMAC(secret, timestamp + "." + body); retried with
        exponential back-off until a 2xx."""
        watches().set_webhook(token.unit, body.url, body.secret)
        return {"unit": token.unit, "webhook": watches().webhook(token.unit)}

    @app.get("/v1/watches/status", tags=["watches"])
    def watch_status(token: TokenInfo = Depends(require("check"))):
        """Delivery state of the unit's watch events: published to its topic, delivered, pending, failed."""
        return watches().status(token.unit)

    # ---------------------------------------------------------------------------------- objections
    def objection_view(o: O.Objection, now_ms: int | None = None) -> dict:
        now_ms = now_ms or _now_ms()
        return {"objection_id": o.objection_id, "state": o.state, "open": o.open, "outcome": o.outcome,
                "reason": o.reason, "subject": {"id": o.subject_masked or o.subject_key}, "basis_event_id": o.basis_event_id,
                "category": o.category, "document_number": o.document_number, "source_unit": o.source_unit,
                "filed_at": _iso_ms(o.filed_at), "filed_by": o.filed_by, "updated_at": _iso_ms(o.updated_at),
                "steps": [{"step": step, "label": O.STEP_LABELS.get(step, step), "due_at": _iso_ms(s.get("due_at")),
                           "done_at": _iso_ms(s.get("done_at"))} for step, s in o.steps.items()],
                "overdue": [{"step": step, "due_at": _iso_ms(due)} for step, due in o.overdue_steps(now_ms)],
                "history": [{"transition": t, "at": _iso_ms(at), "unit": unit, "reason": reason}
                            for t, at, unit, reason in o.history]}

    def entry_and_basis(subject: str, basis_event_id: str) -> tuple[A.SubjectQuery, dict, dict]:
        query = parse(subject, "subject")
        entry, _ = lookup(query)
        basis = next((b for b in (entry or {}).get("basis") or () if b["event_id"] == basis_event_id), None)
        if entry is None or basis is None:
            raise Problem(404, "记录不存在 no such published record",
                          f"no list basis {basis_event_id} for subject {query.shown}: an objection is filed against "
                          "a record the lists publish", kind="not-found")
        return query, entry, basis

    def clear_number(entry: dict) -> str | None:
        sealed = entry.get("subject_sealed")
        if not sealed:
            return None
        try:
            return service.keys.current().open(sealed)
        except KeyFailure as exc:
            raise Problem(503, "无法解密 cannot open the sealed number", str(exc), kind="key-failure") from None

    def publish_transition(event: dict, entry: dict | None, basis: dict | None, token: TokenInfo) -> O.Objection:
        """Control record first (the list follows), then the transition; both acknowledged."""
        status = O.publication_change(event)
        if status and entry is not None and basis is not None:
            control = basis_status_event(entry, basis, status, reference=event["event_id"],
                                         reason=event.get("reason") or "", unit=token.unit, actor=token.id,
                                         now=datetime.now(timezone.utc), clear_number=clear_number(entry))
            event["control_event_id"] = control["event_id"]
            deliver(service.inbound, control)
        deliver(service.objections, event, event["objection_id"])
        return service.book.record(event)

    @app.post("/v1/objections", status_code=201, tags=["objections"])
    def file_objection(body: ObjectionRequest, token: TokenInfo = Depends(require("object")),
                       _ready: None = Depends(ready_index)):
        """异议: publication of the record is suspended while the objection is open."""
        query, entry, basis = entry_and_basis(body.subject, body.basis_event_id)
        with service.book.lock:
            existing = service.book.open_by_basis.get(basis["event_id"])
            if existing:
                raise Problem(409, "异议已在处理 objection already open", f"objection {existing} is open for this record",
                              kind="conflict", objection_id=existing)
            target = {"subject_key": entry["subject_key"], "subject_masked": entry.get("subject_masked")
                      or (query.shown if query.person else None), "basis_event_id": basis["event_id"],
                      "category": basis["category"], "document_number": basis.get("document_number"),
                      "source_unit": basis["source_unit"]}
            event = O.filing(f"YY{uuid.uuid4().hex[:16]}", target, token.id, token.unit, body.reason, _now_ms())
            objection = publish_transition(event, entry, basis, token)
        return objection_view(objection)

    @app.get("/v1/objections", tags=["objections"])
    def list_objections(state: Literal["open", "all", "resolved"] = "open", overdue: bool = False,
                        _token: TokenInfo = Depends(require("object"))):
        now = _now_ms()
        items = [o for o in service.book.all()
                 if (state == "all" or (state == "open") == o.open) and (not overdue or o.overdue_steps(now))]
        return {"objections": [objection_view(o, now) for o in items]}

    @app.get("/v1/objections/overdue", tags=["objections"])
    def overdue_objections(_token: TokenInfo = Depends(require("object"))):
        """Objections with a statutory step past its deadline (open, or finished late)."""
        return list_objections(state="all", overdue=True, _token=_token)

    def find(objection_id: str) -> O.Objection:
        objection = service.book.get(objection_id)
        if objection is None:
            raise Problem(404, "异议不存在 no such objection", f"no objection {objection_id}", kind="not-found")
        return objection

    @app.get("/v1/objections/{objection_id}", tags=["objections"])
    def get_objection(objection_id: str = Path(max_length=_SHORT), _token: TokenInfo = Depends(require("object"))):
        return objection_view(find(objection_id))

    def advance(objection_id: str, kind: str, token: TokenInfo, reason: str | None, outcome: str | None = None):
        with service.book.lock:
            objection = find(objection_id)
            try:
                event = O.transition(objection, kind, token.id, token.unit, _now_ms(), outcome=outcome, reason=reason)
            except O.ObjectionConflict as exc:
                raise Problem(409, "环节冲突 transition not allowed", str(exc), kind="conflict") from None
            entry = basis = None
            if O.publication_change(event):
                entry = next((e for e in (service.index.get(objection.subject_key),) if e), None)
                basis = next((b for b in (entry or {}).get("basis") or () if b["event_id"] == objection.basis_event_id), None)
            return objection_view(publish_transition(event, entry, basis, token))

    def transition_endpoint(kind: str, doc: str):
        def endpoint(body: TransitionRequest, objection_id: str = Path(max_length=_SHORT),
                     token: TokenInfo = Depends(require("object"))):
            return advance(objection_id, kind, token, body.reason)
        endpoint.__doc__ = doc
        return endpoint

    for step, kind, doc in (
            ("forward", O.FORWARDED, "Forwarded to the reporting unit, which answers within 10 working days."),
            ("answer", O.ANSWERED, "The reporting unit's answer; correction and notice are then due within 2 working days."),
            ("verify", O.VERIFIED, "Verified by the platform itself (within 3 working days of the filing).")):
        app.post(f"/v1/objections/{{objection_id}}/{step}", tags=["objections"], name=step)(transition_endpoint(kind, doc))

    @app.post("/v1/objections/{objection_id}/resolve", tags=["objections"])
    def resolve(body: ResolutionRequest, objection_id: str = Path(max_length=_SHORT),
                token: TokenInfo = Depends(require("object"))):
        """Restored (objection unfounded), corrected, or deleted with the reason; the list follows."""
        return advance(objection_id, O.RESOLVED, token, body.reason, body.outcome.upper())

    # ---------------------------------------------------------------------------- repair and exits
    def listed_entry(subject_id: str) -> tuple[A.SubjectQuery, dict]:
        query = parse(subject_id, "subject_id")
        entry, _ = lookup(query)
        if entry is None:
            raise Problem(404, "主体不在名单 subject not listed", f"{query.shown} is on no list", kind="not-found")
        return query, entry

    def effect_set(effect: str) -> str:
        code = next((c for c, s in sorted(service.catalog.indicator_sets.items()) if s.effect == effect), None)
        if code is None:
            raise Problem(503, "目录缺少指标集 catalog lacks an indicator set", f"no indicator set with effect {effect!r}",
                          kind="catalog")
        return code

    @app.post("/v1/subjects/{subject_id}/repair", status_code=202, tags=["repair"])
    def repair(body: RepairRequest, subject_id: str = Path(max_length=A.MAX_ID_CHARS),
               token: TokenInfo = Depends(require("admin")), _ready: None = Depends(ready_index)):
        """信用修复 by an authorised operator: sent as a repair record, so the list follows and
        the history keeps it (records, blacklist_history)."""
        query, entry = listed_entry(subject_id)
        if body.repaired_document and not any(b.get("document_number") == normalise_document_number(body.repaired_document)
                                              for b in entry.get("basis") or ()):
            raise invalid_request(f"no basis of {query.shown} has the document number {body.repaired_document}",
                                  "repaired_document", "unknown_document")
        event = repair_event(entry, effect_set("repair"), decision_number=body.decision_number,
                             repaired_document=body.repaired_document, reason=body.reason, unit=token.unit,
                             actor=token.id, now=datetime.now(timezone.utc), clear_number=clear_number(entry))
        deliver(service.inbound, event)
        log.info("credit repair %s by token %s (event %s)", body.decision_number, token.id, event["event_id"])
        return {"accepted": True, "event_id": event["event_id"], "subject": A.subject_view(query, entry)}

    @app.post("/v1/subjects/{subject_id}/exit", status_code=202, tags=["repair"])
    def exit_subject(body: ExitRequest, subject_id: str = Path(max_length=A.MAX_ID_CHARS),
                     token: TokenInfo = Depends(require("admin")), _ready: None = Depends(ready_index)):
        """注销 / 吊销 of the subject: its basis of the categories the catalog names end."""
        query, entry = listed_entry(subject_id)
        event = exit_event(entry, effect_set("deregistration"), kind=body.kind, decision_number=body.decision_number,
                           reason=body.reason, unit=token.unit, actor=token.id, now=datetime.now(timezone.utc),
                           clear_number=clear_number(entry))
        deliver(service.inbound, event)
        log.info("exit %s by token %s (event %s)", body.decision_number, token.id, event["event_id"])
        return {"accepted": True, "event_id": event["event_id"], "subject": A.subject_view(query, entry)}

    if hot_paths:
        state = app.state  # read per request, as require(scope) reads it

        def authorise_header(header: str, scope: str) -> TokenInfo:
            return authorise(state.token_store, getattr(state, "rate_limiter", None), header, scope)
        limit = BodyLimit(None, max_bytes=service.limits.max_body_bytes)
        app.hot = HotPaths(
            super(CheckApp, app).__call__, max_body_bytes=limit.max_bytes, too_large=limit.problem,
            authorise=authorise_header, ready=not_ready,
            plain_check=PlainCheck(_SHORT, _TEXT, A.MAX_ID_CHARS, N.MAX_NAME_CHARS), check=answer_check,
            status=answer_status, max_id=A.MAX_ID_CHARS)
    return app


def _iso_ms(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds")
