"""`metanode gov`: governance proposals, deposits and votes (docs/governance.md).

`propose`, `deposit` and `vote` sign with a key of the home (`--from NAME`: an account key, or
a validator node's own key, whose account holds its bonded stake) and wait until the
transaction is committed; one whose result code is not ok reads FAILED with its reason and
exits 1. `show` and `list` read the gateway. Deposits are whole GEN coins (`1000`, `0.5`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from metanode.errors import ConfigError, DecodeError
from metanode.state.governance.parameters import Parameter, name_of
from metanode.state.governance.records import Status
from metanode.types import (
    Address,
    AppContainment,
    AuthorityChange,
    Denom,
    ParameterChange,
    ParameterChanges,
    ProposalContent,
    SoftwareUpgrade,
    SubmitProposal,
    TreasurySpend,
    Vote,
    VoteOption,
)
from metanode.types import Deposit as DepositMessage
from metanode.types.messages import format_coins

from . import output, wallet
from .network import DEFAULT_HOME
from .wallet import Home, Json, NodeUrl

gov_app = typer.Typer(help="Governance: proposals, deposits and votes.", no_args_is_help=True)
Signer = Annotated[str, typer.Option("--from", help="Key name in the home (account or node).")]
ProposalId = Annotated[int, typer.Argument(min=1, help="The proposal's id.")]
PARAMETERS = {name_of(parameter): parameter for parameter in Parameter}
STATUSES = tuple(status.name.lower() for status in Status)


def _pair(text: str, option: str, right: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name or not value:
        raise ConfigError(f"{option} {text!r}: expected NAME={right}")
    return name.strip(), value.strip()


def _address(text: str, option: str) -> Address:
    try:
        return Address.parse(text)
    except DecodeError as error:
        raise ConfigError(f"{option} {text!r}: {error}") from None


def parameter_changes(items: list[str]) -> ParameterChanges:
    """`--param staking.epoch_blocks=10`… as one content, in parameter order (as the chain
    requires)."""
    changes: dict[Parameter, int] = {}
    for item in items:
        name, value = _pair(item, "--param", "VALUE")
        if name not in PARAMETERS:
            raise ConfigError(f"--param {name!r}: one of {', '.join(PARAMETERS)}")
        if not (value.isascii() and value.isdigit()):
            raise ConfigError(f"--param {item!r}: the value is a whole number")
        if PARAMETERS[name] in changes:
            raise ConfigError(f"--param {name} is given twice")
        changes[PARAMETERS[name]] = int(value)
    return ParameterChanges(
        tuple(ParameterChange(int(number), changes[number]) for number in sorted(changes))
    )


def proposal_content(
    params: list[str],
    spend: str | None,
    denom: str,
    add: str | None,
    remove: str | None,
    upgrade: str | None,
    contain: str | None = None,
    release: str | None = None,
) -> ProposalContent:
    """The one content the options name."""
    given = [bool(params), spend is not None, add is not None, remove is not None]
    given += [upgrade is not None, contain is not None, release is not None]
    if sum(given) != 1:
        raise ConfigError(
            "give exactly one kind of proposal: --param (repeatable), --spend, "
            "--authority-add, --authority-remove, --upgrade, --contain or --release"
        )
    if contain is not None or release is not None:
        text = contain if contain is not None else release
        option = "--contain" if contain is not None else "--release"
        if text is None or not re.fullmatch(r"[0-9a-f]{64}", text):
            raise ConfigError(f"{option} {text!r}: an app id is 64 lower-case hex digits")
        return AppContainment(bytes.fromhex(text), contain is not None)
    if params:
        return parameter_changes(params)
    if spend is not None:
        if denom not in Denom.__members__:
            raise ConfigError(f"--denom {denom!r}: one of {', '.join(Denom.__members__)}")
        recipient, amount = _pair(spend, "--spend", "COINS")
        return TreasurySpend(
            _address(recipient, "--spend"), output.parse_coins(amount), Denom[denom]
        )
    if add is not None or remove is not None:
        text = add if add is not None else remove
        option = "--authority-add" if add is not None else "--authority-remove"
        return AuthorityChange(_address(text or "", option), add is not None)
    name, height = _pair(upgrade or "", "--upgrade", "HEIGHT")
    if not (height.isascii() and height.isdigit()):
        raise ConfigError(f"--upgrade {upgrade!r}: the height is a whole number")
    return SoftwareUpgrade(name, int(height))


@gov_app.command("propose")
def propose(
    sender: Signer,
    title: Annotated[str, typer.Option(help="What it does, in a line (1–140 bytes).")],
    deposit: Annotated[str, typer.Option(help="Initial deposit in GEN coins.")],
    param: Annotated[
        list[str] | None,
        typer.Option(help="Parameter change NAME=VALUE, e.g. staking.epoch_blocks=10 (repeat)."),
    ] = None,
    spend: Annotated[
        str | None, typer.Option(help="Treasury spend ADDRESS=COINS (unit: --denom).")
    ] = None,
    denom: Annotated[str, typer.Option(help="The treasury spend's coin.")] = "FLX",
    authority_add: Annotated[
        str | None, typer.Option(help="Give a bank or government node the authority role.")
    ] = None,
    authority_remove: Annotated[
        str | None, typer.Option(help="Take the authority role from a node.")
    ] = None,
    upgrade: Annotated[
        str | None, typer.Option(help="Software upgrade signal NAME=HEIGHT.")
    ] = None,
    contain: Annotated[
        str | None, typer.Option(help="Emergency mode for an app (its id): no new calls.")
    ] = None,
    release: Annotated[
        str | None, typer.Option(help="End an app's emergency mode (its id).")
    ] = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Submit a proposal of one kind with an initial deposit; prints its id."""
    if not title.strip() or len(title.encode()) > 140:
        raise ConfigError("--title: 1 to 140 bytes of text")
    content = proposal_content(
        param or [], spend, denom, authority_add, authority_remove, upgrade, contain, release
    )
    message = SubmitProposal(title, content, output.parse_coins(deposit))
    key = wallet.signer(home, sender)
    record = wallet.commit(wallet.gateway(home, node), key, message)
    events = record["receipt"]["events"] if record["ok"] else []
    found = [int(e["attributes"]["id"], 16) for e in events if e["kind"] == "proposal"]
    facts: dict[str, Any] = {"proposal": found[0] if found else None}
    facts["deposit"] = format_coins(message.deposit, Denom.GEN)
    wallet.report(record, as_json, facts)


@gov_app.command("deposit")
def deposit(
    proposal_id: ProposalId,
    sender: Signer,
    amount: Annotated[str, typer.Option(help="GEN coins to add.")],
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Add GEN to a proposal's deposit (anyone may, in its deposit or voting period)."""
    message = DepositMessage(proposal_id, output.parse_coins(amount))
    record = wallet.commit(wallet.gateway(home, node), wallet.signer(home, sender), message)
    facts = {"proposal": proposal_id, "deposit": format_coins(message.amount, Denom.GEN)}
    wallet.report(record, as_json, facts)


@gov_app.command("vote")
def vote(
    proposal_id: ProposalId,
    option: Annotated[str, typer.Argument(help="yes, no, abstain or veto.")],
    sender: Signer,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Vote during the voting period (needs bonded stake; a later vote replaces it)."""
    if option.upper() not in VoteOption.__members__:
        raise ConfigError(f"vote {option!r}: one of yes, no, abstain, veto")
    message = Vote(proposal_id, VoteOption[option.upper()])
    record = wallet.commit(wallet.gateway(home, node), wallet.signer(home, sender), message)
    wallet.report(record, as_json, {"proposal": proposal_id, "vote": option.lower()})


def _with_coins(proposal: dict[str, Any]) -> dict[str, Any]:
    """The gateway's proposal with its GEN amounts as coins (base units kept beside them)."""
    shown = dict(proposal)
    shown["total_deposit_base_units"] = proposal["total_deposit"]
    shown["total_deposit"] = format_coins(proposal["total_deposit"], Denom.GEN)
    shown["tally_base_units"] = proposal["tally"]
    shown["tally"] = {
        name: format_coins(value, Denom.GEN) for name, value in proposal["tally"].items()
    }
    return shown


@gov_app.command("show")
def show(
    proposal_id: ProposalId, home: Home = DEFAULT_HOME, node: NodeUrl = None, as_json: Json = False
) -> None:
    """One proposal: content, status, deposit, tally so far, voting end, result, votes."""
    url = wallet.gateway(home, node)
    proposal = _with_coins(wallet.call("GET", f"{url}/api/v1/proposals/{proposal_id}"))
    votes = wallet.call("GET", f"{url}/api/v1/proposals/{proposal_id}/votes?limit=100")
    proposal["votes"] = votes["votes"]
    if as_json:
        output.print_json(proposal)
        return
    for name in ("id", "title", "status", "result", "proposer", "total_deposit"):
        typer.echo(f"{name:<16} {proposal[name]}")
    typer.echo(f"{'content':<16} {_describe(proposal['content'])}")
    heights = (
        "submitted {submit_height}, deposit ends {deposit_end_height}, "
        "voting {voting_start_height}–{voting_end_height}"
    )
    typer.echo(f"{'heights':<16} {heights.format(**proposal)}")
    tally = ", ".join(f"{name} {value}" for name, value in proposal["tally"].items())
    final = "final" if proposal["tally_final"] else "so far"
    typer.echo(f"{'tally (' + final + ')':<16} {tally}")
    for item in proposal["votes"]:
        typer.echo(f"{'vote':<16} {item['voter']} {item['option']}")


def _describe(content: dict[str, Any]) -> str:
    kind = content["kind"]
    if kind == "parameter_change":
        changes = ", ".join(f"{c['parameter']}={c['value']}" for c in content["changes"])
        return f"parameter change: {changes}"
    if kind == "treasury_spend":
        amount = format_coins(content["amount"], Denom[content["denom"]])
        return f"treasury spend: {amount} to {content['recipient']}"
    if kind == "authority_change":
        return f"authority {'add' if content['enabled'] else 'remove'}: {content['node']}"
    if kind == "app_containment":
        verb = "contain" if content["contained"] else "release"
        return f"app {verb}: {content['app_id']}"
    return f"software upgrade: {content['name']} at height {content['height']}"


@gov_app.command("list")
def list_proposals(
    status: Annotated[
        str | None, typer.Option(help=f"Only one status: {', '.join(STATUSES)}.")
    ] = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Proposals in id order (every page), optionally of one status."""
    if status is not None and status not in STATUSES:
        raise ConfigError(f"--status {status!r}: one of {', '.join(STATUSES)}")
    url = wallet.gateway(home, node)
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        query = f"limit=100&after={after}" + (f"&status={status}" if status else "")
        page = wallet.call("GET", f"{url}/api/v1/proposals?{query}")
        found += [_with_coins(item) for item in page["proposals"]]
        if page["next"] is None:
            break
        after = page["next"]
    if as_json:
        output.print_json({"proposals": found})
        return
    table = Table("id", "status", "title", "content", "deposit", "voting ends")
    for item in found:
        table.add_row(
            str(item["id"]),
            item["status"],
            item["title"],
            _describe(item["content"]),
            item["total_deposit"],
            str(item["voting_end_height"] or "-"),
        )
    Console(width=300).print(table)
