from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metanode.crypto import keystore
from metanode.errors import KeystoreError

CHEAP = keystore.KdfParams(time_cost=1, memory_kib=64, parallelism=1)


def test_roundtrip_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    keystore.write_keyfile(path, b"\x01" * 32, "correct horse", kind="ed25519-node", params=CHEAP)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keystore.read_keyfile(path, "correct horse") == ("ed25519-node", b"\x01" * 32)
    assert not list(tmp_path.glob(".*.tmp"))


def test_default_parameters_are_memory_hard() -> None:
    assert keystore.DEFAULT_PARAMS.memory_kib >= 64 * 1024
    assert keystore.DEFAULT_PARAMS.time_cost >= 3


def test_wrong_password(tmp_path: Path) -> None:
    path = tmp_path / "k"
    keystore.write_keyfile(path, b"secret", "right", kind="k", params=CHEAP)
    with pytest.raises(KeystoreError, match="wrong password"):
        keystore.read_keyfile(path, "wrong")


def test_missing_and_non_key_files(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="cannot read"):
        keystore.read_keyfile(tmp_path / "absent", "pw")
    (tmp_path / "text").write_text("hello")
    with pytest.raises(KeystoreError):
        keystore.read_keyfile(tmp_path / "text", "pw")
    with pytest.raises(KeystoreError):
        keystore.write_keyfile(tmp_path / "k", b"s", "", kind="k", params=CHEAP)


def test_every_truncation_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    keystore.write_keyfile(path, b"s" * 32, "pw", kind="k", params=CHEAP)
    data = path.read_bytes()
    for length in range(len(data)):
        path.write_bytes(data[:length])
        with pytest.raises(KeystoreError):
            keystore.read_keyfile(path, "pw")


def test_every_single_bit_flip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    keystore.write_keyfile(path, b"s" * 32, "pw", kind="k", params=CHEAP)
    data = path.read_bytes()
    messages = set()
    for position in range(len(data)):
        altered = bytearray(data)
        altered[position] ^= 0x04
        path.write_bytes(bytes(altered))
        with pytest.raises(KeystoreError) as refused:
            keystore.read_keyfile(path, "pw")
        messages.add(str(refused.value))
    assert any("altered" in message for message in messages)


def test_hostile_costs_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="out of bounds"):
        keystore.write_keyfile(
            tmp_path / "k", b"s", "pw", kind="k", params=keystore.KdfParams(1, 2**40, 1)
        )


@given(st.binary(max_size=128))
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_secrets_roundtrip(tmp_path: Path, secret: bytes) -> None:
    path = tmp_path / "k"
    keystore.write_keyfile(path, secret, "pw", kind="account", params=CHEAP)
    assert keystore.read_keyfile(path, "pw") == ("account", secret)
