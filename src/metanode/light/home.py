"""The light client's home: its trusted light block, sources and options in one JSON file
(`light.json`), written whole to a temporary file and renamed, so a crash leaves the old
trusted block or the new one. `open_client` is the Python API's entry point.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from metanode.errors import ConfigError

from .client import LightClient
from .fetcher import HttpSource, light_block_json, parse_light_block
from .reasons import Rejected
from .verifier import TrustOptions, Verifier

FILE = "light.json"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Settings:
    primary: str
    witnesses: tuple[str, ...]
    options: TrustOptions


def now_ms() -> int:
    """The wall clock in milliseconds, which the pure client never reads itself."""
    return time.time_ns() // 1_000_000


def initialise(home: Path, height: int, block_hash: bytes, settings: Settings) -> LightClient:
    """Trust the primary's block at `height` if it has `block_hash`, and save it in `home`."""
    primary = HttpSource(settings.primary)
    checkpoint = primary.light_block(height)
    verifier = Verifier(checkpoint.header.chain_id, settings.options)
    witnesses = [HttpSource(url) for url in settings.witnesses]
    client = LightClient.initialise(verifier, height, block_hash, primary, witnesses)
    save(home, client)
    return client


def open_client(home: Path) -> LightClient:
    """The client saved in `home` (by `metanode light init`), with its sources."""
    path = home / FILE
    if not path.exists():
        raise ConfigError(f"no light client in {home}: run `metanode light init` first")
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ConfigError(f"{path} is of format {data.get('format')}, expected {FORMAT}")
        options = TrustOptions(
            Fraction(data["trust_level"]),
            int(data["period_blocks"]),
            int(data["period_ms"]),
            int(data["clock_drift_ms"]),
        )
        trusted = parse_light_block(data["trusted"])
        primary, witnesses = data["primary"], data["witnesses"]
    except (ValueError, KeyError, TypeError, Rejected) as error:
        raise ConfigError(f"{path} is not a light client's file: {error}") from None
    verifier = Verifier(trusted.header.chain_id, options)
    return LightClient(
        verifier, trusted, HttpSource(primary), [HttpSource(url) for url in witnesses]
    )


def save(home: Path, client: LightClient) -> None:
    options = client.verifier.options
    data: dict[str, Any] = {
        "format": FORMAT,
        "chain_id": client.verifier.chain_id,
        "primary": client.primary.name,
        "witnesses": [witness.name for witness in client.witnesses],
        "trust_level": str(options.trust_level),
        "period_blocks": options.period_blocks,
        "period_ms": options.period_ms,
        "clock_drift_ms": options.clock_drift_ms,
        "trusted": light_block_json(client.trusted),
    }
    home.mkdir(parents=True, exist_ok=True)
    temporary = home / f"{FILE}.tmp"
    with temporary.open("w") as file:
        json.dump(data, file, indent=1)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(home / FILE)
