from logicblocks.event.v1 import targets_pb2 as _targets_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PositionIs(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class StreamIsEmpty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NoEventMatches(_message.Message):
    __slots__ = ("query", "after_sequence_number")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    query: _targets_pb2.Query
    after_sequence_number: int
    def __init__(self, query: _Optional[_Union[_targets_pb2.Query, _Mapping]] = ..., after_sequence_number: _Optional[int] = ...) -> None: ...

class AllOf(_message.Message):
    __slots__ = ("conditions",)
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[WriteCondition]
    def __init__(self, conditions: _Optional[_Iterable[_Union[WriteCondition, _Mapping]]] = ...) -> None: ...

class AnyOf(_message.Message):
    __slots__ = ("conditions",)
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[WriteCondition]
    def __init__(self, conditions: _Optional[_Iterable[_Union[WriteCondition, _Mapping]]] = ...) -> None: ...

class WriteCondition(_message.Message):
    __slots__ = ("position_is", "stream_is_empty", "no_event_matches", "all_of", "any_of")
    POSITION_IS_FIELD_NUMBER: _ClassVar[int]
    STREAM_IS_EMPTY_FIELD_NUMBER: _ClassVar[int]
    NO_EVENT_MATCHES_FIELD_NUMBER: _ClassVar[int]
    ALL_OF_FIELD_NUMBER: _ClassVar[int]
    ANY_OF_FIELD_NUMBER: _ClassVar[int]
    position_is: PositionIs
    stream_is_empty: StreamIsEmpty
    no_event_matches: NoEventMatches
    all_of: AllOf
    any_of: AnyOf
    def __init__(self, position_is: _Optional[_Union[PositionIs, _Mapping]] = ..., stream_is_empty: _Optional[_Union[StreamIsEmpty, _Mapping]] = ..., no_event_matches: _Optional[_Union[NoEventMatches, _Mapping]] = ..., all_of: _Optional[_Union[AllOf, _Mapping]] = ..., any_of: _Optional[_Union[AnyOf, _Mapping]] = ...) -> None: ...

class WriteConditionFailure(_message.Message):
    __slots__ = ("category", "stream", "condition", "last_position", "first_match_sequence_number")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
    FIRST_MATCH_SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    category: str
    stream: str
    condition: WriteCondition
    last_position: int
    first_match_sequence_number: int
    def __init__(self, category: _Optional[str] = ..., stream: _Optional[str] = ..., condition: _Optional[_Union[WriteCondition, _Mapping]] = ..., last_position: _Optional[int] = ..., first_match_sequence_number: _Optional[int] = ...) -> None: ...
