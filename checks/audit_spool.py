"""The check audit's local spool: every check record is on disk before its answer leaves.

The check service appends each answer's CheckRecords to an append-only segment file (one
``write`` per answer, no fsync: the kernel holds the bytes once the call returns, so a killed
service loses nothing it answered); a separate process, ``checks.audit_sender``, reads the
segments in order, produces the records to credit.checks and records how far the broker has
acknowledged (``sent.pos``). A record is produced again only after a sender crash between the
broker's acknowledgement and that position (at least once); the sink stores a check id once.

Layout of ``<data_dir>/checks/audit-spool``: segments ``<20-digit sequence>.spool``, each a run of
frames ``<length u32><crc32 u32><payload>`` where the payload is ``marshal`` of a list of
CheckRecord dicts (the Avro record as Python values: no code, only data); ``sent.pos`` =
``<segment name> <byte offset>``; ``writer.lock`` and ``sender.lock`` held with flock by the one
service and the one sender that may use the directory. A writer never appends to a segment it
did not create, so a segment older than the newest is complete: a torn frame at its end (a
service killed inside ``write``) is a record never answered, and the reader skips it.
"""
from __future__ import annotations

import fcntl
import logging
import marshal
import os
import struct
import threading
import zlib
from pathlib import Path

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<II")
_SUFFIX = ".spool"
_POSITION = "sent.pos"
_MARSHAL_VERSION = 4
SEGMENT_BYTES = 64 * 1024 * 1024
MAX_FRAME_BYTES = 256 * 1024 * 1024  # a bulk of 50,000 records is about 20 MB


class SpoolInUse(RuntimeError):
    """Another process holds the directory's lock."""


def spool_dir(settings) -> Path:
    return Path(settings.check_audit_spool or Path(settings.data_dir) / "checks" / "audit-spool")


def _segments(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*" + _SUFFIX))


def _lock(directory: Path, name: str, wait: bool):
    """An open file holding an exclusive flock on ``directory/name`` (released when closed)."""
    handle = open(directory / name, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        handle.close()
        raise SpoolInUse(f"{directory / name} is held by another process") from None
    return handle


class SpoolWriter:
    """The service's side: ``append(records)`` returns once the records are in the kernel's hands."""

    def __init__(self, directory: Path, segment_bytes: int = SEGMENT_BYTES):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._held = _lock(self.directory, "writer.lock", wait=False)
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._size = 0
        self.appended = 0
        self._open_next()

    def _open_next(self) -> None:
        existing = _segments(self.directory)
        sequence = int(existing[-1][: -len(_SUFFIX)]) + 1 if existing else 1
        path = self.directory / f"{sequence:020d}{_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._size = fd, 0

    def append(self, records: list[dict]) -> None:
        payload = marshal.dumps(records, _MARSHAL_VERSION)
        frame = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        with self._mutex:
            if self._fd is None:
                raise RuntimeError("the audit spool is closed")
            view = memoryview(frame)
            while view:  # a regular file takes it all at once; the loop is for the rare short write
                view = view[os.write(self._fd, view):]
            self._size += len(frame)
            self.appended += len(records)
            if self._size >= self.segment_bytes:
                self._open_next()

    def close(self) -> None:
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        self._held.close()


class SpoolReader:
    """The sender's side: frames in order from the acknowledged position; ``commit`` moves it."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment, self.offset = self._load_position()
        self.skipped_bytes = 0  # torn or damaged frames passed over (logged)

    def _load_position(self) -> tuple[str | None, int]:
        try:
            name, offset = (self.directory / _POSITION).read_text().split()
            if (self.directory / name).exists():
                return name, int(offset)
        except (FileNotFoundError, ValueError):
            pass
        existing = _segments(self.directory)
        return (existing[0] if existing else None), 0

    def read(self, max_bytes: int = 4 * 1024 * 1024) -> tuple[list[dict], tuple[str, int] | None]:
        """Records of the whole frames from the position on (about ``max_bytes`` of them, at
        least one frame), and the position just after them (None: nothing new)."""
        if self.segment is None:
            existing = _segments(self.directory)
            if not existing:
                return [], None
            self.segment, self.offset = existing[0], 0
        segment, offset, limit = self.segment, self.offset, max_bytes
        while True:
            path = self.directory / segment
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read(limit)
            used, frames = _frames(data)
            if frames:
                records = [record for payload in frames for record in marshal.loads(payload)]
                return records, (segment, offset + used)
            need = _frame_needs(data)
            if len(data) == limit and limit < need <= MAX_FRAME_BYTES + _HEADER.size:
                limit = need  # one frame larger than a read: read it whole
                continue
            later = [name for name in _segments(self.directory) if name > segment]
            if not later:
                return [], None  # the newest segment: what follows is still being written
            # A complete segment read to its end; anything left is a torn or damaged frame.
            if data:
                size = path.stat().st_size
                log.error("audit spool %s: %d bytes from offset %d are not a whole frame (a write cut off "
                          "by a crash: the check it held was never answered); skipped", segment, size - offset, offset)
                self.skipped_bytes += size - offset
            segment, offset, limit = later[0], 0, max_bytes
            self.segment, self.offset = segment, offset

    def commit(self, position: tuple[str, int]) -> None:
        """The broker has every record before ``position``: record it and drop finished segments."""
        segment, offset = position
        temporary = self.directory / (_POSITION + ".tmp")
        temporary.write_text(f"{segment} {offset}\n")
        os.replace(temporary, self.directory / _POSITION)
        self.segment, self.offset = segment, offset
        for name in _segments(self.directory):
            if name >= segment:
                break
            (self.directory / name).unlink(missing_ok=True)

    def backlog_bytes(self) -> int:
        return backlog_bytes(self.directory, (self.segment, self.offset))


def _frames(data: bytes) -> tuple[int, list[bytes]]:
    """The whole, intact frames at the start of ``data``: (bytes they take, payloads)."""
    used, frames, total = 0, [], len(data)
    while used + _HEADER.size <= total:
        length, crc = _HEADER.unpack_from(data, used)
        end = used + _HEADER.size + length
        if length > MAX_FRAME_BYTES or end > total:
            break
        payload = data[used + _HEADER.size:end]
        if zlib.crc32(payload) != crc:
            break
        frames.append(payload)
        used = end
    return used, frames


def _frame_needs(data: bytes) -> int:
    if len(data) < _HEADER.size:
        return 0
    return _HEADER.size + _HEADER.unpack_from(data)[0]


def read_position(directory: Path) -> tuple[str | None, int]:
    try:
        name, offset = (Path(directory) / _POSITION).read_text().split()
        return name, int(offset)
    except (FileNotFoundError, ValueError):
        return None, 0


def backlog_bytes(directory: Path, position: tuple[str | None, int] | None = None) -> int:
    """Bytes written to the spool that the broker has not acknowledged (from ``sent.pos``)."""
    directory = Path(directory)
    segment, offset = position or read_position(directory)
    total = 0
    for name in _segments(directory):
        if segment is not None and name < segment:
            continue
        try:
            size = (directory / name).stat().st_size
        except FileNotFoundError:  # the sender dropped it meanwhile
            continue
        total += size - (offset if name == segment else 0)
    return max(0, total)


def sender_lock(directory: Path, wait: bool = True):
    return _lock(Path(directory), "sender.lock", wait)
