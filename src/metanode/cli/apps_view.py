"""What `bpi monitor`, `bpi logs` and `bpci monitor` read: an app's activity as the gateways
show it (docs/apps.md "Monitoring").

The chain's gateway gives the app, its calls (with their block heights and settled fuel), its
LogBlocks and its recorded disputes; each executor's own gateway gives the receipts it signed
(`/api/v1/apps/{id}/receipts`, 404 on a node that executes nothing). Replicas agree on a call
when their receipts' outcome, fuel, state root after and output are equal: what the notaries'
result hash covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metanode.executor import constants as executor_constants
from metanode.types import Denom
from metanode.types.messages import format_coins

from . import wallet

# Calls per second and fuel per second are over this much block time before the latest block.
WINDOW_MS = 10_000
# Agreement is compared over the app's last this many calls.
COMPARED_CALLS = 100
CALLS_PAGE = 1_000  # the gateway's page limit for calls
RESULT_FIELDS = ("outcome", "fuel_used", "state_root_after", "output")


@dataclass(frozen=True, slots=True)
class Gateway:
    url: str
    node_id: str


def gateways(urls: Sequence[str]) -> list[Gateway]:
    """The gateways that answer, with the node each one serves."""
    found = []
    for url in urls:
        try:
            status = wallet.call("GET", f"{url}/api/v1/status")
        except wallet.GatewayError:
            continue
        found.append(Gateway(url, status["node_id"]))
    return found


def receipts(gateway: str, app: str, start: int, limit: int) -> list[dict[str, Any]]:
    """The node's receipts of the app from call `start` on (none if it executes nothing)."""
    found: list[dict[str, Any]] = []
    while len(found) < limit:
        page_limit = min(executor_constants.receipts_page_max, limit - len(found))
        page = wallet.call(
            "GET", f"{gateway}/api/v1/apps/{app}/receipts?from={start}&limit={page_limit}", (404,)
        )
        found += page.get("receipts", [])
        if page.get("next") is None:
            break
        start = page["next"]
    return found


def head(gateway: str, app: str) -> int | None:
    """The last call the node's executor has run for the app (signed, or run to catch up);
    None if it has run none or executes nothing."""
    # Any key's read says which call the state reflects.
    found = wallet.call("GET", f"{gateway}/api/v1/apps/{app}/state/00", (404,))
    return found.get("seq")


def calls(chain: str, app: str, start: int) -> list[dict[str, Any]]:
    """The app's calls from `start` on, in chain order."""
    found: list[dict[str, Any]] = []
    while True:
        page = wallet.call(
            "GET", f"{chain}/api/v1/apps/{app}/calls?from={start}&limit={CALLS_PAGE}"
        )
        found += page["calls"]
        if page.get("next") is None or not page["calls"]:
            return found
        start = page["next"]


def logs(urls: Sequence[str], app: str, start: int) -> tuple[list[tuple[int, bytes]], int]:
    """(seq, log) of the app's calls from `start` on, from the receipt of the first executor
    holding each, in call order, up to the first call no executor has answered; and that
    call's seq, where to read on from."""
    by_seq: dict[int, list[str]] = {}
    for url in urls:
        for receipt in receipts(url, app, start, executor_constants.receipts_page_max):
            by_seq.setdefault(receipt["seq"], receipt["logs"])
    found: list[tuple[int, bytes]] = []
    seq = start
    while seq in by_seq:
        found += [(seq, bytes.fromhex(entry)) for entry in by_seq[seq]]
        seq += 1
    return found, seq


def snapshot(chain: str, executors: Sequence[Gateway], app: str) -> dict[str, Any]:
    """One look at the app: its calls and their rate, fuel, replicas and their agreement,
    LogBlocks and disputes."""
    view = wallet.call("GET", f"{chain}/api/v1/apps/{app}")
    latest = wallet.call("GET", f"{chain}/api/v1/blocks/latest")
    now_ms = latest["timestamp_ms"]
    count = view["calls"]
    recent = calls(chain, app, max(0, count - CALLS_PAGE))
    times: dict[int, int] = {}
    for call in recent:
        if call["height"] not in times:
            block = wallet.call("GET", f"{chain}/api/v1/blocks/{call['height']}")
            times[call["height"]] = block["timestamp_ms"]
    in_window = [call for call in recent if now_ms - times[call["height"]] < WINDOW_MS]
    logblocks = wallet.call("GET", f"{chain}/api/v1/logblocks?app={app}&limit=100")["logblocks"]
    first_compared = max(0, count - COMPARED_CALLS)
    results: dict[int, dict[str, tuple[Any, ...]]] = {}
    replicas = []
    for gateway in executors:
        mine = receipts(gateway.url, app, first_compared, COMPARED_CALLS)
        last = head(gateway.url, app)
        for receipt in mine:
            results.setdefault(receipt["seq"], {})[gateway.node_id] = tuple(
                receipt[field] for field in RESULT_FIELDS
            )
        if last is not None or gateway.node_id in view["executors"]:
            replicas.append(
                {
                    "node": gateway.node_id,
                    "gateway": gateway.url,
                    "drawn_now": gateway.node_id in view["executors"],
                    "last_seq": last,
                    "answered_recent": len(mine),
                }
            )
    compared = {seq: answers for seq, answers in results.items() if len(answers) > 1}
    disagreed = sorted(seq for seq, answers in compared.items() if len(set(answers.values())) > 1)
    settled = [call for call in recent if call["status"] == "settled"]
    return {
        "app": app,
        "height": latest["height"],
        "calls": count,
        "calls_per_s": round(len(in_window) * 1000 / WINDOW_MS, 3),
        "fuel_per_s": round(sum(call["fuel_used"] for call in in_window) * 1000 / WINDOW_MS, 3),
        "fuel_used_recent": sum(call["fuel_used"] for call in settled),
        "settled_recent": len(settled),
        "fuel_price": f"{format_coins(view['fuel_price'], Denom.FLX)} per fuel",
        "replicas": view["replicas"],
        "executors": replicas,
        "agreement": {"compared": len(compared), "disagreed": disagreed},
        "logblocks": len(logblocks),
        "notarised_to": logblocks[-1]["last_seq"] if logblocks else None,
        "last_logblock": logblocks[-1] if logblocks else None,
        "disputes": disputes(view),
    }


def disputes(view: dict[str, Any]) -> dict[str, int]:
    """An app's disputes as the gateway's app view counts them: ranges the notaries withheld
    over replicas that disagreed, and the court's disputes over its receipts."""
    return {
        "ranges_withheld": view["disputes"],
        "court_open": view["court_disputes_open"],
        "court_settled": view["court_disputes_settled"],
    }


def hosted(gateway: Gateway) -> list[dict[str, Any]]:
    """The apps this node executes or is drawn for, each with how far it has answered."""
    found = []
    after = ""
    while True:
        page = wallet.call("GET", f"{gateway.url}/api/v1/apps?limit=100{after}")
        for view in page["apps"]:
            app = view["id"]
            last_seq = head(gateway.url, app)
            drawn = gateway.node_id in view["executors"]
            if not drawn and last_seq is None:
                continue
            logblocks = wallet.call("GET", f"{gateway.url}/api/v1/logblocks?app={app}&limit=100")[
                "logblocks"
            ]
            found.append(
                {
                    "app": app,
                    "drawn_now": drawn,
                    "calls": view["calls"],
                    "last_run": last_seq,
                    "behind": view["calls"] - 1 - (-1 if last_seq is None else last_seq),
                    "notarised_to": logblocks[-1]["last_seq"] if logblocks else None,
                    "disputes": disputes(view),
                }
            )
        if page["next"] is None:
            return found
        after = f"&after={page['next']}"
