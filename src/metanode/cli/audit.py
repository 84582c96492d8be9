"""Split-origin audit bundles (docs/audit.md): `bpci audit export` and `metanode audit verify`.

`bpci audit export --app APP --from H1 --to H2 --out FILE [--anchor H] [--node URL]` writes
the bundle of the app's calls committed in H1..H2 from an executor node's gateway; the calls
it leaves out (no receipt there, not notarised yet) are listed, and it exits 0 all the same.
`metanode audit verify FILE [--trust-hash HASH]` checks a bundle offline with the light client.
Its first line is `verified` (exit 0), `not verified: N of M records` (exit 1, then one line
per record) or `refused: REASON at LOCATION` (exit 1, nothing in the bundle could be trusted);
a file that cannot be read is a usage error (exit 2). `--json` prints one document instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metanode.errors import ConfigError

from . import output, wallet
from .light import parse_hash
from .network import DEFAULT_HOME

if TYPE_CHECKING:
    from metanode.light import audit

audit_app = typer.Typer(help="Verify split-origin audit bundles offline.", no_args_is_help=True)
export_app = typer.Typer(help="Export split-origin audit bundles.", no_args_is_help=True)
Height = Annotated[int, typer.Option(min=1, max=2**63)]


@export_app.command()
def export(
    app: Annotated[str, typer.Option("--app", help="The app id (64 hex characters).")],
    from_height: Annotated[int, typer.Option("--from", min=1, help="First height.")],
    to_height: Annotated[int, typer.Option("--to", min=1, help="Last height.")],
    out: Annotated[Path, typer.Option("--out", help="The bundle file to write.")],
    anchor: Annotated[
        int | None, typer.Option(min=1, help="Height the verifier trusts (default: --from).")
    ] = None,
    home: wallet.Home = DEFAULT_HOME,
    node: wallet.NodeUrl = None,
    json_output: output.Json = False,
) -> None:
    """Write the audit bundle of the app's calls committed in --from..--to."""
    if from_height > to_height:
        raise ConfigError(f"--from {from_height} is above --to {to_height}")
    # The light client (and httpx) load only for the command that uses them (start-up time).
    from metanode.light.export import export as export_bundle  # noqa: PLC0415
    from metanode.light.fetcher import HttpSource  # noqa: PLC0415

    app_id = parse_hash(app, "--app")
    source = HttpSource(wallet.gateway(home, node))
    try:
        done = export_bundle(source, app_id, from_height, to_height, anchor)
    finally:
        source.close()
    data = done.bundle.encode()
    out.write_bytes(data)
    bundle = done.bundle
    summary = {
        "file": str(out),
        "bytes": len(data),
        "records": len(bundle.records),
        "light_blocks": len(bundle.light_blocks),
        "headers": len(bundle.headers),
        "anchor_height": bundle.anchor_height,
        "anchor_hash": next(
            block.hash().hex()
            for block in bundle.light_blocks
            if block.height == bundle.anchor_height
        ),
        "left_out": [{"seq": seq, "why": why} for seq, why in done.left_out],
    }
    if json_output:
        output.print_json(summary)
        return
    typer.echo(f"wrote {out}: {len(bundle.records)} records, {len(data)} bytes")
    typer.echo(f"anchor height {summary['anchor_height']} hash {summary['anchor_hash']}")
    for seq, why in done.left_out:
        typer.echo(f"left out call {seq}: {why}")


@audit_app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="An audit bundle (bpci audit export).")],
    trust_hash: Annotated[
        str | None,
        typer.Option(help="The anchor block's hash, from a source you trust (64 hex)."),
    ] = None,
    json_output: output.Json = False,
) -> None:
    """Check a bundle offline: each record verified, or not with the reason and the field."""
    from metanode.light import audit  # noqa: PLC0415 - as in export

    trusted = None if trust_hash is None else parse_hash(trust_hash, "--trust-hash")
    try:
        data = file.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read {file}: {error.strerror}") from None
    try:
        report = audit.verify(data, trusted)
    except audit.BundleRefused as refused:
        _print_refused(refused, json_output)
        raise typer.Exit(output.FAILED) from None
    _print_report(report, json_output)
    if not report.all_verified:
        raise typer.Exit(output.FAILED)


def _print_refused(refused: audit.BundleRefused, json_output: bool) -> None:
    if json_output:
        output.print_json(
            {
                "result": "refused",
                "reason": refused.reason,
                "location": refused.location,
                "detail": refused.detail,
            }
        )
        return
    typer.echo(f"refused: {refused.reason} at {refused.location}")
    typer.echo(refused.detail)


def _print_report(report: audit.AuditReport, json_output: bool) -> None:
    failed = [record for record in report.records if not record.verified]
    span, heights = report.span, report.complete_heights
    completeness = {
        "result": _completeness(report),
        "first_seq": None if span is None else span[0],
        "last_seq": None if span is None else span[1],
        "missing": [list(run) for run in report.missing],
        "heights": None if heights is None else list(heights),
        "bounds": [_bound_fields(bound) for bound in report.bounds],
    }
    anchor = {
        "height": report.anchor_height,
        "hash": report.anchor_hash.hex(),
        "trusted": report.anchor_trusted,
    }
    if json_output:
        document: dict[str, Any] = {
            "result": "verified" if report.all_verified else "not_verified",
            "chain_id": report.chain_id,
            "app_id": report.app_id.hex(),
            "anchor": anchor,
            "top_height": report.top_height,
            "completeness": completeness,
            "records": [
                {
                    "index": record.index,
                    "seq": record.seq,
                    "verified": record.verified,
                    "height": record.height,
                    "reason": record.reason or None,
                    "location": record.location or None,
                    "detail": record.detail or None,
                }
                for record in report.records
            ],
        }
        output.print_json(document)
        return
    total = len(report.records)
    typer.echo(
        "verified"
        if report.all_verified
        else f"not verified: {len(failed)} of {total} records, {len(report.missing)} gaps, "
        f"{len(report.failures) - len(failed)} boundary witnesses"
    )
    for record in report.records:
        if record.verified:
            typer.echo(
                f"record {record.index} (call {record.seq}, block {record.height}): verified"
            )
        else:
            typer.echo(
                f"record {record.index} (call {record.seq}): {record.reason} at "
                f"{record.location}: {record.detail}"
            )
    for side, bound in zip(("below", "above"), report.bounds, strict=True):
        if bound is not None and not bound.verified:
            typer.echo(f"witness {side}: {bound.reason} at {bound.location}: {bound.detail}")
    if span is None:
        typer.echo("completeness: no record verified")
    else:
        typer.echo(f"completeness: calls {span[0]}..{span[1]}: {completeness['result']}")
    if heights is not None:
        last = "its newest call" if heights[1] is None else f"height {heights[1]}"
        typer.echo(f"every call from height {heights[0]} to {last} is in the bundle")
    for first, last_seq in report.missing:
        typer.echo(f"missing calls {first}..{last_seq}: the bundle holds no record of them")
    typer.echo(
        f"anchor height {report.anchor_height} hash {report.anchor_hash.hex()}"
        + (" (as trusted)" if report.anchor_trusted else ": compare it with a hash you trust")
    )


def _completeness(report: audit.AuditReport) -> str:
    """`complete` over `complete_heights`; `incomplete` when a call inside the records is
    missing; `unproven` otherwise (an item failed, or no witness bounds the lower end)."""
    if report.complete_heights is not None:
        return "complete"
    return "incomplete" if report.missing else "unproven"


def _bound_fields(bound: audit.BoundResult | None) -> dict[str, Any] | None:
    if bound is None:
        return None
    return {
        "seq": bound.seq,
        "verified": bound.verified,
        "height": bound.height,
        "reason": bound.reason or None,
        "location": bound.location or None,
    }
