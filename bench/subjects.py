"""The benchmark's subjects and what they are judged by: each row's name, each workload's
title, and the targets (ratios against baselines of the same run, limits, and CPU per
operation on one side)."""

from .report import Target

__all__ = [
    "BEST_PEER",
    "ECHO",
    "ES",
    "IDLE_SUBS",
    "LARGE_SCAN",
    "LARGE_STALLED_SCANS",
    "LARGE_STALLED_SUBS",
    "LB",
    "LOCAL_DELIVERED",
    "LOCAL_P50",
    "LOCAL_P99",
    "LOCAL_RATE",
    "OURS",
    "OURS_DELIVERED",
    "OURS_P50",
    "OURS_P99",
    "OURS_RATE",
    "RAW_W1",
    "RAW_W2_ONE",
    "RAW_W2_THREADS",
    "RAW_W3",
    "SLOW_SCAN",
    "TARGETS",
    "TITLES",
    "W8_CONDITIONED",
    "W8_CONDITIONED_P50",
    "W8_FILTERED_SCAN",
    "W8_FULL_SCAN",
    "W8_PLAIN",
    "W8_PLAIN_P50",
    "W9_GROUP",
    "W9_PLAIN",
]

OURS = "ours: GrpcStorageAdapter -> server -> PostgreSQL"
RAW_W1 = "raw psycopg: executemany, 1 txn per 100 rows"
RAW_W2_ONE = "raw psycopg: 1 connection, 1 row per txn"
RAW_W2_THREADS = "raw psycopg: 32 threads, own connections"
RAW_W3 = "raw psycopg: keyset pages of 1000"
ECHO = "bare gRPC echo (grpc.aio), same threads"
ES = "eventsourcing recorder (in-process)"
LB = "logicblocks-event-store release (in-process)"
BEST_PEER = "best peer (the faster of the two above)"
OURS_P50 = "ours p50"
OURS_P99 = "ours p99"
LOCAL_P50 = "in-process PostgresStorageAdapter p50 (no server)"
LOCAL_P99 = "in-process PostgresStorageAdapter p99 (no server)"
OURS_RATE = "ours: publish rate reached (offered 500/s)"
LOCAL_RATE = "in-process subscribers: publish rate reached"
OURS_DELIVERED = "ours: deliveries to all subscribers"
LOCAL_DELIVERED = "in-process subscribers: deliveries to all subscribers"
SLOW_SCAN = "ours: server growth, slow scan"
IDLE_SUBS = "ours: server growth, idle subscriptions"
LARGE_SCAN = "ours: server growth, one scan"
LARGE_STALLED_SCANS = "ours: server growth, 3 stalled scans"
LARGE_STALLED_SUBS = "ours: server growth, 3 stalled subscriptions"
W8_PLAIN = "ours: serial publishes, no condition"
W8_CONDITIONED = "ours: serial publishes on no_event_matches(query, after=recent)"
W8_PLAIN_P50 = "ours: publish latency p50, no condition"
W8_CONDITIONED_P50 = "ours: publish latency p50, on the query condition"
W8_FULL_SCAN = "ours: scan the whole log (time per scan; CPU per event)"
W8_FILTERED_SCAN = "ours: scan by a query matching 1% (time per scan; CPU per event)"
W9_PLAIN = "ours: one subscription to the log, from the beginning"
W9_GROUP = "ours: a group of 4 consumer processes over the log, each acking every event"

# How an at-most target of W8 names its baseline.
_PLAIN = "the unconditioned publish's"

TITLES = {
    "W1": "publish, batches of 100, 1 client",
    "W2": "publish, 1 event each, 32 concurrent clients",
    "W3": "scan the whole log into StoredEvent",
    "W4": "publish-to-delivery latency, 50 subscribers, 500 events/s",
    "W5": "server peak memory growth",
    "W6": "server peak memory growth, 520 events of 1000 KiB on PostgreSQL",
    "W7": "listings and summary from the streams index, in process on each engine",
    "W8": "query conditions and reads by query on a large store (PostgreSQL)",
    "W9": "consumer group of 4 against one plain subscription (PostgreSQL)",
}

# Issue 16's targets (CPU per operation, in the same run as the throughput) beside the
# earlier ratios they do not replace.
TARGETS = [
    Target("W1", OURS, side="server", limit=12.0),
    Target("W1", OURS, side="client", limit=10.0),
    Target("W1", OURS, ES, ratio=1.0),
    Target("W1", OURS, RAW_W1, ratio=0.8),
    Target("W2", OURS, side="server", limit=250.0),
    Target("W2", OURS, side="client", limit=180.0),
    Target("W2", OURS, ECHO, ratio=0.6),
    Target("W2", OURS, BEST_PEER, ratio=2.0),
    Target("W3", OURS, side="server", limit=5.0),
    Target("W3", OURS, side="client", limit=5.0),
    Target("W3", OURS, RAW_W3, ratio=0.8),
    Target("W3", OURS, ES, ratio=1.0),
    Target("W3", OURS, LB, ratio=1.0),
    Target("W4", OURS_P50, limit=3.0),
    Target("W4", OURS_P99, limit=10.0),
    Target("W4", OURS_DELIVERED, side="server", limit=15.0),
    # "The offered rate reached": 95% of 500/s, as the last publishes' round trip ends the
    # clock after the schedule does.
    Target("W4", OURS_RATE, limit=475.0),
    Target("W5", SLOW_SCAN, limit=100.0),
    Target("W5", IDLE_SUBS, limit=100.0),
    Target("W6", LARGE_SCAN, limit=100.0),
    Target("W6", LARGE_STALLED_SCANS, limit=300.0),
    Target("W6", LARGE_STALLED_SUBS, limit=300.0),
    # Issue 13: indexed, not scanned. A publish conditioned on a query costs at most twice
    # an unconditioned one (latency, and CPU on the server and in PostgreSQL); a scan by a
    # query matching 1% of the log takes at most a tenth of the whole log's scan.
    Target("W8", W8_CONDITIONED_P50, W8_PLAIN_P50, ratio=2.0, at_most=True, versus=_PLAIN),
    Target("W8", W8_CONDITIONED, W8_PLAIN, ratio=2.0, side="server", at_most=True, versus=_PLAIN),
    Target("W8", W8_CONDITIONED, W8_PLAIN, ratio=2.0, side="postgres", at_most=True, versus=_PLAIN),
    Target("W8", W8_FILTERED_SCAN, W8_FULL_SCAN, ratio=0.1, at_most=True, versus="the whole log's"),
    # Issue 14: a group of 4 consumers processes at least half as many events per second as
    # one plain subscription delivers, the same events on the same server.
    Target("W9", W9_GROUP, W9_PLAIN, ratio=0.5),
]
