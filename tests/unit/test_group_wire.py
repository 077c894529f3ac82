"""Consumer groups on the wire: values survive the round trip, unset settings are the
defaults, and NOT_FOUND / ALREADY_EXISTS become the group errors only when they name a
group."""

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2  # type: ignore[import-untyped]

from logicblocks.event.store import (
    GroupExistsError,
    GroupNotFoundError,
    InvalidInputError,
    ServerError,
)
from logicblocks.event.store.groups import FROM_BEGINNING, FROM_END, After, GroupSettings
from logicblocks.event.transport.errors import GROUP_RESOURCE, error_for_status
from logicblocks.event.transport.groups_wire import (
    settings_from_wire,
    settings_to_wire,
    start_from_wire,
    start_to_wire,
)
from logicblocks.event.v1 import consumer_groups_pb2


def test_settings_cross_the_wire_unchanged_and_unset_fields_are_the_defaults() -> None:
    settings = GroupSettings(
        ack_timeout=0.25,
        max_retries=0,
        retry_backoff=0.0,
        retry_backoff_max=3.5,
        max_in_flight=7,
        member_timeout=2.0,
        partitions=3,
    )
    assert settings_from_wire("settings", settings_to_wire(settings)) == settings
    unset = consumer_groups_pb2.GroupSettings()
    assert settings_from_wire("settings", unset) == GroupSettings()
    assert settings_from_wire("settings", unset, partitions=5).partitions == 5


def test_a_setting_out_of_range_names_its_path() -> None:
    with pytest.raises(InvalidInputError) as caught:
        settings_from_wire("settings", consumer_groups_pb2.GroupSettings(max_in_flight=0))
    assert caught.value.field == "settings.max_in_flight"


@pytest.mark.parametrize("start", [FROM_BEGINNING, FROM_END, After(-1), After(41)])
def test_starts_cross_the_wire_unchanged(start: object) -> None:
    assert start_from_wire("start", start_to_wire(start)) == start  # type: ignore[arg-type]


def test_a_start_names_its_path() -> None:
    with pytest.raises(InvalidInputError) as caught:
        start_from_wire("start", consumer_groups_pb2.GroupStart(after_sequence_number=-2))
    assert caught.value.field == "start.after_sequence_number"
    with pytest.raises(InvalidInputError) as caught:
        start_from_wire("start", consumer_groups_pb2.GroupStart())
    assert caught.value.field == "start"


def resource(name: str, kind: str = GROUP_RESOURCE) -> list[any_pb2.Any]:
    packed = any_pb2.Any()
    packed.Pack(error_details_pb2.ResourceInfo(resource_type=kind, resource_name=name))
    return [packed]


def test_not_found_and_already_exists_naming_a_group_are_the_group_errors() -> None:
    missing = error_for_status(grpc.StatusCode.NOT_FOUND, "no", resource("billing"))
    assert isinstance(missing, GroupNotFoundError) and missing.name == "billing"
    exists = error_for_status(grpc.StatusCode.ALREADY_EXISTS, "no", resource("billing"))
    assert isinstance(exists, GroupExistsError) and exists.name == "billing"
    # Not about a group (a proxy's, another resource's): the server failed the call.
    assert type(error_for_status(grpc.StatusCode.NOT_FOUND, "no")) is ServerError
    other = resource("x", kind="example.Thing")
    assert type(error_for_status(grpc.StatusCode.NOT_FOUND, "no", other)) is ServerError
