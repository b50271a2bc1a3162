"""The online form (在线填报): a small page where a unit's clerk fills in one record, sees the
stream's validation errors beside the fields as they type, and submits; and files zero reports.

The page is static; what it does goes through the same endpoints' logic as the interface mode
(producers.http_push), with the platform's own field names (the ``canonical`` layout), reporting
mode ONLINE_FORM and source format ``form``.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from creditstream.auth.tokens import TokenInfo
from producers.http_app import IngestContext, Problem, context, require
from producers.http_push import accept_records, accept_zero_report, check_records, read_json

PAGE = Path(__file__).resolve().parent / "form" / "form.html"
router = APIRouter()
_FORM = {"mode": "ONLINE_FORM", "source_format": "form", "layout": "canonical"}


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/form")


@router.get("/form", response_class=HTMLResponse, include_in_schema=False)
def form_page() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"})


async def _one_record(request: Request, ctx: IngestContext) -> dict:
    body = await read_json(request, ctx.limits)
    if not isinstance(body, dict):
        raise Problem(422, "请求格式错误 invalid request", "the form sends one record as a JSON object",
                      kind="invalid-request")
    return body


@router.post("/v1/form/check")
async def form_check(request: Request, token: TokenInfo = Depends(require("report")),
                     ctx: IngestContext = Depends(context)) -> dict:
    """The stream's verdict on the record being filled in; nothing is sent."""
    result = check_records(ctx, token, [await _one_record(request, ctx)], **_FORM)
    return result["records"][0]


@router.post("/v1/form/submit", status_code=202)
async def form_submit(request: Request, token: TokenInfo = Depends(require("report")),
                      ctx: IngestContext = Depends(context)) -> dict:
    result = await accept_records(ctx, token, [await _one_record(request, ctx)], **_FORM)
    return {"request_id": result["request_id"], **result["receipts"][0]}


@router.post("/v1/form/zero-report", status_code=202)
async def form_zero_report(request: Request, token: TokenInfo = Depends(require("report")),
                           ctx: IngestContext = Depends(context)) -> dict:
    return await accept_zero_report(ctx, token, await read_json(request, ctx.limits), mode="ONLINE_FORM")
