"""The ingest service: one FastAPI app for the interface mode (接口对接, POST /v1/reports), the
online form (在线填报, /form) and zero reports (零报送), guarded by unit tokens.

Errors are RFC 9457 problem documents (application/problem+json) that name every problem, so a
unit's system can act on them. ``create_app`` takes its collaborators, so tests hand it fakes or a
real broker alike; ``creditstream serve`` runs it under uvicorn.
"""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from creditstream.auth.tokens import SCOPES, TokenError, TokenInfo, TokenStore, token_summary

PROBLEM_TYPE = "https://creditstream.invalid/problems/"


class Problem(Exception):
    """An answer other than success, as a problem document."""

    def __init__(self, status: int, title: str, detail: str = "", problems: list[dict] | None = None,
                 kind: str = "request", headers: dict | None = None, **extra):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.problems = status, title, detail, problems
        self.kind, self.headers, self.extra = kind, headers, extra

    def response(self) -> JSONResponse:
        body = {"type": PROBLEM_TYPE + self.kind, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.problems is not None:
            body["problems"] = self.problems
        body.update(self.extra)
        return JSONResponse(body, status_code=self.status, media_type="application/problem+json",
                            headers=self.headers)


@dataclass
class Limits:
    max_body_bytes: int = 5 * 1024 * 1024
    max_records: int = 5000
    max_value_chars: int = 4000


@dataclass
class IngestContext:
    store: TokenStore
    events: object           # a CreditProducer for credit.inbound
    zero_reports: object     # a CreditProducer for credit.zero_reports
    limits: Limits
    delivery_timeout: float = 30.0


def context(request: Request) -> IngestContext:
    return request.app.state.ingest


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require(scope: str):
    """A dependency: the caller's active token, which must carry ``scope``. Any FastAPI app can use
    it: it reads the TokenStore at ``app.state.token_store``."""
    assert scope in SCOPES

    def check(request: Request) -> TokenInfo:
        token = request.app.state.token_store.authenticate(_bearer(request))
        if token is None:
            raise Problem(401, "令牌无效 unauthorized", "an active unit token is needed: Authorization: Bearer <token>",
                          kind="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="creditstream"'})
        if not token.allows(scope):
            raise Problem(403, "权限不足 forbidden", f"token {token.id} lacks the scope {scope!r}", kind="forbidden")
        return token

    return check


def create_app(ctx: IngestContext) -> FastAPI:
    from producers import http_push, online_form

    app = FastAPI(title="creditstream ingest", version="1", docs_url="/docs", redoc_url=None)
    app.state.ingest = ctx
    app.state.token_store = ctx.store

    @app.exception_handler(Problem)
    async def on_problem(_request: Request, exc: Problem):
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException):
        return Problem(exc.status_code, str(exc.detail), kind="http").response()

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request: Request, exc: RequestValidationError):
        problems = [{"code": "invalid_request", "field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in exc.errors()]
        return Problem(422, "请求格式错误 invalid request", problems=problems, kind="invalid-request").response()

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/v1/whoami")
    def whoami(token: TokenInfo = Depends(require("report"))) -> dict:
        return {"id": token.id, "unit": token.unit, "scopes": list(token.scopes), "label": token.label}

    @app.get("/v1/tokens")
    def list_tokens(_admin: TokenInfo = Depends(require("admin")), c: IngestContext = Depends(context)) -> dict:
        return {"tokens": [token_summary(t) for t in c.store.list(include_revoked=True)]}

    @app.post("/v1/tokens", status_code=201)
    async def create_token(request: Request, _admin: TokenInfo = Depends(require("admin")),
                           c: IngestContext = Depends(context)) -> dict:
        body = await http_push.read_json(request, c.limits)
        if not isinstance(body, dict):
            raise Problem(422, "请求格式错误 invalid request", "expected {unit, scopes, label}", kind="invalid-request")
        try:
            info, plaintext = c.store.create(str(body.get("unit") or ""), body.get("scopes") or [],
                                             str(body.get("label") or ""))
        except TokenError as exc:
            raise Problem(422, "令牌参数错误 invalid token request", str(exc), kind="invalid-request") from None
        return {"token": plaintext, **token_summary(info)}

    @app.delete("/v1/tokens/{token_id}")
    def revoke_token(token_id: str, _admin: TokenInfo = Depends(require("admin")),
                     c: IngestContext = Depends(context)) -> dict:
        try:
            return token_summary(c.store.revoke(token_id))
        except TokenError as exc:
            raise Problem(404, "令牌不存在 no such token", str(exc), kind="not-found") from None

    app.include_router(http_push.router)
    app.include_router(online_form.router)
    return app


def build_app(settings) -> tuple[FastAPI, IngestContext]:
    """The app over real producers, for `creditstream serve`."""
    from producers.credit_producer import CreditProducer
    from producers.zero_report import zero_report_producer

    ctx = IngestContext(
        store=TokenStore.for_settings(settings),
        events=CreditProducer(settings.bootstrap_servers),
        zero_reports=zero_report_producer(settings.bootstrap_servers),
        limits=Limits(settings.ingest_max_body_bytes, settings.ingest_max_records),
    )
    return create_app(ctx), ctx
