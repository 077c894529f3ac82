import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from logicblocks.event.v1 import conditions_pb2 as _conditions_pb2
from logicblocks.event.v1 import events_pb2 as _events_pb2
from logicblocks.event.v1 import targets_pb2 as _targets_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamWrite(_message.Message):
    __slots__ = ("target", "events", "conditions")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    target: _targets_pb2.Stream
    events: _containers.RepeatedCompositeFieldContainer[_events_pb2.NewEvent]
    conditions: _containers.RepeatedCompositeFieldContainer[_conditions_pb2.WriteCondition]
    def __init__(self, target: _Optional[_Union[_targets_pb2.Stream, _Mapping]] = ..., events: _Optional[_Iterable[_Union[_events_pb2.NewEvent, _Mapping]]] = ..., conditions: _Optional[_Iterable[_Union[_conditions_pb2.WriteCondition, _Mapping]]] = ...) -> None: ...

class PublishRequest(_message.Message):
    __slots__ = ("target", "events", "conditions", "writes")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    WRITES_FIELD_NUMBER: _ClassVar[int]
    target: _targets_pb2.Stream
    events: _containers.RepeatedCompositeFieldContainer[_events_pb2.NewEvent]
    conditions: _containers.RepeatedCompositeFieldContainer[_conditions_pb2.WriteCondition]
    writes: _containers.RepeatedCompositeFieldContainer[StreamWrite]
    def __init__(self, target: _Optional[_Union[_targets_pb2.Stream, _Mapping]] = ..., events: _Optional[_Iterable[_Union[_events_pb2.NewEvent, _Mapping]]] = ..., conditions: _Optional[_Iterable[_Union[_conditions_pb2.WriteCondition, _Mapping]]] = ..., writes: _Optional[_Iterable[_Union[StreamWrite, _Mapping]]] = ...) -> None: ...

class PublishResponse(_message.Message):
    __slots__ = ("events", "receipts")
    class Receipt(_message.Message):
        __slots__ = ("id", "position", "sequence_number", "observed_at", "occurred_at")
        ID_FIELD_NUMBER: _ClassVar[int]
        POSITION_FIELD_NUMBER: _ClassVar[int]
        SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
        OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
        OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
        id: str
        position: int
        sequence_number: int
        observed_at: _timestamp_pb2.Timestamp
        occurred_at: _timestamp_pb2.Timestamp
        def __init__(self, id: _Optional[str] = ..., position: _Optional[int] = ..., sequence_number: _Optional[int] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_events_pb2.StoredEvent]
    receipts: _containers.RepeatedCompositeFieldContainer[PublishResponse.Receipt]
    def __init__(self, events: _Optional[_Iterable[_Union[_events_pb2.StoredEvent, _Mapping]]] = ..., receipts: _Optional[_Iterable[_Union[PublishResponse.Receipt, _Mapping]]] = ...) -> None: ...

class ScanRequest(_message.Message):
    __slots__ = ("target", "after_sequence_number", "limit", "since")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    target: _targets_pb2.Target
    after_sequence_number: int
    limit: int
    since: _timestamp_pb2.Timestamp
    def __init__(self, target: _Optional[_Union[_targets_pb2.Target, _Mapping]] = ..., after_sequence_number: _Optional[int] = ..., limit: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScanResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_events_pb2.StoredEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[_events_pb2.StoredEvent, _Mapping]]] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("target", "beginning", "end", "after_sequence_number", "since", "heartbeat_interval")
    class Beginning(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    class End(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    TARGET_FIELD_NUMBER: _ClassVar[int]
    BEGINNING_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    target: _targets_pb2.Target
    beginning: SubscribeRequest.Beginning
    end: SubscribeRequest.End
    after_sequence_number: int
    since: _timestamp_pb2.Timestamp
    heartbeat_interval: _duration_pb2.Duration
    def __init__(self, target: _Optional[_Union[_targets_pb2.Target, _Mapping]] = ..., beginning: _Optional[_Union[SubscribeRequest.Beginning, _Mapping]] = ..., end: _Optional[_Union[SubscribeRequest.End, _Mapping]] = ..., after_sequence_number: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., heartbeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("events", "caught_up", "heartbeat")
    class Events(_message.Message):
        __slots__ = ("events",)
        EVENTS_FIELD_NUMBER: _ClassVar[int]
        events: _containers.RepeatedCompositeFieldContainer[_events_pb2.StoredEvent]
        def __init__(self, events: _Optional[_Iterable[_Union[_events_pb2.StoredEvent, _Mapping]]] = ...) -> None: ...
    class CaughtUp(_message.Message):
        __slots__ = ("head",)
        HEAD_FIELD_NUMBER: _ClassVar[int]
        head: int
        def __init__(self, head: _Optional[int] = ...) -> None: ...
    class Heartbeat(_message.Message):
        __slots__ = ("head",)
        HEAD_FIELD_NUMBER: _ClassVar[int]
        head: int
        def __init__(self, head: _Optional[int] = ...) -> None: ...
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    events: SubscribeResponse.Events
    caught_up: SubscribeResponse.CaughtUp
    heartbeat: SubscribeResponse.Heartbeat
    def __init__(self, events: _Optional[_Union[SubscribeResponse.Events, _Mapping]] = ..., caught_up: _Optional[_Union[SubscribeResponse.CaughtUp, _Mapping]] = ..., heartbeat: _Optional[_Union[SubscribeResponse.Heartbeat, _Mapping]] = ...) -> None: ...

class ListCategoriesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCategoriesResponse(_message.Message):
    __slots__ = ("categories", "next_page_token")
    class Category(_message.Message):
        __slots__ = ("category", "streams", "events", "last_sequence_number")
        CATEGORY_FIELD_NUMBER: _ClassVar[int]
        STREAMS_FIELD_NUMBER: _ClassVar[int]
        EVENTS_FIELD_NUMBER: _ClassVar[int]
        LAST_SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
        category: str
        streams: int
        events: int
        last_sequence_number: int
        def __init__(self, category: _Optional[str] = ..., streams: _Optional[int] = ..., events: _Optional[int] = ..., last_sequence_number: _Optional[int] = ...) -> None: ...
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[ListCategoriesResponse.Category]
    next_page_token: str
    def __init__(self, categories: _Optional[_Iterable[_Union[ListCategoriesResponse.Category, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListStreamsRequest(_message.Message):
    __slots__ = ("category", "prefix", "page_size", "page_token")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    category: str
    prefix: str
    page_size: int
    page_token: str
    def __init__(self, category: _Optional[str] = ..., prefix: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStreamsResponse(_message.Message):
    __slots__ = ("streams", "next_page_token")
    class Stream(_message.Message):
        __slots__ = ("stream", "events", "last_position", "last_sequence_number", "last_observed_at")
        STREAM_FIELD_NUMBER: _ClassVar[int]
        EVENTS_FIELD_NUMBER: _ClassVar[int]
        LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
        LAST_SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
        LAST_OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
        stream: str
        events: int
        last_position: int
        last_sequence_number: int
        last_observed_at: _timestamp_pb2.Timestamp
        def __init__(self, stream: _Optional[str] = ..., events: _Optional[int] = ..., last_position: _Optional[int] = ..., last_sequence_number: _Optional[int] = ..., last_observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    streams: _containers.RepeatedCompositeFieldContainer[ListStreamsResponse.Stream]
    next_page_token: str
    def __init__(self, streams: _Optional[_Iterable[_Union[ListStreamsResponse.Stream, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetInfoResponse(_message.Message):
    __slots__ = ("server_version", "storage", "head", "categories", "streams", "events")
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    server_version: str
    storage: str
    head: int
    categories: int
    streams: int
    events: int
    def __init__(self, server_version: _Optional[str] = ..., storage: _Optional[str] = ..., head: _Optional[int] = ..., categories: _Optional[int] = ..., streams: _Optional[int] = ..., events: _Optional[int] = ...) -> None: ...
