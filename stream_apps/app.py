"""The stream worker: credit.inbound -> credit.records | credit.rejected, and the subjects'
standing on credit.blacklist / credit.redlist.

Reads as faust examples do: the app, its topics, its tables, its agent (here a service running
the batch pipeline), its timers and web views. The rules live in creditstream.domain, the batch
step in stream_apps.processing, the transactional loop in stream_apps.pipeline.

Topics (created by creditstream.topics with one partition count for all):
  in   credit.inbound              CreditEvent, key = subject id
  out  credit.records              ValidatedRecord, key = subject id
       credit.rejected             Rejection, key = event id
       credit.blacklist            BlacklistEntry, key = subject id, compacted, tombstone on exit
       credit.redlist              BlacklistEntry of the red list, same rules
Tables (changelogs partitioned like credit.inbound, written in the batch's transaction):
  natural_key_to_sighting          credit.state.sightings   (compact+delete, bounded retention)
  subject_to_list_state            credit.state.lists       (compact)
  unit_day_to_counts               credit.state.unit_counts (compact+delete)
"""
from __future__ import annotations

import asyncio
import logging

import faust
import mode
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from creditstream.domain.catalog import load_catalog
from creditstream.settings import get_settings
from creditstream.gc_policy import relax_gc
from stream_apps.pipeline import StreamPipeline

settings = get_settings()
log = logging.getLogger("creditstream.stream")

app = faust.App(
    settings.worker_app_id,
    broker=f"kafka://{settings.bootstrap_servers}",
    store="memory://",
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=settings.topic_replication,
    web_enabled=True,
    web_port=settings.worker_web_port,
    web_bind=settings.worker_web_bind,
    datadir=str(settings.data_dir.resolve() / "worker"),
    # faust's own consumer (its assignor topic) joins the app's group too: a restarted worker
    # waits for its killed predecessor's session there before it starts, 60 s by default.
    broker_session_timeout=10.0,
)

pipeline = StreamPipeline(settings, load_catalog(settings.worker_unit_catalog or None),
                          clock_offset_days=settings.worker_clock_offset_days)


@app.service
class ValidateAndRoute(mode.Service):
    """Runs the batch pipeline for as long as the worker runs. The loop blocks on Kafka calls,
    so it runs in a thread; the event loop keeps serving /metrics and /healthz."""

    async def on_start(self) -> None:
        relax_gc()
        self._loop_done = asyncio.get_running_loop().run_in_executor(None, pipeline.run)
        self._loop_done.add_done_callback(self._on_loop_end)

    def _on_loop_end(self, future) -> None:
        if not self.should_stop and future.exception() is not None:
            log.error("the stream pipeline stopped: %r", future.exception())
            self._crash(future.exception())  # the worker exits; its supervisor restarts it

    async def on_stop(self) -> None:
        pipeline.stop()
        await asyncio.wait_for(asyncio.shield(self._loop_done), timeout=30)


@app.page("/metrics")
async def metrics_page(web, request):
    return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])


@app.page("/healthz")
async def health_page(web, request):
    ready = pipeline.ready.is_set()
    return web.json({"ready": ready, "processed": pipeline.processed}, status=200 if ready else 503)


def main() -> None:
    app.main()


if __name__ == "__main__":
    main()
