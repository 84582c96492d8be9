"""The light client's sources over HTTP: a node's gateway (`/api/v1/proofs/…`), read with httpx.

Everything a node answers is parsed here into the light client's types and nothing else is
believed: a block or proof is checked by `client` and `proofs`, never here. Blame at this edge:
a 404 for a block at or below the height the node claims is a withheld header; an answer that
does not parse is `MALFORMED`; a node that cannot be reached is `HEADER_WITHHELD`, since to the
client it withholds everything.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from metanode.consensus.validators import Validator, ValidatorSet
from metanode.errors import ConfigError, DecodeError
from metanode.net import http
from metanode.types import Address, BlockHeader, CommitCertificate
from metanode.types.light_attack import LightAttackEvidence

from .proofs import MerklePath, NotarisedProof, StateProof, TxProof
from .reasons import Rejected, Rejection
from .verifier import LightBlock

timeout_s = 10.0
log = logging.getLogger("metanode.light")


class HttpSource:
    def __init__(self, url: str, client: httpx.Client | None = None) -> None:
        self.name = url.rstrip("/")
        self._http = client or http.client(timeout_s)

    def close(self) -> None:
        self._http.close()

    def get_json(self, path: str, what: str, params: dict[str, int] | None = None) -> Any:
        try:
            answer = self._http.get(f"{self.name}{path}", params=params)
        except httpx.HTTPError as error:
            raise Rejected(Rejection.HEADER_WITHHELD, f"{self.name} unreachable: {error}") from None
        if answer.status_code == 404 and _problem(answer).endswith("/state-not-retained"):
            raise Rejected(Rejection.NOT_SERVED, f"{self.name}: {_detail(answer)}")
        if answer.status_code == 404:
            raise Rejected(Rejection.NOT_FOUND, f"{self.name} has no {what}")
        if answer.status_code != 200:
            raise Rejected(
                Rejection.MALFORMED,
                f"{self.name} answered {answer.status_code} for {what}: {_detail(answer)}",
            )
        try:
            return answer.json()
        except ValueError:
            raise Rejected(Rejection.MALFORMED, f"{self.name}: {what} is not JSON") from None

    def light_block(self, height: int | None) -> LightBlock:
        what = "latest block" if height is None else f"block {height}"
        try:
            body = self.get_json(f"/api/v1/proofs/header/{height or 'latest'}", what)
        except Rejected as rejected:
            if rejected.reason is Rejection.NOT_FOUND:
                raise Rejected(Rejection.HEADER_WITHHELD, rejected.detail) from None
            raise
        log.info("light block fetched", extra={"source": self.name, "height": body.get("height")})
        return parse_light_block(body, what)

    def header(self, height: int) -> BlockHeader:
        return self.light_block(height).header

    def tx_proof(self, tx_hash: bytes) -> TxProof:
        what = f"transaction {tx_hash.hex()}"
        body = self.get_json(f"/api/v1/proofs/tx/{tx_hash.hex()}", what)
        return _parsed(
            what,
            lambda: TxProof(
                _int(body["height"]),
                bytes.fromhex(body["tx"]),
                _merkle(body["inclusion"]),
                bytes.fromhex(body["receipt"]),
                _merkle(body["receipt_inclusion"]),
            ),
        )

    def account_proof(self, address: Address, height: int | None) -> StateProof:
        what = f"account {address}"
        params = None if height is None else {"height": height}
        body = self.get_json(f"/api/v1/proofs/account/{address}", what, params)
        return _parsed(what, lambda: _state(body))

    def receipt_proof(self, receipt_hash: bytes) -> NotarisedProof:
        what = f"notarised receipt {receipt_hash.hex()}"
        body = self.get_json(f"/api/v1/proofs/receipt/{receipt_hash.hex()}", what)
        return _parsed(
            what,
            lambda: NotarisedProof(
                bytes.fromhex(body["receipt_hash"]),
                _merkle(body["inclusion"]),
                bytes.fromhex(body["logblock_key"]),
                _state(body["state"]),
            ),
        )

    def submit_evidence(self, evidence: LightAttackEvidence) -> str:
        try:
            answer = self._http.post(
                f"{self.name}/api/v1/evidence/light-attack",
                content=evidence.encode(),
                headers={"content-type": "application/cbor"},
            )
        except httpx.HTTPError as error:
            return f"unreachable: {error}"
        log.info("evidence submitted", extra={"source": self.name, "status": answer.status_code})
        return f"{answer.status_code} {_detail(answer)}"


def _problem(answer: httpx.Response) -> str:
    """The problem's type (RFC 9457), or "" for another body."""
    try:
        return str(answer.json().get("type", ""))
    except (ValueError, AttributeError):
        return ""


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))
    except (ValueError, AttributeError):
        return answer.text[:200]


def _parsed(what: str, build: Any) -> Any:
    try:
        return build()
    except (KeyError, TypeError, ValueError, AttributeError, DecodeError, ConfigError) as error:
        raise Rejected(Rejection.MALFORMED, f"{what}: {error}") from None


def _int(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{value!r} is not a height")
    return value


def _merkle(body: dict[str, Any]) -> MerklePath:
    return MerklePath(
        _int(body["index"]), _int(body["size"]), tuple(bytes.fromhex(item) for item in body["path"])
    )


def _state(body: dict[str, Any]) -> StateProof:
    value = body["value"]
    return StateProof(
        _int(body["height"]),
        bytes.fromhex(body["key"]),
        None if value is None else bytes.fromhex(value),
        bytes.fromhex(body["proof"]),
    )


def parse_light_block(body: Any, what: str = "light block") -> LightBlock:
    """A light block in the gateway's JSON form (`/api/v1/proofs/header/…`); anything else is
    `MALFORMED`."""
    return _parsed(what, lambda: _light_block(body))


def _light_block(body: dict[str, Any]) -> LightBlock:
    validators = ValidatorSet.of(
        [
            Validator(
                Address.parse(item["address"]),
                _int(item["power"]),
                bytes.fromhex(item["public_key"]),
                bytes.fromhex(item["bls_public_key"]),
                bytes.fromhex(item["vrf_public_key"]),
            )
            for item in body["validators"]
        ]
    )
    return LightBlock(
        BlockHeader.decode(bytes.fromhex(body["header"])),
        CommitCertificate.decode(bytes.fromhex(body["certificate"])),
        validators,
    )


def light_block_json(block: LightBlock) -> dict[str, Any]:
    """The gateway's JSON form of a light block, which `parse_light_block` reads back."""
    return {
        "height": block.height,
        "header": block.header.encode().hex(),
        "certificate": block.certificate.encode().hex(),
        "validators": [
            {
                "address": str(validator.address),
                "power": validator.power,
                "public_key": validator.public_key.hex(),
                "bls_public_key": validator.bls_public_key.hex(),
                "vrf_public_key": validator.vrf_public_key.hex(),
            }
            for validator in block.validators.validators
        ],
    }
