"""The ingest service: one FastAPI app for the interface mode (接口对接, POST /v1/reports), the
online form (在线填报, /form) and zero reports (零报送), guarded by unit tokens.

Errors are RFC 9457 problem documents (application/problem+json) that name every problem, so a
unit's system can act on them. ``create_app`` takes its collaborators, so tests hand it fakes or a
real broker alike; ``creditstream serve`` runs it under uvicorn.
"""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request

from creditstream.auth.http import PROBLEM_TYPE, Problem, install_problem_handlers, require  # noqa: F401 (re-exported)
from creditstream.auth.ratelimit import RateLimiter
from creditstream.auth.tokens import TokenError, TokenInfo, TokenStore, token_summary


@dataclass
class Limits:
    max_body_bytes: int = 5 * 1024 * 1024
    max_records: int = 5000
    max_value_chars: int = 4000
    requests_per_second: float = 20.0  # per token: a unit's system pushes batches, not single records
    burst: int = 40


@dataclass
class IngestContext:
    store: TokenStore
    events: object           # a CreditProducer for credit.inbound
    zero_reports: object     # a CreditProducer for credit.zero_reports
    limits: Limits
    delivery_timeout: float = 30.0


def context(request: Request) -> IngestContext:
    return request.app.state.ingest


def create_app(ctx: IngestContext) -> FastAPI:
    from producers import http_push, online_form

    app = FastAPI(title="creditstream ingest", version="1", docs_url="/docs", redoc_url=None)
    app.state.ingest = ctx
    app.state.token_store = ctx.store
    app.state.rate_limiter = RateLimiter(ctx.limits.requests_per_second, ctx.limits.burst)

    install_problem_handlers(app)

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
        limits=Limits(settings.ingest_max_body_bytes, settings.ingest_max_records,
                      requests_per_second=settings.ingest_rate_per_second, burst=settings.ingest_rate_burst),
    )
    return create_app(ctx), ctx
