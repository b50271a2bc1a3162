"""Formatting the broker's log directory takes any valid cluster id, one starting with '-' too
(a data directory made before ids were drawn without a leading dash still starts)."""
from creditstream.embedded.kafka import EmbeddedKafka, ensure_jars
from tests.conftest import stack_settings


def test_format_accepts_a_cluster_id_starting_with_a_dash(tmp_path):
    settings = stack_settings(tmp_path / "data")
    broker = EmbeddedKafka(settings)
    broker._write_config()
    (broker.dir / "cluster.id").write_text("-EAQEBAQEBAQEBAQEBAQEA")
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    broker._format_once(ensure_jars(settings, log=lambda *a: None))
    meta = (broker.dir / "data" / "meta.properties").read_text()
    assert "cluster.id=-EAQEBAQEBAQEBAQEBAQEA" in meta
