"""The reader finds records in every container and reports bad input with its location."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from onelane.errors import ConfigError, EventError
from onelane.events import (
    Actor,
    Event,
    RawRecord,
    get_source,
    normalize_records,
    read_records,
    register,
    source_names,
)
from onelane.events.sources import EventSource


def _ct(n: int, **extra: object) -> dict[str, object]:
    return {
        "eventTime": f"2024-01-01T00:00:{n:02d}Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "GetUser",
        "eventID": f"e{n}",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a", "accessKeyId": "AKIA1"},
        **extra,
    }


def _lines(*records: object) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _split(items: list[Event | EventError]) -> tuple[list[Event], list[EventError]]:
    return [i for i in items if isinstance(i, Event)], [i for i in items if isinstance(i, EventError)]


def test_bad_json_line_in_the_middle_is_located_and_the_rest_comes_through(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    path.write_bytes(_lines(_ct(1)) + b'{"eventTime": oops\n' + _lines(_ct(3), _ct(4)))
    events, errors = _split(list(normalize_records(read_records(path))))
    assert [e.id for e in events] == ["e1", "e3", "e4"]
    [error] = errors
    assert (error.source, error.line) == (str(path), 2)
    assert error.offset == len(_lines(_ct(1)))
    assert "invalid JSON" in str(error)


def test_bad_first_line_does_not_hide_the_following_lines(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    path.write_bytes(b"not json\n" + _lines(_ct(2)))
    events, errors = _split(list(normalize_records(read_records(path))))
    assert [e.id for e in events] == ["e2"]
    assert [e.line for e in errors] == [1]


def test_record_without_time_is_located_error_and_the_rest_comes_through(tmp_path: Path) -> None:
    no_time = _ct(2)
    del no_time["eventTime"]
    path = tmp_path / "trail.jsonl"
    path.write_bytes(_lines(_ct(1), no_time, _ct(3)))
    events, errors = _split(list(normalize_records(read_records(path))))
    assert [e.id for e in events] == ["e1", "e3"]
    [error] = errors
    assert (error.line, error.field) == (2, "eventTime")
    assert "no time" in error.reason


def test_default_time_fills_records_without_time() -> None:
    no_time = _ct(1)
    del no_time["eventTime"]
    when = datetime(2020, 1, 1, tzinfo=UTC)
    [event] = normalize_records([no_time], default_time=when)
    assert isinstance(event, Event) and event.time == when


def test_cloudtrail_delivery_file_gz_gives_records_with_index(tmp_path: Path) -> None:
    path = tmp_path / "111_CloudTrail_us-east-1_x.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps({"Records": [_ct(1), _ct(2), "junk"]})))
    items = list(read_records(path))
    assert [type(i) for i in items] == [RawRecord, RawRecord, EventError]
    assert [i.index for i in items if isinstance(i, RawRecord)] == [0, 1]
    assert "record 2" in str(items[2])


def test_pretty_printed_array_and_single_object(tmp_path: Path) -> None:
    array = tmp_path / "a.json"
    array.write_bytes(orjson.dumps([_ct(1), _ct(2)], option=orjson.OPT_INDENT_2))
    single = tmp_path / "b.json"
    single.write_bytes(orjson.dumps(_ct(3), option=orjson.OPT_INDENT_2))
    events, errors = _split(list(normalize_records(read_records(tmp_path))))
    assert not errors
    assert [e.id for e in events] == ["e1", "e2", "e3"]


def test_directory_is_read_recursively_in_order_skipping_other_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "x.jsonl").write_bytes(_lines(_ct(2)))
    (tmp_path / "a" / "y.json").write_bytes(_lines(_ct(1)))
    (tmp_path / "a" / "README.txt").write_text("not a log")
    (tmp_path / "CloudTrail-Digest").mkdir()
    (tmp_path / "CloudTrail-Digest" / "d.json").write_text('{"digestStartTime": "x"}')
    records = [r for r in read_records(tmp_path) if isinstance(r, RawRecord)]
    assert [r.data["eventID"] for r in records] == ["e1", "e2"]


def test_binary_and_text_streams_and_gzip_stream() -> None:
    data = _lines(_ct(1), _ct(2))
    for stream in (io.BytesIO(data), io.StringIO(data.decode()), io.BytesIO(gzip.compress(data))):
        records = list(read_records(stream, source_name="<stdin>"))
        assert [r.line for r in records] == [1, 2]
        assert {r.file for r in records} == {"<stdin>"}  # type: ignore[union-attr]


def test_stdin_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BytesIO(_lines(_ct(1))))
    monkeypatch.setattr("sys.stdin", fake)
    [record] = read_records("-")
    assert isinstance(record, RawRecord) and record.file == "<stdin>"


def test_test_case_lines_are_unwrapped() -> None:
    line = {"rule_id": "R", "log_type": "AWS.CloudTrail", "log": _ct(5)}
    [record] = read_records(io.BytesIO(_lines(line)))
    assert isinstance(record, RawRecord) and record.data["eventID"] == "e5"


def test_unrecognised_record_and_non_object_value_are_errors() -> None:
    stream = io.BytesIO(_lines({"hello": "world"}, [1, 2], 7, _ct(1)))
    events, errors = _split(list(normalize_records(read_records(stream))))
    assert [e.id for e in events] == ["e1"]
    assert [e.line for e in errors] == [1, 2, 2, 3]
    assert "no event source recognises" in errors[0].reason


def test_wrong_shape_inside_a_record_is_an_error_not_a_crash() -> None:
    items = list(normalize_records([_ct(1, userIdentity="root", resources=[1, None])], "cloudtrail"))
    assert isinstance(items[0], Event)
    odd = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "auditID": "x",
        "requestReceivedTimestamp": ["not", "a", "time"],
    }
    [error] = normalize_records([odd])
    assert isinstance(error, EventError)


def test_jsonl_round_trip_keeps_every_field() -> None:
    [event] = normalize_records([_ct(1, sourceIPAddress="192.0.2.1")])
    assert isinstance(event, Event)
    event.identity_id = "id-1"
    line = orjson.dumps(event.to_dict())
    [again] = normalize_records(read_records(io.BytesIO(line)), "jsonl")
    assert again == event
    [auto] = normalize_records(read_records(io.BytesIO(line)))
    assert auto == event and auto.logsource == ("aws", "cloudtrail")


def test_unknown_format_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        list(normalize_records([], "splunk"))
    for name in ("cloudtrail", "okta", "github", "k8s-audit", "entra-signin", "entra-audit", "ocsf", "jsonl"):
        assert name in str(caught.value)
    assert set(source_names()) >= {"cloudtrail", "jsonl"}


def test_duplicate_source_name_is_an_error() -> None:
    with pytest.raises(ConfigError):

        @register("cloudtrail")
        class Again(EventSource):
            pass

    assert type(get_source("cloudtrail")).__name__ == "CloudTrail"


def test_actor_round_trip() -> None:
    actor = Actor("AssumedRole", "r", ("arn:a", "arn:b"))
    assert Actor.from_dict(orjson.loads(orjson.dumps(actor.to_dict()))) == actor
