"""The two endpoints approval windows call all day, answered without FastAPI's request path.

``POST /v1/checks`` and ``GET /v1/subjects/{id}/status`` are most of the service's traffic, and
FastAPI's machinery around them (routing through every route, solving the dependencies, the
pydantic body model, the response) cost about three times the answer itself. ``HotPaths`` sits
in front of the app (checks.api.CheckApp hands it every HTTP request) and answers the plain case
of these two requests directly — within the same body limit and server-error answer, with the
same token check, readiness check, handler and answer; FastAPI keeps the routes, so the OpenAPI
spec at /docs is unchanged and everything else goes through it as before.

The plain case is recognised before anything is counted or answered: a JSON body whose every
field is one the request model accepts as it stands (the right type, within its length, nothing
to strip, no unknown key), or a status path without a query string. Anything else — malformed
JSON, a missing or extra field, a string the model would strip or refuse, another media type,
query parameters — is handed to the FastAPI route untouched (the body already read is given to it
again), so its errors are the model's own 4xx problem documents naming the field, exactly as
before. The hot path never answers an error of its own making: the 401/403/429 and 503 come from
the same functions the FastAPI dependencies call, the 422 of an unusable subject id from the same
handler.
"""
from __future__ import annotations

import json
import re
from typing import Awaitable, Callable

from starlette.responses import JSONResponse, PlainTextResponse

from creditstream.auth.http import Problem

_STATUS_PATH = re.compile(r"/v1/subjects/([^/]+)/status")
_ANSWERING = "checks.hot.answering"  # in the scope: an answer is under way, or FastAPI's stack has it


def _text(value, low: int, high: int, optional: bool = True) -> bool:
    """``value`` is a string the request model takes as it is (length in characters within
    [low, high], nothing for ``str_strip_whitespace`` to strip), or None where that is allowed."""
    if value is None:
        return optional
    return type(value) is str and low <= len(value) <= high and value == value.strip()


class PlainCheck:
    """The fields of a CheckRequest body that needs no model to read (or None: the model's case)."""

    def __init__(self, max_short: int, max_text: int, max_id: int, max_name: int):
        self.max_short, self.max_text, self.max_id, self.max_name = max_short, max_text, max_id, max_name

    def __call__(self, body) -> tuple[dict, str | None, str | None, str | None] | None:
        if type(body) is not dict or not body.keys() <= {"matter", "subject", "requesting_unit"}:
            return None
        matter, subject, unit = body.get("matter"), body.get("subject"), body.get("requesting_unit")
        if type(matter) is not dict or type(subject) is not dict:
            return None
        if not matter.keys() <= {"kind", "name", "reference"} or not subject.keys() <= {"id", "name"}:
            return None
        kind, name, reference = matter.get("kind"), matter.get("name"), matter.get("reference")
        subject_id, subject_name = subject.get("id"), subject.get("name")
        if not (_text(kind, 1, self.max_short, optional=False) and _text(name, 0, self.max_text)
                and _text(reference, 0, self.max_short) and _text(unit, 1, self.max_short)
                and _text(subject_id, 1, self.max_id) and _text(subject_name, 1, self.max_name)):
            return None
        if subject_id is None and subject_name is None:  # the model's own message says what to give
            return None
        return {"kind": kind, "name": name, "reference": reference}, subject_id, subject_name, unit


class HotPaths:
    """In front of the FastAPI app: POST /v1/checks and GET /v1/subjects/{id}/status in their
    plain case, everything else to ``app`` (FastAPI's own stack).

    What FastAPI's stack puts around a route is done here in line, to the same effect: the body
    limit (``max_body_bytes``, declared or streamed, answered with ``too_large()``) and the bare
    500 of an unexpected failure (the exception raised on for the server to log).
    ``authorise(header, scope)`` returns the token or raises the 401/403/429 Problem; ``ready()``
    raises the 503 Problem while the index is not ready; ``check(token, matter, id, name, unit)``
    and ``status(token, subject_id)`` return the answer (what JSONResponse renders) or raise a
    Problem.
    """

    def __init__(self, app, *, max_body_bytes: int, too_large: Callable[[], Problem], authorise: Callable,
                 ready: Callable[[], None], plain_check: PlainCheck, check: Callable, status: Callable,
                 max_id: int):
        self.app, self.max_body_bytes, self.too_large = app, max_body_bytes, too_large
        self.authorise, self.ready, self.plain_check = authorise, ready, plain_check
        self.check, self.status, self.max_id = check, status, max_id

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            method, path = scope["method"], scope["path"]
            if method == "POST" and path == "/v1/checks":
                return await self._guarded(self._check(scope, receive, send), scope, receive, send)
            if method == "GET" and path.endswith("/status") and not scope.get("query_string"):
                matched = _STATUS_PATH.fullmatch(path)
                if matched and len(matched[1]) <= self.max_id:
                    return await self._guarded(self._answer(scope, send, self.status, (matched[1],)),
                                               scope, receive, send)
        await self.app(scope, receive, send)

    async def _guarded(self, answering, scope, receive, send) -> None:
        """The body limit's declared length, then ServerErrorMiddleware's part: an unexpected
        failure before an answer started is a bare 500 "Internal Server Error"; the exception goes
        on to the server, which logs it."""
        declared = dict(scope["headers"]).get(b"content-length")  # as BodyLimit reads it
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            answering.close()
            return await self._send(scope, send, self.too_large())
        try:
            await answering
        except Exception:
            if not scope.get(_ANSWERING):
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise

    async def _fallback(self, scope, messages: list, receive, send) -> None:
        """The request to FastAPI's stack, the body already read given to it again; its own
        middleware answers its failures."""
        scope[_ANSWERING] = True
        await self.app(scope, _replay(messages, receive), send)

    async def _check(self, scope, receive, send) -> None:
        headers = scope["headers"]
        messages, body = [], b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return await self._fallback(scope, messages, receive, send)
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                return await self._send(scope, send, self.too_large())
            if not message.get("more_body", False):
                break
        fields = None
        if _header(headers, b"content-type") == "application/json":
            try:
                fields = self.plain_check(json.loads(body))
            except (ValueError, RecursionError):  # malformed: the route's own 422 or 400
                fields = None
        if fields is None:
            return await self._fallback(scope, messages, receive, send)
        await self._answer(scope, send, self.check, fields)

    async def _answer(self, scope, send, handler, args: tuple) -> None:
        try:
            token = self.authorise(_header(scope["headers"], b"authorization") or "", "check")
            self.ready()
            body = _render(handler(token, *args))
        except Problem as exc:
            return await self._send(scope, send, exc)
        scope[_ANSWERING] = True
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode("latin-1")), _JSON]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _send(scope, send, problem: Problem) -> None:
        scope[_ANSWERING] = True
        await problem.response()(scope, None, send)


# What JSONResponse sends, without building one: its rendering and its two headers.
_render_text = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode
_JSON = (b"content-type", JSONResponse.media_type.encode("latin-1"))


def _render(content) -> bytes:
    return _render_text(content).encode("utf-8")


def _header(headers, name: bytes) -> str | None:
    """The first header of that (lower-case) name, as Starlette's ``Headers.get`` reads it."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _replay(messages: list, receive) -> Callable[[], Awaitable[dict]]:
    """A receive that gives the messages already read again, then reads on."""
    pending = list(messages)

    async def replayed() -> dict:
        return pending.pop(0) if pending else await receive()
    return replayed
