"""genesis: JSON and TOML files, errors that name the bad field, and import/export round trips."""

from __future__ import annotations

import copy
import json

import pytest

from metanode.errors import ConfigError
from metanode.state.bank.accounts import POOL_ADDRESSES, TREASURY
from metanode.state.genesis.document import load_genesis, parse_genesis
from metanode.state.genesis.state import export_genesis
from metanode.state.ledger import MemoryLedger
from metanode.state.machine import init_chain
from metanode.types import Bond, Denom, Transfer, Unbond
from tests.state.support import COIN, Chain, Wallet, genesis_tree, make_genesis, validator_wallet


def test_json_and_toml_give_the_same_document() -> None:
    tree = genesis_tree(wallets=2)
    document = parse_genesis(json.dumps(tree))
    lines = [
        f'chain_id = "{tree["chain_id"]}"',
        f'chain_kind = "{tree["chain_kind"]}"',
        f"genesis_time_ms = {tree['genesis_time_ms']}",
        "[parameters.staking]",
        "unbonding_delay_blocks = 3",
    ]
    for account in tree["accounts"]:
        lines += ["[[accounts]]", f'address = "{account["address"]}"', "[accounts.balances]"]
        lines += [f'{name} = "{amount}"' for name, amount in account["balances"].items()]
    for validator in tree["validators"]:
        lines.append("[[validators]]")
        lines += [f'{key} = "{value}"' for key, value in validator.items()]
    toml = "\n".join(lines) + "\n"
    assert load_genesis("genesis.toml", toml) == document
    assert load_genesis("genesis.json", json.dumps(tree)) == document
    with pytest.raises(ConfigError, match=r"\.json or \.toml"):
        load_genesis("genesis.yaml", "")


def test_to_json_round_trip_and_hash_is_stable() -> None:
    document = make_genesis()
    again = parse_genesis(document.to_json())
    assert again == document
    assert again.hash() == document.hash()
    assert make_genesis(wallets=5).hash() != document.hash()


def test_state_export_equals_the_document() -> None:
    document = make_genesis(wallets=6, validators=3)
    changes = init_chain(document)
    assert export_genesis(changes.state.reader) == document
    # The same document always gives the same root.
    assert init_chain(document).state_root == changes.state_root


def test_export_after_blocks_reimports_to_the_same_export() -> None:
    chain = Chain(make_genesis(wallets=4, validators=2))
    validator = validator_wallet(1).address
    chain.run(
        [
            Wallet.of(0).tx(0, Bond(validator, 3 * COIN)),
            Wallet.of(1).tx(0, Transfer(Wallet.of(2).address, 5, Denom.AUR)),
        ]
    )
    chain.run([Wallet.of(0).tx(1, Unbond(validator, COIN))])
    exported = export_genesis(chain.state.reader)
    assert any(d.delegator == Wallet.of(0).address for d in exported.staking.delegations)
    assert len(exported.staking.unbondings) == 1
    reloaded = parse_genesis(exported.to_json())
    assert reloaded == exported
    ledger = MemoryLedger(reloaded)
    assert export_genesis(ledger.state.reader) == exported


def _broken(path: str, value: object) -> dict:
    tree = copy.deepcopy(genesis_tree(wallets=2))
    target = tree
    parts = path.split(".")
    for part in parts[:-1]:
        if "[" in part:
            name, index = part[:-1].split("[")
            target = target[name][int(index)]
        else:
            target = target.setdefault(part, {})
    last = parts[-1]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return tree


BAD_FIELDS = [
    ("chain_id", "", "chain_id"),
    ("chain_id", 5, "chain_id"),
    ("chain_id", "x" * 65, "chain_id"),
    ("chain_id", KeyError, "chain_id: missing"),
    ("chain_kind", "prod", "chain_kind"),
    ("chain_id", "metanode-testnet-1a2b", "chain_id: 'metanode-testnet-1a2b' names a testnet"),
    ("chain_id", "metanode-mainnet", "chain_id: 'metanode-mainnet' names a mainnet chain"),
    ("genesis_time_ms", -1, "genesis_time_ms"),
    ("genesis_time_ms", 1.5, "genesis_time_ms"),
    ("colour", "blue", "colour: unknown field"),
    ("parameters.auth.fee_min", "ten", "parameters.auth.fee_min"),
    ("parameters.auth.fee_maximum", 3, "parameters.auth.fee_maximum: unknown field"),
    ("parameters.auth.treasury_fee_bps", 10_001, "parameters.auth.treasury_fee_bps"),
    ("parameters.auth.treasury_fee_bps", "1%", "parameters.auth.treasury_fee_bps"),
    ("parameters.staking.unbonding_delay_blocks", 0, "parameters.staking.unbonding_delay_blocks"),
    ("parameters.staking.validators_max", 1000, "parameters.staking.validators_max"),
    ("parameters.faucet.request_coins_max", 100_001, "parameters.faucet.request_coins_max"),
    ("parameters.faucet.daily_coins_max", 1_000_001, "parameters.faucet.daily_coins_max"),
    ("parameters.faucet.daily_coins_max", 5, "parameters.faucet.daily_coins_max"),
    ("parameters.faucet.cooldown_ms", 10**12, "parameters.faucet.cooldown_ms"),
    ("parameters.faucet.enabled", "yes", "parameters.faucet.enabled"),
    ("accounts[0].address", "mn1qqqq", "accounts[0].address"),
    ("accounts[1].address", "cosmos1xyz", "accounts[1].address"),
    ("accounts[0].balances.GEN", -5, "accounts[0].balances.GEN"),
    ("accounts[0].balances.GEN", 2**64, "accounts[0].balances.GEN"),
    ("accounts[0].balances.BTC", 5, "accounts[0].balances.BTC: unknown field"),
    ("accounts[0].nonce", "1e3", "accounts[0].nonce"),
    ("accounts[0].extra", 1, "accounts[0].extra: unknown field"),
    ("validators", [], "validators"),
    ("validators", KeyError, "validators: missing"),
    ("validators[0].public_key", "zz", "validators[0].public_key"),
    ("validators[0].public_key", "00" * 31, "validators[0].public_key"),
    ("validators[0].bls_public_key", "00" * 48, "validators[0].bls_proof_of_possession"),
    ("validators[0].bls_proof_of_possession", "11" * 96, "validators[0].bls_proof_of_possession"),
    ("validators[0].vrf_public_key", 7, "validators[0].vrf_public_key"),
    ("validators[0].stake", 10**8, "validators: at least one validator"),
    ("delegations", [{"delegator": "x"}], "delegations[0].amount: missing"),
    ("unbondings", "none", "unbondings: must be a list"),
]


@pytest.mark.parametrize(
    ("path", "value", "named"), BAD_FIELDS, ids=[f"{p}={v!r}"[:60] for p, v, _ in BAD_FIELDS]
)
def test_errors_name_the_bad_field(path: str, value: object, named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_genesis(json.dumps(_broken(path, value)))
    assert named in str(raised.value)


def test_cross_field_errors() -> None:
    tree = genesis_tree(wallets=2)
    tree["accounts"].append(dict(tree["accounts"][0]))
    with pytest.raises(ConfigError, match=r"accounts\[2\]\.address: .* appears twice"):
        parse_genesis(json.dumps(tree))
    tree = genesis_tree(wallets=1, kind="mainnet", parameters={"faucet": {"enabled": True}})
    with pytest.raises(ConfigError, match=r"parameters\.faucet\.enabled: the faucet runs only"):
        parse_genesis(json.dumps(tree))
    tree = genesis_tree(wallets=1, validators=2)
    tree["validators"][1]["bls_public_key"] = tree["validators"][0]["bls_public_key"]
    tree["validators"][1]["bls_proof_of_possession"] = tree["validators"][0][
        "bls_proof_of_possession"
    ]
    with pytest.raises(ConfigError, match=r"validators\[1\]\.bls_public_key: already used"):
        parse_genesis(json.dumps(tree))
    tree = genesis_tree(wallets=1)
    tree["accounts"][0]["balances"] = {"GEN": 2**64 - 1}
    with pytest.raises(ConfigError, match="total GEN"):
        parse_genesis(json.dumps(tree))
    tree = genesis_tree(wallets=1)
    validator = str(validator_wallet(0).address)
    tree["delegations"] = [{"delegator": validator, "validator": validator, "amount": 5}]
    with pytest.raises(ConfigError, match=r"delegations\[0\]\.delegator: a validator's own"):
        parse_genesis(json.dumps(tree))
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_genesis("{")
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_genesis("= =", "toml")
    with pytest.raises(ConfigError, match="must be a table"):
        parse_genesis("[1, 2]")


def test_faucet_defaults_follow_the_chain_kind() -> None:
    assert make_genesis(kind="dev").faucet.enabled
    assert make_genesis(kind="testnet").faucet.enabled
    assert not make_genesis(kind="mainnet", parameters={}).faucet.enabled


def test_the_treasury_fee_share_follows_the_chain_kind_and_round_trips() -> None:
    assert make_genesis(kind="dev").auth.treasury_fee_bps == 0
    assert make_genesis(kind="testnet").auth.treasury_fee_bps == 100
    assert make_genesis(kind="mainnet", parameters={}).auth.treasury_fee_bps == 500
    document = make_genesis(kind="testnet", parameters={"auth": {"treasury_fee_bps": 250}})
    assert document.auth.treasury_fee_bps == 250
    assert parse_genesis(document.to_json()) == document
    assert export_genesis(init_chain(document).state.reader) == document
    # The share is in the genesis hash: two chains that split fees differently differ.
    assert document.hash() != make_genesis(kind="testnet").hash()


def test_the_treasury_is_listed_like_an_account_and_the_staking_pools_are_not() -> None:
    tree = genesis_tree(wallets=1)
    tree["accounts"].append({"address": str(TREASURY), "balances": {"FLX": 7}})
    document = parse_genesis(json.dumps(tree))
    assert export_genesis(init_chain(document).state.reader) == document
    for pool in sorted(POOL_ADDRESSES):
        tree["accounts"][-1]["address"] = str(pool)
        with pytest.raises(ConfigError, match=r"accounts\[1\]\.address: is a staking pool"):
            parse_genesis(json.dumps(tree))


def test_an_export_after_fees_keeps_the_treasury_balance() -> None:
    chain = Chain(make_genesis(wallets=2, kind="testnet"))
    chain.run([Wallet.of(0).tx(0, Transfer(Wallet.of(1).address, 5, Denom.NEX), fee=300_000)])
    exported = export_genesis(chain.state.reader)
    treasury = [account for account in exported.accounts if account.address == TREASURY]
    assert [account.balances[Denom.FLX - 1] for account in treasury] == [3_000]
    reloaded = MemoryLedger(parse_genesis(exported.to_json()))
    assert export_genesis(reloaded.state.reader) == exported
