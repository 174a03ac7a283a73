"""The workstations the Rust harness prepared (crates/tenure-ffi/tests/python_package.rs):
a license server on loopback, one profile with named seats, one with concurrent seats."""

import os

import pytest

import tenure


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: these tests run against a license server the Rust harness starts; "
            "run `cargo test -p tenure-ffi --test python_package` (scripts/test runs it)"
        )
    return value


@pytest.fixture
def named() -> tenure.Workstation:
    with tenure.Workstation(_env("TENURE_TEST_NAMED_PROFILE"), _env("TENURE_TEST_NAMED_DB")) as ws:
        yield ws


@pytest.fixture
def concurrent() -> tenure.Workstation:
    with tenure.Workstation(
        _env("TENURE_TEST_CONCURRENT_PROFILE"), _env("TENURE_TEST_CONCURRENT_DB")
    ) as ws:
        yield ws


@pytest.fixture
def hanging_server() -> str:
    return _env("TENURE_TEST_HANGING_SERVER")
