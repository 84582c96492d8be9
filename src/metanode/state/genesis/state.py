"""Genesis into state and back out.

`genesis_writes(document)` runs every module's genesis import over an empty state, in a fixed
order (chain, auth, faucet, bank accounts, keys, staking, registry, identity, governance, apps,
poe, court, privacy, storage, then bank's supply totals that count everything credited so far),
and returns the sorted writes that `machine.init_chain` turns into the first state root.
`export_genesis(reader)` asks each module for its part; the result equals the document the
state came from (tests/state/test_genesis.py), faucet claims aside; a state holding apps or
shadows is refused (NotBuiltError), never exported without them.
"""

from __future__ import annotations

from metanode.state.apps import genesis as apps_genesis
from metanode.state.auth import genesis as auth_genesis
from metanode.state.bank import genesis as bank_genesis
from metanode.state.context import ChainInfo
from metanode.state.court import genesis as court_genesis
from metanode.state.faucet import genesis as faucet_genesis
from metanode.state.genesis.chain import read_chain, read_tip, write_chain, write_tip
from metanode.state.genesis.document import GenesisDocument
from metanode.state.governance import genesis as governance_genesis
from metanode.state.identity import genesis as identity_genesis
from metanode.state.keys import genesis as keys_genesis
from metanode.state.poe import genesis as poe_genesis
from metanode.state.policy import genesis as policy_genesis
from metanode.state.privacy import genesis as privacy_genesis
from metanode.state.registry import genesis as registry_genesis
from metanode.state.shadow import genesis as shadow_genesis
from metanode.state.staking import genesis as staking_genesis
from metanode.state.storage import genesis as storage_genesis
from metanode.state.view import MemoryReader, Overlay, StateReader, Write


def genesis_writes(document: GenesisDocument) -> list[Write]:
    writer = Overlay(MemoryReader())
    write_chain(writer, ChainInfo(document.chain_id, document.chain_kind))
    write_tip(writer, 0, document.genesis_time_ms)
    auth_genesis.import_genesis(writer, document.auth)
    faucet_genesis.import_genesis(writer, document.faucet)
    bank_genesis.import_genesis(writer, document.accounts)
    # Before staking and the registry: a rotated node key's identity is in its records.
    keys_genesis.import_genesis(writer, document.keys, document.key_records)
    staking_genesis.import_genesis(writer, document.staking)
    registry_genesis.import_genesis(writer, document.registry)
    identity_genesis.import_genesis(writer, document.identity)
    governance_genesis.import_genesis(writer, document.governance)
    apps_genesis.import_genesis(writer, document.apps)
    poe_genesis.import_genesis(writer, document.poe)
    court_genesis.import_genesis(writer, document.court)
    privacy_genesis.import_genesis(writer, document.privacy)
    storage_genesis.import_genesis(writer, document.storage)
    bank_genesis.finish_genesis(writer)
    return writer.sorted_writes()


def export_genesis(reader: StateReader) -> GenesisDocument:
    shadow_genesis.check_exportable(reader)
    policy_genesis.check_exportable(reader)
    chain = read_chain(reader)
    _height, timestamp_ms = read_tip(reader)
    return GenesisDocument(
        chain.chain_id,
        chain.kind,
        timestamp_ms,
        auth_genesis.export_genesis(reader),
        faucet_genesis.export_genesis(reader),
        staking_genesis.export_genesis(reader),
        bank_genesis.export_genesis(reader),
        registry_genesis.export_genesis(reader),
        identity_genesis.export_genesis(reader),
        governance_genesis.export_genesis(reader),
        apps_genesis.export_genesis(reader),
        poe_genesis.export_genesis(reader),
        court_genesis.export_genesis(reader),
        privacy_genesis.export_genesis(reader),
        storage_genesis.export_genesis(reader),
        keys_genesis.export_genesis(reader),
        keys_genesis.export_records(reader),
    )
