"""`bpi blob`: store, read and check blobs on the network's storage nodes (docs/storage.md).

    bpi blob put FILE [--k 4 --n 6 --chunk-bytes B]
                       encode FILE k-of-n, commit its PlaceBlob (the chain picks the nodes
                       and charges the per-share fee), upload each share to its node; prints
                       the root (the blob's content address), size, layout and holders
    bpi blob get ROOT --out FILE
                       fetch any k shares, each verified against the coded root on chain,
                       rebuild and check the blob against ROOT; writes FILE whole or not at all
    bpi blob status ROOT
                       the placement on chain and, for each share, whether its node holds it
    bpi blob delete ROOT
                       commit the owner's DeleteBlob: the quotas are freed, the holders drop
                       the chunks (refused for a blob an app's module is stored in)

The storage nodes' gateways are every node of the home, or `--node` alone. `put` and `delete`
sign with `--from` (the blob's owner). A blob that cannot be read (fewer than k shares
verify) exits 1.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from metanode.crypto import ed25519
from metanode.crypto.merkle import HASH_BYTES
from metanode.errors import ConfigError
from metanode.storage import coding, constants
from metanode.storage.errors import StorageError
from metanode.types import Address, DeleteBlob, PlaceBlob

from . import output, wallet
from .network import DEFAULT_HOME, node_urls
from .wallet import GatewayError, Home, Json, NodeUrl

# httpx and the storage nodes' client (asyncio with it) load only in a command that talks to
# them: `bpi` and `bpci` register these commands at every start.
if TYPE_CHECKING:
    import httpx

    from metanode.node import blobs

T = TypeVar("T")
blob_app = typer.Typer(help="Blobs on the storage nodes (relay storage).", no_args_is_help=True)

Sender = Annotated[str, typer.Option("--from", help="The key that owns and pays for the blob.")]
RootArgument = Annotated[str, typer.Argument(metavar="ROOT", help="The blob's root (64 hex).")]


def gateways(home: Path, node: str | None) -> list[str]:
    return [wallet.gateway_base(node)] if node is not None else [url for _, url in node_urls(home)]


def root_of(text: str) -> bytes:
    try:
        root = bytes.fromhex(text)
    except ValueError:
        root = b""
    if len(root) != HASH_BYTES:
        raise ConfigError(f"ROOT must be 64 hex digits, got {text!r}")
    return root


def _run(work: Any) -> Any:
    import asyncio  # noqa: PLC0415 - see the TYPE_CHECKING imports

    import httpx  # noqa: PLC0415 - as asyncio

    try:
        return asyncio.run(work)
    except httpx.HTTPError as error:
        raise GatewayError(f"a storage node's gateway failed: {error}") from None
    except StorageError as error:
        raise GatewayError(str(error)) from None


def view(target: blobs.Target) -> dict[str, Any]:
    layout = target.layout
    return {
        "root": target.root.hex(),
        "coded_root": target.coded_root.hex(),
        "size": layout.size,
        "k": layout.k,
        "n": layout.n,
        "chunk_bytes": layout.chunk_bytes,
        "holders": [str(holder) for holder in target.holders],
    }


@blob_app.command("put")
def put(
    file: Annotated[Path, typer.Argument(help="The blob's bytes.")],
    k: Annotated[int, typer.Option(help="Shares any of which rebuild the blob.")] = 4,
    n: Annotated[int, typer.Option(help="Shares placed, one a node.")] = 6,
    chunk_bytes: Annotated[int, typer.Option(help="Bytes a chunk.")] = constants.chunk_bytes,
    sender: Sender = "dev0",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Place FILE on the storage nodes: prints its root, the address to `get` it by."""
    try:
        data = file.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read {file}: {error.strerror}") from None
    record, target = place(data, k, n, chunk_bytes, wallet.signer(home, sender), home, node)
    if target is None:
        wallet.report(record, as_json, {"root": coding.content_root(data, chunk_bytes).hex()})
    else:
        wallet.report(record, as_json, view(target))


def place(
    data: bytes,
    k: int,
    n: int,
    chunk_bytes: int,
    owner: ed25519.PrivateKey,
    home: Path,
    node: str | None,
) -> tuple[dict[str, Any], blobs.Target | None]:
    """Encode `data` k-of-n, commit its PlaceBlob signed by `owner` and upload each share to
    the node the chain placed it on: the transaction's record and the placement (None if the
    chain refused it: nothing is uploaded)."""
    from metanode.net import http  # noqa: PLC0415 - as in _run
    from metanode.node import blobs  # noqa: PLC0415 - as in _run

    try:
        encoded = coding.encode(data, k, n, chunk_bytes)
    except StorageError as error:
        raise ConfigError(str(error)) from None
    urls = gateways(home, node)
    message = PlaceBlob(encoded.root, encoded.coded_root, len(data), chunk_bytes, k, n)
    record = wallet.commit(urls[0], owner, message)
    if not record["ok"]:
        return record, None

    async def upload() -> blobs.Target:
        async with http.async_client(blobs.timeout_s) as client:
            target = await blobs.placed(client, urls[0], encoded.root)
            await blobs.put_blob(client, await blobs.directory(client, urls), target, encoded)
            return target

    target: blobs.Target = _run(upload())
    return record, target


def with_blob(
    root: str,
    home: Path,
    node: str | None,
    work: Callable[[httpx.AsyncClient, dict[Address, str], blobs.Target], Awaitable[T]],
) -> tuple[blobs.Target, T]:
    """The blob's placement as the first gateway reads it on chain, and what `work` makes of
    it with the storage nodes that answer."""
    from metanode.net import http  # noqa: PLC0415 - as in _run
    from metanode.node import blobs  # noqa: PLC0415 - as in _run

    raw = root_of(root)
    urls = gateways(home, node)

    async def run() -> tuple[blobs.Target, T]:
        async with http.async_client(blobs.timeout_s) as client:
            target = await blobs.placed(client, urls[0], raw)
            return target, await work(client, await blobs.directory(client, urls), target)

    result: tuple[blobs.Target, T] = _run(run())
    return result


@blob_app.command("get")
def get(
    root: RootArgument,
    out: Annotated[Path, typer.Option(help="Where to write the blob.")],
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Read the blob ROOT from any k of its holders, verified chunk by chunk, into --out."""
    from metanode.node import blobs  # noqa: PLC0415 - as in _run

    target, data = with_blob(root, home, node, blobs.read_blob)
    output.write_atomically(out, data)
    facts = {**view(target), "out": str(out)}
    if as_json:
        output.print_json(facts)
    else:
        typer.echo(f"{len(data)} bytes verified against {root}, written to {out}")


@blob_app.command("status")
def status(
    root: RootArgument,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """The blob's placement on chain and which holders hold their share now."""
    target, held = with_blob(root, home, node, _held)
    facts = {**view(target), "held": held, "readable": sum(held) >= target.layout.k}
    if as_json:
        output.print_json(facts)
    else:
        typer.echo(f"root        {root}")
        typer.echo(
            f"layout      {target.layout.k}-of-{target.layout.n}, {target.layout.size} bytes"
        )
        for share, (holder, there) in enumerate(zip(target.holders, held, strict=True)):
            typer.echo(f"share {share:<5} {holder}  {'held' if there else 'MISSING'}")
    if not facts["readable"]:
        raise typer.Exit(output.FAILED)


@blob_app.command("delete")
def delete(
    root: RootArgument,
    sender: Sender = "dev0",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Delete the blob ROOT you own: exit 1 if the chain refuses (not yours, unknown, or an
    app's module)."""
    message = DeleteBlob(root_of(root))
    record = wallet.commit(gateways(home, node)[0], wallet.signer(home, sender), message)
    wallet.report(record, as_json, {"root": root})


async def _held(
    client: httpx.AsyncClient, nodes: dict[Address, str], target: blobs.Target
) -> list[bool]:
    """For each share, whether its node answers that it holds it."""
    import httpx  # noqa: PLC0415 - as in _run

    held = []
    for share, holder in enumerate(target.holders):
        url = nodes.get(holder)
        try:
            answer = (
                None if url is None else await client.get(f"{url}/api/v1/blobs/{target.root.hex()}")
            )
        except httpx.HTTPError:
            answer = None
        held.append(
            answer is not None and answer.status_code == 200 and share in answer.json()["held_here"]
        )
    return held
