"""The sandbox's wire format and call tracer (the sandbox runs student code; we only trust data)."""

import os

import numpy as np
import pytest

from autograder.sandbox import tracer, wire


@pytest.mark.parametrize("value", [None, True, 3, 2.5, float("nan"), 1 + 2j, "text", (1, 2), [1, (2, 3)],
                                   np.arange(6, dtype=np.uint8).reshape(2, 3), np.float32(1.5), np.int64(7),
                                   {"a": 1}])
def test_encode_decode_round_trip(value):
    decoded = wire.decode(wire.encode(value))
    if isinstance(value, np.ndarray):
        assert decoded.dtype == value.dtype and np.array_equal(decoded, value)
    elif isinstance(value, float) and value != value:
        assert decoded != decoded
    else:
        assert decoded == value and type(decoded) is type(value)


def test_foreign_objects_travel_as_type_names_only():
    class Liar:
        def __eq__(self, other):
            return True

    decoded = wire.decode(wire.encode(Liar()))
    assert isinstance(decoded, wire.Foreign) and "Liar" in decoded.type_name
    assert isinstance(wire.decode(wire.encode(np.array([object()]))), wire.Foreign)  # object arrays too


def test_arrays_on_the_wire_are_never_objects_and_must_be_consistent():
    """An array arrives as dtype, shape and bytes: a dtype holding Python objects (a pickle in
    disguise), bytes that do not fill the shape, or a bad shape are refused, not guessed at."""
    import base64

    eight = base64.b64encode(bytes(8)).decode()
    refused = {
        "object dtype": {"dtype": "|O", "shape": [1], "data": eight},
        "record dtype": {"dtype": "V8", "shape": [1], "data": eight},
        "too few bytes": {"dtype": "<f8", "shape": [2], "data": eight},
        "negative shape": {"dtype": "<f8", "shape": [-1], "data": ""},
        "boolean in shape": {"dtype": "<f8", "shape": [True], "data": eight},
        "unknown dtype": {"dtype": "nonsense", "shape": [1], "data": eight},
        "not base64": {"dtype": "<f8", "shape": [1], "data": "!!!!!!!!!!!!"},
        "npy bytes (old format)": eight,
    }
    for name, payload in refused.items():
        with pytest.raises(ValueError):
            wire.decode({"__ndarray__": payload})
            pytest.fail(f"accepted: {name}")
    assert wire.decode({"__ndarray__": {"dtype": "<f8", "shape": [1], "data": eight}}).tolist() == [0.0]
    received = wire.decode(wire.encode(np.asfortranarray(np.arange(6.0).reshape(2, 3))))
    assert received.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and received.flags.writeable
    scalar = wire.decode(wire.encode(np.float32(2.5)))
    assert type(scalar) is np.float32 and scalar == 2.5


def test_frames_round_trip_and_reject_oversized_messages():
    read, write = os.pipe()
    wire.write_frame(write, {"t": "case", "value": [1, 2]})
    assert wire.read_frame(read) == {"t": "case", "value": [1, 2]}
    os.write(write, (wire.MAX_FRAME + 1).to_bytes(8, "big"))
    with pytest.raises(ValueError, match="exceeds"):
        wire.read_frame(read)
    os.close(write)
    os.close(read)


def test_tracer_sees_ready_made_convolutions_however_aliased():
    import scipy.signal
    from scipy.ndimage import correlate as renamed

    alias = np.convolve
    core = np._core.multiarray.correlate2

    def wrapped(image, kernel):
        return scipy.signal.correlate2d(image, kernel, mode="valid")

    for function, args in ((wrapped, (np.ones((4, 4)), np.ones((2, 2)))), (renamed, (np.ones((4, 4)), np.ones((2, 2)))),
                           (alias, (np.ones(4), np.ones(2))), (core, (np.ones(4), np.ones(2), 0))):
        outcome = tracer.call_traced(function, args, {})
        assert outcome["forbidden"], function


def test_tracer_names_torch_conv2d():
    """Outside the sandbox (the nbgrader path) torch really runs: the tracer names its conv2d, and
    the verdict names the first of the torch routines the call reached directly (in name order)."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - the usual alias

    from autograder import cases, feedback, judge

    def conv2d(image, kernel):
        return F.conv2d(torch.from_numpy(image)[None, None], torch.from_numpy(kernel)[None, None])[0, 0].numpy()

    outcome = tracer.call_traced(conv2d, (np.ones((4, 4)), np.ones((2, 2))), {})
    assert outcome["kind"] == "returned" and outcome["forbidden"] == ["torch.conv2d", "torch.from_numpy"]
    verdict = judge.judge(cases.for_assignment("ps1")["conv2d"], [], [outcome], [], {}, [])
    assert feedback.problem_text(verdict.problem) == ("not from scratch: the call used torch.conv2d; this function "
                                                      "earns no points (see the assignment's rules)")


def test_tracer_allows_numpy_arithmetic_and_fft():
    def honest(image, kernel):
        windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
        spectrum = np.fft.irfft2(np.fft.rfft2(image))
        return np.einsum("ijab,ab->ij", windows, kernel) + 0 * spectrum[:3, :3]

    outcome = tracer.call_traced(honest, (np.ones((4, 4)), np.ones((2, 2))), {})
    assert outcome["kind"] == "returned" and outcome["forbidden"] == []


def test_tracer_reports_escape_attempts_and_records_exceptions():
    import sys
    import threading

    def escape(x):
        sys.setprofile(None)
        return x

    def threaded(x):
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        return x

    def subprocess_run(x):
        import subprocess

        subprocess.run([sys.executable, "-c", "pass"], check=True)
        return x

    def foreign(x):
        import ctypes

        ctypes.CDLL(None)
        return x

    assert any("setprofile" in hit for hit in tracer.call_traced(escape, (1,), {})["forbidden"])
    assert any("thread" in hit for hit in tracer.call_traced(threaded, (1,), {})["forbidden"])
    assert any("subprocess" in hit for hit in tracer.call_traced(subprocess_run, (1,), {})["forbidden"])
    assert any("ctypes" in hit for hit in tracer.call_traced(foreign, (1,), {})["forbidden"])

    def exits():
        raise SystemExit(3)

    outcome = tracer.call_traced(exits, (), {})
    assert outcome["kind"] == "raised" and outcome["exc_types"][0] == "SystemExit"


def test_digest_detects_in_place_changes():
    array = np.arange(6.0)
    before = wire.digest(array)
    outcome = tracer.call_traced(lambda a: a.__setitem__(0, 99.0), (array,), {}, trace=False)
    assert outcome["digests"][0] != before
    assert wire.digest(5) is None


@pytest.mark.slow
def test_frames_of_another_job_never_reach_this_one():
    """Cases and replies left in the server's input by an earlier job (a late reply, say) carry
    that job's identity and are dropped: the function gets its own cases."""
    from autograder.sandbox.runner import WorkerServer

    job = {"cells": ["def f(x):\n    return x + 1"], "functions": [{"name": "f", "seconds": 5, "edges": []}],
           "cell_seconds": 5, "limits": {}, "deadline": 20}
    with WorkerServer("rlimits") as server:
        send = server._send

        def send_then_stale(message):
            send(message)
            if message["t"] == "job":  # as if left behind by an earlier job, arriving late
                stale = "0" * 32
                send({"t": "cases", "job": stale, "fn": "f", "cases": [{"args": [100]}]})
                send({"t": "reply", "job": stale, "call": 1, "outcome": {"kind": "returned", "value": 7}})

        server._send = send_then_stale
        run = server.run(job, {"f": [{"args": [1]}]})
    assert run.status["f"] == ("ok", "")
    assert run.outcomes["f"][0].value == 2  # decoded once, as it arrived


def test_children_lists_match_a_scan_of_every_process():
    """The supervisor finds stray processes through the kernel's per-thread children lists; the
    scan of /proc it falls back on (kernels without those lists) must find the same ones."""
    import subprocess

    from autograder.sandbox import server

    sleepers = [subprocess.Popen(["sleep", "30"]) for _ in range(3)]
    try:
        expected = {p.pid for p in sleepers}
        assert expected <= set(server._children_of({os.getpid()}))
        assert set(server._children_of({os.getpid()})) == set(server._scan_children({os.getpid()}))
    finally:
        for process in sleepers:
            process.kill()
            process.wait()
    assert not expected & set(server._children_of({os.getpid()}))


def test_a_frame_that_nests_too_deeply_is_malformed():
    """A process that ran student code may write any JSON: nesting past MAX_DEPTH (or past the
    JSON reader's own recursion) is a malformed frame, never a RecursionError in a reader."""
    for depth in (wire.MAX_DEPTH + 1, 5_000):
        body = ('{"t": "case", "outcome": ' + "[" * depth + "]" * depth + "}").encode()
        with pytest.raises(ValueError, match="nests"):
            wire.parse(body)
        with pytest.raises(ValueError, match="nests"):
            wire.FrameBuffer().feed(len(body).to_bytes(8, "big") + body)
    assert wire.parse(b'{"t": "case", "v": ' + b"[" * 20 + b"]" * 20 + b"}")["t"] == "case"
