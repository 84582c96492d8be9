"""The vault: personal payloads sealed per subject, only commitments leave it; erasing a
subject deletes its key, after which its payloads never open again, and the file keeps no
copy of the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from metanode.errors import ConfigError, VerificationError
from metanode.vault import PayloadErased, PayloadUnknown, Vault, commitment


def test_a_payload_round_trips_and_its_commitment_is_salted(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "vault")
    first = vault.put("alice", b"born 1990-01-01")
    second = vault.put("alice", b"born 1990-01-01")
    assert first != second  # the same payload twice: two salts, two commitments
    opened = vault.get(first)
    assert (opened.subject, opened.payload) == ("alice", b"born 1990-01-01")
    assert commitment(opened.salt, opened.payload) == first
    with pytest.raises(PayloadUnknown):
        vault.get(b"\x00" * 32)
    with pytest.raises(ConfigError):
        vault.put("", b"x")
    vault.close()


def test_erasing_a_subject_leaves_its_payloads_unreadable_and_no_key_in_the_file(
    tmp_path: Path,
) -> None:
    vault = Vault(tmp_path / "vault")
    alice = vault.put("alice", b"alice's address")
    bob = vault.put("bob", b"bob's address")
    with vault._env.begin() as txn:
        key = txn.get(b"alice", db=vault._keys)
    data = tmp_path / "vault" / "data.mdb"
    assert key is not None and key in data.read_bytes()
    assert vault.erase("alice") is True
    with pytest.raises(PayloadErased):
        vault.get(alice)
    assert vault.get(bob).payload == b"bob's address"
    assert key not in data.read_bytes()
    assert vault.erase("alice") is False
    vault.close()
    # Still erased after a restart.
    again = Vault(tmp_path / "vault")
    with pytest.raises(PayloadErased):
        again.get(alice)
    again.close()


def test_an_altered_ciphertext_is_refused(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "vault")
    committed = vault.put("alice", b"secret")
    with vault._env.begin(write=True) as txn:
        stored = bytearray(txn.get(committed, db=vault._payloads))
        stored[-1] ^= 1
        txn.put(committed, bytes(stored), db=vault._payloads)
    with pytest.raises(VerificationError, match="altered"):
        vault.get(committed)
    vault.close()
