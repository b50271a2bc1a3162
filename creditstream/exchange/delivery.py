"""Delivering a batch to a peer: into its inbox directory, or by HTTP POST. A failure raises
DeliveryFailed with what went wrong; the caller records it and retries later."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from creditstream.exchange.batch import ACK_SUFFIX, MANIFEST_SUFFIX, Manifest
from creditstream.exchange.peers import Peer

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


class DeliveryFailed(Exception):
    pass


def next_attempt_at(peer: Peer, attempts: int, now: datetime | None = None) -> str:
    """When to try again after `attempts` failed attempts: the peer's back-off, the last step repeating."""
    wait = peer.retry_seconds[min(max(attempts, 1), len(peer.retry_seconds)) - 1]
    moment = (now or datetime.now(timezone.utc)) + timedelta(seconds=wait)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def to_directory(peer: Peer, manifest: Manifest, data: bytes) -> None:
    """The file, then its manifest: a peer that sees a manifest finds the whole file beside it."""
    try:
        peer.directory.mkdir(parents=True, exist_ok=True)
        _write_atomically(peer.directory / manifest.file, data)
        _write_atomically(peer.directory / f"{manifest.batch_id}{MANIFEST_SUFFIX}", manifest.to_json())
    except OSError as exc:
        raise DeliveryFailed(f"cannot write to {peer.directory}: {exc.strerror or exc}") from None


def acknowledgement(peer: Peer, batch_id: str) -> dict | None:
    """The peer's <batch>.ack.json in its inbox, once it has loaded the batch."""
    path = peer.directory / f"{batch_id}{ACK_SUFFIX}"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"unreadable_ack": f"{path.name}: {exc}"}


def by_http(peer: Peer, manifest: Manifest, data: bytes, timeout: float = 60.0) -> dict:
    """POST the file, its manifest in headers. A 2xx answer is the receipt; one that names another
    checksum than ours is a failed delivery."""
    headers = {"Content-Type": CONTENT_TYPES[manifest.format], "X-Batch-Id": manifest.batch_id,
               "X-Batch-Sha256": manifest.sha256, "X-Batch-Count": str(manifest.count),
               "X-Batch-Layout": manifest.layout, "X-Batch-Sender": manifest.sender,
               "X-Batch-Period": f"{manifest.period_start}/{manifest.period_end}"}
    if peer.token_env:
        token = os.environ.get(peer.token_env)
        if not token:
            raise DeliveryFailed(f"the environment variable {peer.token_env} (the peer's token) is not set")
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(peer.url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(64 * 1024)
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"{peer.url} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"{peer.url} unreachable: {getattr(exc, 'reason', exc)}") from None
    try:
        receipt = json.loads(body) if body.strip() else {}
    except ValueError:
        receipt = {"answer": body[:500].decode("utf-8", "replace")}
    if not isinstance(receipt, dict):
        receipt = {"answer": receipt}
    receipt.setdefault("http_status", status)
    if receipt.get("sha256") not in (None, manifest.sha256):
        raise DeliveryFailed(f"{peer.url} received a file with SHA-256 {receipt['sha256']}, not {manifest.sha256}")
    return receipt
