"""Admitting registered nodes as peers (node/admission.py) against a real LMDB ledger made
from a dev genesis, whose bank and government authorities are registered nodes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from metanode.net import tls
from metanode.node import admission, keys
from metanode.node import home as dev_home
from metanode.state.store import Store
from metanode.types import Address


def test_a_registered_key_is_admitted_at_its_record_endpoint_and_kept(tmp_path: Path) -> None:
    dev_home.init_dev(tmp_path / "net", validators=1, accounts=0)
    genesis = dev_home.read_genesis(tmp_path / "net" / dev_home.GENESIS)
    bank = keys.read_account(tmp_path / "net" / "keys" / "bank.key", dev_home.DEV_PASSWORD)
    store = Store.open(tmp_path / "ledger", genesis)
    try:
        reader = store.state().reader
        pem = tls.certificate_pem(bank.seed)
        peer = admission.registered_peer(reader, pem + b"text after it\n")
        assert peer.node_id == Address.from_public_key(bank.public_key)
        assert (peer.host, peer.port, peer.certificate) == ("bank.dev.invalid", 1, pem)
        with pytest.raises(admission.PeerRefused, match="not a registered node"):
            admission.registered_peer(reader, tls.certificate_pem(os.urandom(32)))
        with pytest.raises(admission.PeerRefused, match="not a valid node certificate"):
            admission.registered_peer(reader, pem[:200])
    finally:
        store.close()
    assert admission.saved(tmp_path) == []
    admission.save(tmp_path, peer)
    assert admission.saved(tmp_path) == [pem]
