"""Avro encoders and decoders compiled to straight-line Python for one schema each.

fastavro interprets the schema on every call; for the wide records of this stream (40 fields,
most of them nullable) that costs 20-25 µs a record here, as much as all the rules together.
Generated code that walks the fields in order costs a fraction of that. The bytes are the
same as fastavro's (the unit tests compare them on generated records), and the Confluent header
is the codec's: these functions stand in for `avro_schemas.codec.Codec` on the hot path only.

Supported: records, primitives, enums, arrays, maps, fixed, logical date and timestamp-millis,
and unions of null with one other type. Anything else makes `compile_codec` return None and the
caller keeps the interpreting codec.
"""
from __future__ import annotations

import struct
from datetime import date, datetime, timezone

from avro_schemas.codec import Codec, UndecodableMessage

_EPOCH_DATE = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _varint(n: int) -> bytes:
    """Avro long: zig-zag, then base-128 little-endian."""
    z = (n << 1) ^ (n >> 63)
    if z < 0x80:
        return bytes((z,))
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


# Lengths and small numbers, and dates (days since 1970 up to 2149): looked up, not computed.
_SMALL_LONGS = {n: _varint(n) for n in range(-64, 65536)}
# Lengths of strings and collections, indexed: one subscript in the generated code, no call.
_LENGTHS = tuple(_varint(n) for n in range(1024))
# The same after a union's "not null" branch index (2): a nullable string costs one append.
_SOME_LENGTHS = tuple(b"\x02" + _varint(n) for n in range(1024))
# What a one-byte long reads as (zig-zag undone), indexed by the byte.
_ONE_BYTE_LONGS = tuple((b >> 1) ^ -(b & 1) for b in range(128))


# Recent large longs: the timestamps of a batch repeat (its processing time in every record, a
# file's report time in all its rows). Bounded: cleared when full.
_RECENT_LONGS: dict[int, bytes] = {}


def write_long(n: int) -> bytes:
    encoded = _SMALL_LONGS.get(n)
    if encoded is None:
        encoded = _RECENT_LONGS.get(n)
        if encoded is None:
            if len(_RECENT_LONGS) >= 4096:
                _RECENT_LONGS.clear()
            encoded = _RECENT_LONGS[n] = _varint(n)
    return encoded


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    pos += 1
    z = b & 0x7F
    shift = 7
    while b & 0x80:
        b = data[pos]
        pos += 1
        z |= (b & 0x7F) << shift
        shift += 7
    return (z >> 1) ^ -(z & 1), pos


def _timestamp_millis(value) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return value


def _date_days(value) -> int:
    return (value - _EPOCH_DATE).days if isinstance(value, date) else value


class Unsupported(Exception):
    pass


class _Generator:
    def __init__(self, named: dict, prefix: str):
        self.named = named
        self.prefix = prefix
        self.lines: list[str] = []
        self.constants: dict[str, object] = {}
        self.counter = 0

    def var(self, prefix: str) -> str:
        self.counter += 1
        return f"{self.prefix}{prefix}{self.counter}"

    def const(self, value) -> str:
        name = self.var("K")
        self.constants[name] = value
        return name

    def resolve(self, schema):
        if isinstance(schema, str) and schema in self.named:
            return self.named[schema]
        return schema

    # -- encoding -------------------------------------------------------------------------------
    # The generated code appends to a bytearray `o` with `o += ...` (no method call per part), and
    # a string's length comes from a precomputed table: a 45-field record is about 100 parts.
    def string(self, value: str, indent: str, lengths: str = "L", prefix: bytes = b"") -> None:
        emit = self.lines.append
        b, n = self.var("b"), self.var("n")
        emit(f"{indent}{b} = {value}.encode()")
        emit(f"{indent}{n} = len({b})")
        fallback = f"{prefix!r} + wl({n})" if prefix else f"wl({n})"
        emit(f"{indent}o += {lengths}[{n}] if {n} < 1024 else {fallback}")
        emit(f"{indent}o += {b}")

    def encode(self, schema, value: str, indent: str) -> None:
        schema = self.resolve(schema)
        emit = self.lines.append
        if isinstance(schema, list):
            if len(schema) != 2 or "null" not in schema:
                raise Unsupported("union")
            other = schema[1] if schema[0] == "null" else schema[0]
            null_index, other_index = (b"\x00", b"\x02") if schema[0] == "null" else (b"\x02", b"\x00")
            emit(f"{indent}if {value} is None:")
            emit(f"{indent}    o += {null_index!r}")
            emit(f"{indent}else:")
            if self.resolve(other) == "string" and other_index == b"\x02":
                self.string(value, indent + "    ", "SL", other_index)  # branch index and length at once
                return
            emit(f"{indent}    o += {other_index!r}")
            self.encode(other, value, indent + "    ")
            return
        kind = schema if isinstance(schema, str) else schema["type"]
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if kind == "null":
            return
        if kind == "boolean":
            emit(f"{indent}o += b'\\x01' if {value} else b'\\x00'")
        elif kind in ("int", "long"):
            if logical == "timestamp-millis":
                emit(f"{indent}o += wl(tsm({value}))")
            elif logical == "date":
                emit(f"{indent}o += wl(dd({value}))")
            elif logical is None:
                emit(f"{indent}o += wl({value})")
            else:
                raise Unsupported(logical)
        elif kind == "string":
            self.string(value, indent)
        elif kind == "bytes":
            emit(f"{indent}o += wl(len({value}))")
            emit(f"{indent}o += {value}")
        elif kind == "float":
            emit(f"{indent}o += pf({value})")
        elif kind == "double":
            emit(f"{indent}o += pd({value})")
        elif kind == "fixed":
            emit(f"{indent}o += {value}")
        elif kind == "enum":
            table = self.const({s: write_long(i) for i, s in enumerate(schema["symbols"])})
            emit(f"{indent}o += {table}[{value}]")
        elif kind == "array":
            item = self.var("i")
            emit(f"{indent}if {value}:")
            emit(f"{indent}    o += wl(len({value}))")
            emit(f"{indent}    for {item} in {value}:")
            self.encode(schema["items"], item, indent + "        ")
            emit(f"{indent}o += b'\\x00'")
        elif kind == "map":
            key, item = self.var("k"), self.var("v")
            emit(f"{indent}if {value}:")
            emit(f"{indent}    o += wl(len({value}))")
            emit(f"{indent}    for {key}, {item} in {value}.items():")
            self.string(key, indent + "        ")
            self.encode(schema["values"], item, indent + "        ")
            emit(f"{indent}o += b'\\x00'")
        elif kind == "record":
            record = self.var("r")
            emit(f"{indent}{record} = {value}")
            for f in schema["fields"]:
                field_value = self.var("f")
                if "default" in f:
                    emit(f"{indent}{field_value} = {record}.get({f['name']!r}, {self.const(f['default'])})")
                else:
                    emit(f"{indent}{field_value} = {record}[{f['name']!r}]")
                self.encode(f["type"], field_value, indent)
        else:
            raise Unsupported(str(kind))

    # -- decoding -------------------------------------------------------------------------------
    def read_long(self, target: str, indent: str) -> None:
        """Inline the one-byte case (lengths, enums, small numbers): most longs of a record."""
        emit = self.lines.append
        emit(f"{indent}{target} = d[p]")
        emit(f"{indent}if {target} < 128:")
        emit(f"{indent}    {target} = Z[{target}]")
        emit(f"{indent}    p += 1")
        emit(f"{indent}else:")
        emit(f"{indent}    {target}, p = rl(d, p)")

    def decode(self, schema, target: str, indent: str) -> None:
        """Code that reads one value at `p` of `d` into the variable `target`."""
        schema = self.resolve(schema)
        emit = self.lines.append
        if isinstance(schema, list):
            if len(schema) != 2 or "null" not in schema:
                raise Unsupported("union")
            null_index = schema.index("null")
            other = schema[1 - null_index]
            emit(f"{indent}if d[p] == {null_index * 2}:")
            emit(f"{indent}    p += 1")
            emit(f"{indent}    {target} = None")
            emit(f"{indent}else:")
            emit(f"{indent}    p += 1")
            self.decode(other, target, indent + "    ")
            return
        kind = schema if isinstance(schema, str) else schema["type"]
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if kind == "null":
            emit(f"{indent}{target} = None")
        elif kind == "boolean":
            emit(f"{indent}{target} = d[p] == 1")
            emit(f"{indent}p += 1")
        elif kind in ("int", "long"):
            if logical not in (None, "timestamp-millis", "date"):
                raise Unsupported(logical)
            # Logical values stay numbers (millis, days): what the rules read and write.
            self.read_long(target, indent)
        elif kind in ("string", "bytes"):
            n = self.var("n")
            self.read_long(n, indent)
            emit(f"{indent}{target} = d[p:p + {n}]{'.decode()' if kind == 'string' else ''}")
            emit(f"{indent}p += {n}")
        elif kind == "float":
            emit(f"{indent}{target} = uf(d, p)[0]")
            emit(f"{indent}p += 4")
        elif kind == "double":
            emit(f"{indent}{target} = ud(d, p)[0]")
            emit(f"{indent}p += 8")
        elif kind == "fixed":
            emit(f"{indent}{target} = d[p:p + {schema['size']}]")
            emit(f"{indent}p += {schema['size']}")
        elif kind == "enum":
            symbols = self.const(tuple(schema["symbols"]))
            i = self.var("e")
            self.read_long(i, indent)
            emit(f"{indent}{target} = {symbols}[{i}]")
        elif kind in ("array", "map"):
            n, item, key = self.var("n"), self.var("x"), self.var("k")
            emit(f"{indent}{target} = {'[]' if kind == 'array' else '{}'}")
            emit(f"{indent}while True:")
            emit(f"{indent}    {n}, p = rl(d, p)")
            emit(f"{indent}    if {n} == 0:")
            emit(f"{indent}        break")
            emit(f"{indent}    if {n} < 0:")
            emit(f"{indent}        {n} = -{n}")
            emit(f"{indent}        _, p = rl(d, p)")
            emit(f"{indent}    for _ in range({n}):")
            inner = indent + "        "
            if kind == "map":
                self.decode("string", key, inner)
                self.decode(schema["values"], item, inner)
                emit(f"{inner}{target}[{key}] = {item}")
            else:
                self.decode(schema["items"], item, inner)
                emit(f"{inner}{target}.append({item})")
        elif kind == "record":
            names = []
            for f in schema["fields"]:
                v = self.var("f")
                self.decode(f["type"], v, indent)
                names.append((f["name"], v))
            emit(f"{indent}{target} = {{{', '.join(f'{n!r}: {v}' for n, v in names)}}}")
        else:
            raise Unsupported(str(kind))


def _named_types(schema: dict) -> dict:
    return dict(schema.get("__named_schemas") or {})


_RUNTIME = {"wl": write_long, "rl": read_long, "tsm": _timestamp_millis, "dd": _date_days,
            "L": _LENGTHS, "SL": _SOME_LENGTHS, "Z": _ONE_BYTE_LONGS,
            "pf": struct.Struct("<f").pack, "pd": struct.Struct("<d").pack,
            "uf": struct.Struct("<f").unpack_from, "ud": struct.Struct("<d").unpack_from}


class CompiledCodec:
    """encode(record) -> Confluent-framed bytes; decode(bytes) -> dict (logical values as numbers)."""

    def __init__(self, codec: Codec, encode_body, decode_body):
        self.codec = codec
        self.name = codec.name
        self._header = codec._header
        self._schema_id = codec.writer.schema_id
        self._encode_body = encode_body
        self._decode_body = decode_body

    def encode(self, record: dict) -> bytes:
        out = bytearray(self._header)
        self._encode_body(record, out)
        return bytes(out)

    def decode(self, data: bytes) -> dict:
        if data is None or len(data) < 5 or data[0] != 0:
            return self.codec.decode(data)  # the codec says precisely what is wrong
        if int.from_bytes(data[1:5], "big") != self._schema_id:
            return self.codec.decode(data)  # an older writer: fastavro resolves it
        try:
            record, end = self._decode_body(data, 5)
        except (IndexError, UnicodeDecodeError, KeyError, ValueError, TypeError, OverflowError) as exc:
            raise UndecodableMessage(f"Avro body cannot be read: {type(exc).__name__}") from None
        if end != len(data):
            raise UndecodableMessage(f"{len(data) - end} trailing bytes after the Avro body")
        return record


def compile_codec(codec: Codec) -> CompiledCodec | None:
    """The compiled form of a codec's latest schema, or None when the schema uses something
    the generator does not handle."""
    schema = codec.writer.parsed
    try:
        enc = _Generator(_named_types(schema), "w")
        enc.lines.append("def encode(record, o):")
        enc.encode(schema, "record", "    ")
        dec = _Generator(_named_types(schema), "r")
        dec.lines.append("def decode(d, p):")
        dec.decode(schema, "result", "    ")
        dec.lines.append("    return result, p")
    except Unsupported:
        return None
    namespace = dict(_RUNTIME)
    namespace.update(enc.constants)
    namespace.update(dec.constants)
    exec(compile("\n".join(enc.lines), f"<avro encoder {codec.name}>", "exec"), namespace)
    exec(compile("\n".join(dec.lines), f"<avro decoder {codec.name}>", "exec"), namespace)
    return CompiledCodec(codec, namespace["encode"], namespace["decode"])


def fast(codec: Codec):
    """The compiled codec when the schema allows it, else the codec itself."""
    return compile_codec(codec) or codec
