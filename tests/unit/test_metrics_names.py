"""The metric names the docs and the sample dashboard use are those the server exports."""

import re
from pathlib import Path

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from logicblocks.event.server.metrics import ServerMetrics

_ROOT = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"\beventstore_[a-z_]+")


def exported_names() -> set[str]:
    """Every series name the server's metrics can show, observed or not yet."""
    text = generate_latest(ServerMetrics().registry).decode("utf-8")
    # A histogram is also named by its family (as the docs do); a counter only with _total.
    suffixes = {"counter": ("_total",), "histogram": ("", "_bucket", "_count", "_sum")}
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in suffixes.get(family.type, ("",))
    }


def test_the_dashboard_and_the_docs_name_only_exported_metrics() -> None:
    exported = exported_names()
    for document in ("docs/grafana-dashboard.json", "docs/operations.md"):
        named = set(_NAME.findall((_ROOT / document).read_text(encoding="utf-8")))
        assert named, document
        assert named <= exported, (document, named - exported)


def test_every_metric_the_issue_asks_for_is_exported() -> None:
    assert {
        "eventstore_events_published_total",
        "eventstore_rpc_duration_seconds_bucket",
        "eventstore_subscriptions_active",
        "eventstore_log_head_sequence_number",
        "eventstore_publish_group_size_count",
        "eventstore_storage_errors_total",
    } <= exported_names()
