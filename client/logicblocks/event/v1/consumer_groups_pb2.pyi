import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from logicblocks.event.v1 import events_pb2 as _events_pb2
from logicblocks.event.v1 import targets_pb2 as _targets_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GroupSettings(_message.Message):
    __slots__ = ("ack_timeout", "max_retries", "retry_backoff", "retry_backoff_max", "max_in_flight", "member_timeout", "partitions")
    ACK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    RETRY_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    RETRY_BACKOFF_MAX_FIELD_NUMBER: _ClassVar[int]
    MAX_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    MEMBER_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    ack_timeout: _duration_pb2.Duration
    max_retries: int
    retry_backoff: _duration_pb2.Duration
    retry_backoff_max: _duration_pb2.Duration
    max_in_flight: int
    member_timeout: _duration_pb2.Duration
    partitions: int
    def __init__(self, ack_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_retries: _Optional[int] = ..., retry_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., retry_backoff_max: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_in_flight: _Optional[int] = ..., member_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., partitions: _Optional[int] = ...) -> None: ...

class GroupStart(_message.Message):
    __slots__ = ("beginning", "end", "after_sequence_number")
    class Beginning(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    class End(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    BEGINNING_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    beginning: GroupStart.Beginning
    end: GroupStart.End
    after_sequence_number: int
    def __init__(self, beginning: _Optional[_Union[GroupStart.Beginning, _Mapping]] = ..., end: _Optional[_Union[GroupStart.End, _Mapping]] = ..., after_sequence_number: _Optional[int] = ...) -> None: ...

class GroupMember(_message.Message):
    __slots__ = ("consumer_id",)
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    consumer_id: str
    def __init__(self, consumer_id: _Optional[str] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("name", "target", "start", "settings", "lag", "parked", "members")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    LAG_FIELD_NUMBER: _ClassVar[int]
    PARKED_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: _targets_pb2.Target
    start: GroupStart
    settings: GroupSettings
    lag: int
    parked: int
    members: _containers.RepeatedCompositeFieldContainer[GroupMember]
    def __init__(self, name: _Optional[str] = ..., target: _Optional[_Union[_targets_pb2.Target, _Mapping]] = ..., start: _Optional[_Union[GroupStart, _Mapping]] = ..., settings: _Optional[_Union[GroupSettings, _Mapping]] = ..., lag: _Optional[int] = ..., parked: _Optional[int] = ..., members: _Optional[_Iterable[_Union[GroupMember, _Mapping]]] = ...) -> None: ...

class ParkedEvent(_message.Message):
    __slots__ = ("sequence_number", "event_id", "category", "stream", "position", "partition", "reason", "attempts", "parked_at", "replaying")
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    PARKED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLAYING_FIELD_NUMBER: _ClassVar[int]
    sequence_number: int
    event_id: str
    category: str
    stream: str
    position: int
    partition: int
    reason: str
    attempts: int
    parked_at: _timestamp_pb2.Timestamp
    replaying: bool
    def __init__(self, sequence_number: _Optional[int] = ..., event_id: _Optional[str] = ..., category: _Optional[str] = ..., stream: _Optional[str] = ..., position: _Optional[int] = ..., partition: _Optional[int] = ..., reason: _Optional[str] = ..., attempts: _Optional[int] = ..., parked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replaying: _Optional[bool] = ...) -> None: ...

class CreateGroupRequest(_message.Message):
    __slots__ = ("name", "target", "start", "settings")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: _targets_pb2.Target
    start: GroupStart
    settings: GroupSettings
    def __init__(self, name: _Optional[str] = ..., target: _Optional[_Union[_targets_pb2.Target, _Mapping]] = ..., start: _Optional[_Union[GroupStart, _Mapping]] = ..., settings: _Optional[_Union[GroupSettings, _Mapping]] = ...) -> None: ...

class CreateGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class UpdateGroupRequest(_message.Message):
    __slots__ = ("name", "settings")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    settings: GroupSettings
    def __init__(self, name: _Optional[str] = ..., settings: _Optional[_Union[GroupSettings, _Mapping]] = ...) -> None: ...

class UpdateGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class GetGroupRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class ListGroupsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListGroupsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[Group]
    def __init__(self, groups: _Optional[_Iterable[_Union[Group, _Mapping]]] = ...) -> None: ...

class ResetGroupRequest(_message.Message):
    __slots__ = ("name", "start")
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    name: str
    start: GroupStart
    def __init__(self, name: _Optional[str] = ..., start: _Optional[_Union[GroupStart, _Mapping]] = ...) -> None: ...

class ResetGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class DeleteGroupRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListParkedEventsRequest(_message.Message):
    __slots__ = ("name", "after_sequence_number", "limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    after_sequence_number: int
    limit: int
    def __init__(self, name: _Optional[str] = ..., after_sequence_number: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListParkedEventsResponse(_message.Message):
    __slots__ = ("parked_events", "more")
    PARKED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    parked_events: _containers.RepeatedCompositeFieldContainer[ParkedEvent]
    more: bool
    def __init__(self, parked_events: _Optional[_Iterable[_Union[ParkedEvent, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...

class ReplayParkedEventsRequest(_message.Message):
    __slots__ = ("name", "sequence_numbers", "all")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    name: str
    sequence_numbers: _containers.RepeatedScalarFieldContainer[int]
    all: bool
    def __init__(self, name: _Optional[str] = ..., sequence_numbers: _Optional[_Iterable[int]] = ..., all: _Optional[bool] = ...) -> None: ...

class ReplayParkedEventsResponse(_message.Message):
    __slots__ = ("replaying",)
    REPLAYING_FIELD_NUMBER: _ClassVar[int]
    replaying: int
    def __init__(self, replaying: _Optional[int] = ...) -> None: ...

class DropParkedEventsRequest(_message.Message):
    __slots__ = ("name", "sequence_numbers", "all")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    name: str
    sequence_numbers: _containers.RepeatedScalarFieldContainer[int]
    all: bool
    def __init__(self, name: _Optional[str] = ..., sequence_numbers: _Optional[_Iterable[int]] = ..., all: _Optional[bool] = ...) -> None: ...

class DropParkedEventsResponse(_message.Message):
    __slots__ = ("dropped",)
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    dropped: int
    def __init__(self, dropped: _Optional[int] = ...) -> None: ...

class ConsumeRequest(_message.Message):
    __slots__ = ("join", "ack", "nack", "credit", "give_back")
    class Join(_message.Message):
        __slots__ = ("group", "consumer_id", "credit")
        GROUP_FIELD_NUMBER: _ClassVar[int]
        CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
        CREDIT_FIELD_NUMBER: _ClassVar[int]
        group: str
        consumer_id: str
        credit: int
        def __init__(self, group: _Optional[str] = ..., consumer_id: _Optional[str] = ..., credit: _Optional[int] = ...) -> None: ...
    class Ack(_message.Message):
        __slots__ = ("delivery_ids", "credit")
        DELIVERY_IDS_FIELD_NUMBER: _ClassVar[int]
        CREDIT_FIELD_NUMBER: _ClassVar[int]
        delivery_ids: _containers.RepeatedScalarFieldContainer[int]
        credit: int
        def __init__(self, delivery_ids: _Optional[_Iterable[int]] = ..., credit: _Optional[int] = ...) -> None: ...
    class Nack(_message.Message):
        __slots__ = ("delivery_id", "reason")
        DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
        REASON_FIELD_NUMBER: _ClassVar[int]
        delivery_id: int
        reason: str
        def __init__(self, delivery_id: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...
    class Credit(_message.Message):
        __slots__ = ("count",)
        COUNT_FIELD_NUMBER: _ClassVar[int]
        count: int
        def __init__(self, count: _Optional[int] = ...) -> None: ...
    class GiveBack(_message.Message):
        __slots__ = ("delivery_ids", "received_through")
        DELIVERY_IDS_FIELD_NUMBER: _ClassVar[int]
        RECEIVED_THROUGH_FIELD_NUMBER: _ClassVar[int]
        delivery_ids: _containers.RepeatedScalarFieldContainer[int]
        received_through: int
        def __init__(self, delivery_ids: _Optional[_Iterable[int]] = ..., received_through: _Optional[int] = ...) -> None: ...
    JOIN_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    NACK_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    GIVE_BACK_FIELD_NUMBER: _ClassVar[int]
    join: ConsumeRequest.Join
    ack: ConsumeRequest.Ack
    nack: ConsumeRequest.Nack
    credit: ConsumeRequest.Credit
    give_back: ConsumeRequest.GiveBack
    def __init__(self, join: _Optional[_Union[ConsumeRequest.Join, _Mapping]] = ..., ack: _Optional[_Union[ConsumeRequest.Ack, _Mapping]] = ..., nack: _Optional[_Union[ConsumeRequest.Nack, _Mapping]] = ..., credit: _Optional[_Union[ConsumeRequest.Credit, _Mapping]] = ..., give_back: _Optional[_Union[ConsumeRequest.GiveBack, _Mapping]] = ...) -> None: ...

class ConsumeResponse(_message.Message):
    __slots__ = ("joined", "deliveries")
    class Joined(_message.Message):
        __slots__ = ("consumer_id", "ack_credit")
        CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
        ACK_CREDIT_FIELD_NUMBER: _ClassVar[int]
        consumer_id: str
        ack_credit: bool
        def __init__(self, consumer_id: _Optional[str] = ..., ack_credit: _Optional[bool] = ...) -> None: ...
    class Delivery(_message.Message):
        __slots__ = ("event", "attempt", "delivery_id")
        EVENT_FIELD_NUMBER: _ClassVar[int]
        ATTEMPT_FIELD_NUMBER: _ClassVar[int]
        DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
        event: _events_pb2.StoredEvent
        attempt: int
        delivery_id: int
        def __init__(self, event: _Optional[_Union[_events_pb2.StoredEvent, _Mapping]] = ..., attempt: _Optional[int] = ..., delivery_id: _Optional[int] = ...) -> None: ...
    class Deliveries(_message.Message):
        __slots__ = ("deliveries",)
        DELIVERIES_FIELD_NUMBER: _ClassVar[int]
        deliveries: _containers.RepeatedCompositeFieldContainer[ConsumeResponse.Delivery]
        def __init__(self, deliveries: _Optional[_Iterable[_Union[ConsumeResponse.Delivery, _Mapping]]] = ...) -> None: ...
    JOINED_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    joined: ConsumeResponse.Joined
    deliveries: ConsumeResponse.Deliveries
    def __init__(self, joined: _Optional[_Union[ConsumeResponse.Joined, _Mapping]] = ..., deliveries: _Optional[_Union[ConsumeResponse.Deliveries, _Mapping]] = ...) -> None: ...
