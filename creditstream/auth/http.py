"""What every HTTP service of the platform shares: problem documents (RFC 9457,
application/problem+json), the unit-token dependency ``require(scope)``, and a JSON body read
within a size limit. The ingest service and the check service import it; neither knows the other."""
from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from creditstream.auth.ratelimit import retry_after
from creditstream.auth.tokens import SCOPES, TokenInfo

PROBLEM_TYPE = "https://creditstream.invalid/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An answer other than success, as a problem document."""

    def __init__(self, status: int, title: str, detail: str = "", problems: list[dict] | None = None,
                 kind: str = "request", headers: dict | None = None, **extra):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.problems = status, title, detail, problems
        self.kind, self.headers, self.extra = kind, headers, extra

    def body(self) -> dict:
        body = {"type": PROBLEM_TYPE + self.kind, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.problems is not None:
            body["problems"] = self.problems
        body.update(self.extra)
        return body

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, media_type=PROBLEM_MEDIA_TYPE, headers=self.headers)


def invalid_request(detail: str, field: str = "", code: str = "invalid_request") -> Problem:
    return Problem(422, "请求格式错误 invalid request", detail,
                   problems=[{"code": code, "field": field, "message": detail}], kind="invalid-request")


def install_problem_handlers(app: FastAPI) -> None:
    """Every error the app answers becomes a problem document; an unexpected exception is a 500
    that names no internals (the traceback goes to the log, never to the caller)."""

    @app.exception_handler(Problem)
    async def on_problem(_request: Request, exc: Problem):
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException):
        return Problem(exc.status_code, str(exc.detail), kind="http", headers=getattr(exc, "headers", None)).response()

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request: Request, exc: RequestValidationError):
        problems = [{"code": "invalid_request", "field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in exc.errors()]
        return Problem(422, "请求格式错误 invalid request", problems=problems, kind="invalid-request").response()


def bearer_value(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header's value, or None."""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authorise(store, limiter, header: str, scope: str) -> TokenInfo:
    """The active token of an Authorization header's value, which must carry ``scope``, counted
    against its rate limit (``limiter`` None: unlimited); else the 401, 403 or 429 Problem. What
    ``require(scope)`` checks, callable without a Request (the check service's hot paths)."""
    token = store.authenticate(bearer_value(header))
    if token is None:
        raise Problem(401, "令牌无效 unauthorized", "an active unit token is needed: Authorization: Bearer <token>",
                      kind="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="creditstream"'})
    if not token.allows(scope):
        raise Problem(403, "权限不足 forbidden", f"token {token.id} lacks the scope {scope!r}", kind="forbidden")
    wait = limiter.take(token.id) if limiter is not None else 0.0
    if wait:
        raise Problem(429, "请求过于频繁 too many requests",
                      f"token {token.id} is limited to {limiter.rate:g} requests a second "
                      f"(bursts of {limiter.burst:g}); retry after the delay", kind="too-many-requests",
                      headers={"Retry-After": retry_after(wait)})
    return token


def require(scope: str):
    """A dependency: the caller's active token, which must carry ``scope``, within its rate limit.
    Any FastAPI app can use it: it reads the TokenStore at ``app.state.token_store`` and the
    RateLimiter at ``app.state.rate_limiter`` (none: unlimited)."""
    assert scope in SCOPES

    def check(request: Request) -> TokenInfo:
        state = request.app.state
        return authorise(state.token_store, getattr(state, "rate_limiter", None),
                         request.headers.get("authorization", ""), scope)

    return check


async def read_json(request: Request, max_body_bytes: int, hint: str = "split the request"):
    """The request body as JSON, within the size limit."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media != "application/json":
        raise Problem(415, "不支持的内容类型 unsupported media type", f"send application/json, not {media}",
                      kind="unsupported-media-type")
    declared = request.headers.get("content-length")
    too_large = Problem(413, "请求过大 request too large", f"the body exceeds {max_body_bytes:,} bytes; {hint}",
                        kind="too-large")
    if declared and declared.isdigit() and int(declared) > max_body_bytes:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body_bytes:
            raise too_large
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise Problem(400, "编码错误 body is not UTF-8", kind="bad-json") from None
    except json.JSONDecodeError as exc:
        raise Problem(400, "JSON 格式错误 malformed JSON", f"{exc.msg} at line {exc.lineno}, column {exc.colno}",
                      kind="bad-json") from None
    except RecursionError:  # hostile nesting: a clear refusal, not a 500
        raise Problem(400, "JSON 嵌套过深 JSON nested too deeply", kind="bad-json") from None
    except ValueError:  # an integer of thousands of digits
        raise Problem(400, "JSON 数值无法读取 a number in the JSON cannot be read", kind="bad-json") from None
