"""The Python package against a real license server on loopback."""

import os
import threading
import time

import pytest

import tenure
from tenure import errors


def test_status_of_a_named_license(named):
    status = named.status()
    assert status.licensed and status.state == "valid"
    assert status.seat_kind == "named" and status.seats == 10
    assert status.grace_days_left and status.grace_days_left > 0
    assert status.offline_until is not None and status.offline_until.tzinfo is not None
    assert status.modules == ["inspect"]
    assert status.sentence.startswith("Valid.")
    assert status.development_build


def test_modules(named):
    assert named.module_enabled("inspect")
    assert not named.module_enabled("report")


def test_authorize_grants_and_refuses_with_a_class_per_reason(named):
    assert "ana is authorised" in named.authorize("ana").sentence
    with pytest.raises(errors.UnknownUser) as refused:
        named.authorize("zoe")
    assert refused.value.reason == "unknown_user"
    assert "zoe" in str(refused.value)
    assert isinstance(refused.value, errors.Refused)


def test_validate_restarts_the_grace(named):
    assert named.validate().licensed


def test_a_named_license_has_no_concurrent_seats(named):
    with pytest.raises(errors.NotConcurrentLicense):
        named.seat("ana")


def test_seat_lost_when_an_admin_ends_it_and_the_listener_hears(concurrent):
    lost = threading.Event()
    heard = []

    def on_lost(sentence):
        heard.append(sentence)
        lost.set()

    with concurrent.seat("ana", on_lost=on_lost, machine="pc-py") as seat:
        assert seat.lost is None
        # The product reports itself idle, then in use: the seat is held either way.
        seat.set_idle(True)
        seat.set_idle(False)
        assert concurrent.end_session(seat.session_id)
        assert lost.wait(30), "the listener was not told"
        assert "ended" in heard[0]
        assert seat.lost is not None
    with pytest.raises(RuntimeError, match="released already"):
        seat.set_idle(True)


def test_a_listener_that_raises_does_not_stop_the_heartbeats(concurrent):
    told = threading.Event()

    def broken(event, sentence):
        told.set()
        raise RuntimeError("a product's listener fails")

    seat = concurrent.take_seat("bea", broken, machine="pc-py-2")
    concurrent.end_session(seat.session_id)
    assert told.wait(30)
    # The package still answers after the listener raised on its thread.
    assert concurrent.status().licensed
    seat.release()
    seat.release()


def test_no_seat_free_is_a_refusal(concurrent):
    first = concurrent.seat("u1", machine="m1")
    second = concurrent.seat("u2", machine="m2")
    try:
        with pytest.raises(errors.NoSeatFree) as refused:
            concurrent.seat("u3", machine="m3")
        assert "in use" in str(refused.value)
    finally:
        first.release()
        second.release()


def test_a_waiter_gets_the_seat_freed_and_gives_up_at_its_time_limit(concurrent):
    first = concurrent.seat("w1", machine="m1")
    second = concurrent.seat("w2", machine="m2")
    places = []
    try:
        with pytest.raises(errors.Timeout, match="left the line"):
            concurrent.wait_for_seat("w3", on_place=places.append, machine="m3", max_wait=1.0)
        assert places and "1st in line" in places[0]
        threading.Timer(1.0, first.release).start()
        with concurrent.wait_for_seat("w3", on_place=places.append, machine="m3", max_wait=30) as seat:
            assert seat.lost is None
    finally:
        first.release()
        second.release()


def test_devices(concurrent):
    assert "scanner-py" in concurrent.register_device("scanner-py", "scanner").sentence
    with pytest.raises(errors.InvalidArgument) as wrong:
        concurrent.register_device("x", "printer")
    assert "printer" in str(wrong.value)


def test_offline_request_and_a_refused_answer(named, tmp_path):
    request = named.offline_request("validate")
    assert request.startswith("-----BEGIN TENURE")
    bogus = tmp_path / "answer.lic"
    bogus.write_text("not a license")
    with pytest.raises(errors.TenureError):
        named.offline_import(bogus)
    assert named.status().licensed, "a refused file changes nothing"
    with pytest.raises(errors.InvalidArgument):
        named.offline_request("dance")


def test_threads_share_one_workstation(named):
    failures = []

    def ask():
        for _ in range(20):
            try:
                named.authorize("ana")
            except Exception as e:  # noqa: BLE001 - recorded and asserted below
                failures.append(e)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_a_hanging_server_times_out_with_a_sentence(hanging_server):
    with tenure.Workstation(
        os.environ["TENURE_TEST_NAMED_PROFILE"],
        os.environ["TENURE_TEST_NAMED_DB"],
        server=hanging_server,
        timeout=1.5,
    ) as ws:
        started = time.monotonic()
        with pytest.raises(errors.Timeout) as slow:
            ws.validate()
        assert time.monotonic() - started < 10
        assert "allow more time" in str(slow.value)
        assert ws.status().licensed


def test_bad_input_is_an_error_not_a_crash(named):
    with pytest.raises(errors.InvalidArgument):
        tenure.Workstation(product_db="")
    with pytest.raises(errors.InvalidArgument):
        tenure.Workstation(timeout=-1)
    with pytest.raises(errors.InvalidArgument, match="above zero"):
        named.set_timeout(0)
    with pytest.raises(TypeError):
        named.authorize(None)
    with pytest.raises(errors.InvalidArgument):
        named.activate("not-a-key")
