# The creditstream application image: worker, sink and HTTP services share it; the command differs.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --system --uid 10001 --home /app creditstream
COPY pyproject.toml README.md ./
COPY creditstream ./creditstream
COPY producers ./producers
COPY stream_apps ./stream_apps
COPY avro_schemas ./avro_schemas
COPY sinks ./sinks
COPY dashboards ./dashboards
COPY bench ./bench
RUN pip install --no-cache-dir . && mkdir -p /data && chown creditstream /data
USER creditstream
ENV CREDITSTREAM_DATA_DIR=/data
CMD ["creditstream", "--help"]
