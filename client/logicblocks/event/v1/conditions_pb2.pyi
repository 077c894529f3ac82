from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
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

class WriteCondition(_message.Message):
    __slots__ = ("position_is", "stream_is_empty")
    POSITION_IS_FIELD_NUMBER: _ClassVar[int]
    STREAM_IS_EMPTY_FIELD_NUMBER: _ClassVar[int]
    position_is: PositionIs
    stream_is_empty: StreamIsEmpty
    def __init__(self, position_is: _Optional[_Union[PositionIs, _Mapping]] = ..., stream_is_empty: _Optional[_Union[StreamIsEmpty, _Mapping]] = ...) -> None: ...

class WriteConditionFailure(_message.Message):
    __slots__ = ("category", "stream", "condition", "last_position")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
    category: str
    stream: str
    condition: WriteCondition
    last_position: int
    def __init__(self, category: _Optional[str] = ..., stream: _Optional[str] = ..., condition: _Optional[_Union[WriteCondition, _Mapping]] = ..., last_position: _Optional[int] = ...) -> None: ...
