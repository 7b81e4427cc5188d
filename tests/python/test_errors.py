"""The Python client's error mapping, without a gateway: every Code of
proto/offload.proto (through the generated offload_pb2) has its own
exception class named after it, with the documented extra bases."""

import pytest

import offload
from offload import _errors
from offload._pb import pb


def codes():
    return {v.number: v.name for v in pb.Code.DESCRIPTOR.values}


def test_every_code_has_its_class():
    for number, name in codes().items():
        if number == 0:  # CODE_OK is not an error
            continue
        cls = _errors.BY_CODE[number]
        assert cls.code == name[len("CODE_"):].lower(), name
        assert issubclass(cls, offload.Error)
    classes = [c for n, c in _errors.BY_CODE.items()]
    assert len(set(classes)) == len(classes), "one class per code"


@pytest.mark.parametrize("number", sorted(n for n in codes() if n))
def test_from_code_keeps_message_and_job(number):
    e = _errors.from_code(number, "why", 42)
    assert isinstance(e, _errors.BY_CODE[number])
    assert (e.message, e.job_id, str(e)) == ("why", 42, "why")


def test_unknown_codes_are_internal():
    assert type(_errors.from_code(999, "x")) is offload.Internal


def test_extra_bases():
    assert issubclass(offload.Timeout, TimeoutError)
    assert issubclass(offload.NoReply, ConnectionError)
    assert offload.QueueFull("full").retry_after > 0
    assert offload.Error("").message == "" and str(offload.Error("")) == "internal"
