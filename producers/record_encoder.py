"""An Avro encoder compiled from the schema, for the file adapters' hot path.

fastavro's ``schemaless_writer`` spends about 25 µs on one CreditEvent here (its generic union
and logical-type handling per field), half the time budget of a 50 k rows/s load. This module turns
the parsed schema into straight-line Python once (a branch per union, inline varints), which
writes the same bytes in a fraction of that time. Anything it does not cover — a schema shape it
does not compile, or a value of an unexpected type — falls back to the codec (fastavro), so the
bytes and the errors are always fastavro's; tests compare the two byte for byte.
"""
from __future__ import annotations

import struct
from datetime import datetime, timezone

from avro_schemas.codec import codec
from avro_schemas.compiled import compile_codec

_PRIMITIVE_CHECKS = {"null": "{v} is None", "string": "type({v}) is str", "boolean": "type({v}) is bool",
                     "long": "type({v}) is int", "int": "type({v}) is int", "double": "type({v}) is float",
                     "float": "type({v}) is float", "bytes": "type({v}) is bytes"}


class NotCompiled(Exception):
    """The schema has a shape this compiler leaves to fastavro."""


def _write_long(out: bytearray, n: int) -> None:
    n = (n << 1) ^ (n >> 63)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _millis(value) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp() * 1000)
    return value


class _Compiler:
    def __init__(self):
        self.lines: list[str] = []
        self.counter = 0
        self.constants: dict[str, object] = {}

    def var(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def string(self, v: str, depth: int) -> None:
        b = self.var("b")
        self.emit(depth, f"{b} = {v}.encode()")
        self.emit(depth, f"if len({b}) < 64: ap(len({b}) << 1)")
        self.emit(depth, f"else: _write_long(out, len({b}))")
        self.emit(depth, f"out += {b}")

    def value(self, schema, v: str, depth: int) -> None:
        if isinstance(schema, list):
            return self.union(schema, v, depth)
        kind = schema if isinstance(schema, str) else schema["type"]
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if kind == "null":
            return
        if kind == "string":
            return self.string(v, depth)
        if kind in ("long", "int"):
            if logical == "timestamp-millis":
                self.emit(depth, f"_write_long(out, _millis({v}))")
            elif logical is None:
                self.emit(depth, f"_write_long(out, {v})")
            else:
                raise NotCompiled(logical)
            return
        if kind == "boolean":
            self.emit(depth, f"ap(1 if {v} else 0)")
            return
        if kind == "double":
            self.emit(depth, f"out += _pack_double({v})")
            return
        if kind == "enum":
            table = self.var("enum")
            if len(schema["symbols"]) > 63:
                raise NotCompiled("enum of more than 63 symbols")
            self.constants[table] = {symbol: i << 1 for i, symbol in enumerate(schema["symbols"])}  # zigzag
            self.emit(depth, f"ap({table}[{v}])")
            return
        if kind == "record":
            for field in schema["fields"]:
                # A missing field raises KeyError: fastavro then writes its default (the slow path).
                item = self.var("f")
                self.emit(depth, f"{item} = {v}[{field['name']!r}]")
                self.value(field["type"], item, depth)
            return
        if kind == "map":
            key, item = self.var("k"), self.var("x")
            self.emit(depth, f"if {v}:")
            self.emit(depth + 1, f"_write_long(out, len({v}))")
            self.emit(depth + 1, f"for {key}, {item} in {v}.items():")
            self.string(key, depth + 2)
            self.value(schema["values"], item, depth + 2)
            self.emit(depth, "ap(0)")
            return
        raise NotCompiled(kind)

    def union(self, branches: list, v: str, depth: int) -> None:
        checks = []
        for index, branch in enumerate(branches):
            kind = branch if isinstance(branch, str) else branch.get("type")
            if kind not in _PRIMITIVE_CHECKS or (isinstance(branch, dict) and branch.get("logicalType")):
                raise NotCompiled(f"union branch {kind}")
            checks.append((index, branch, _PRIMITIVE_CHECKS[kind].format(v=v)))
        for n, (index, branch, check) in enumerate(checks):
            self.emit(depth, f"{'if' if n == 0 else 'elif'} {check}:")
            self.emit(depth + 1, f"ap({index << 1})")  # the branch index, a small zigzag varint
            self.value(branch, v, depth + 1)
        self.emit(depth, "else: raise _Fallback")


class _Fallback(Exception):
    pass


def compile_encoder(record_name: str):
    """``encode(record) -> bytes`` in the Confluent wire format, the same bytes as
    ``codec(record_name).encode``; that codec is used whenever the compiled path cannot be."""
    slow = codec(record_name)
    compiler = _Compiler()
    try:
        compiler.value(slow.writer.parsed, "record", 1)
    except NotCompiled:
        # Arrays and maps (check records, for one): the schema-generic compiled codec.
        compiled = compile_codec(slow)
        return _falling_back(compiled.encode, slow.encode) if compiled else slow.encode
    header = slow._header  # magic byte and schema id, as the codec writes them
    source = "\n".join(["def encode_fast(record):", "    out = bytearray(HEADER)", "    ap = out.append",
                        *compiler.lines,
                        "    return bytes(out)"])
    namespace = {"HEADER": header, "_write_long": _write_long, "_millis": _millis,
                 "_pack_double": struct.Struct("<d").pack, "_Fallback": _Fallback, **compiler.constants}
    exec(compile(source, f"<avro encoder {record_name}>", "exec"), namespace)
    encode = _falling_back(namespace["encode_fast"], slow.encode)
    encode.source = source
    return encode


def _falling_back(encode_fast, encode_slow):
    def encode(record: dict) -> bytes:
        try:
            return encode_fast(record)
        except Exception:  # an odd value: fastavro decides (and words the error)
            return encode_slow(record)
    return encode
