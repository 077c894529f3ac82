from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Log(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Category(_message.Message):
    __slots__ = ("category",)
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    category: str
    def __init__(self, category: _Optional[str] = ...) -> None: ...

class Stream(_message.Message):
    __slots__ = ("category", "stream")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    category: str
    stream: str
    def __init__(self, category: _Optional[str] = ..., stream: _Optional[str] = ...) -> None: ...

class QueryItem(_message.Message):
    __slots__ = ("category", "stream", "names", "tags")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    category: str
    stream: str
    names: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, category: _Optional[str] = ..., stream: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class Query(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[QueryItem]
    def __init__(self, items: _Optional[_Iterable[_Union[QueryItem, _Mapping]]] = ...) -> None: ...

class Target(_message.Message):
    __slots__ = ("log", "category", "stream", "query")
    LOG_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    log: Log
    category: Category
    stream: Stream
    query: Query
    def __init__(self, log: _Optional[_Union[Log, _Mapping]] = ..., category: _Optional[_Union[Category, _Mapping]] = ..., stream: _Optional[_Union[Stream, _Mapping]] = ..., query: _Optional[_Union[Query, _Mapping]] = ...) -> None: ...
