"""notary invariants, named, checked after every block in tests (and by `metanode store check`).

- `logblocks_follow_their_tips`: each app's LogBlocks are numbered 0 … count − 1 with
  contiguous ranges ending at the tip's next seq, and each leaf's receipt is indexed to it.
- `receipt_index_points_to_leaves`: every indexed receipt hash is the hash of the leaf it
  names (so an inclusion proof always exists for an indexed receipt): with the check above,
  the index holds exactly one entry per leaf.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.notary import keys, queries
from metanode.state.notary.records import read_app_tip, read_receipt_index
from metanode.state.view import StateReader


def logblocks_follow_their_tips(reader: StateReader) -> None:
    for key, _value in reader.scan(keys.APP_TIP):
        app_id = key[len(keys.APP_TIP) :]
        tip = read_app_tip(reader, app_id)
        next_seq = None
        for number, stored in queries.logblocks(reader, app_id):
            logblock = stored.logblock
            check(
                next_seq is None or logblock.first_seq == next_seq,
                f"notary.logblocks_follow_their_tips: LogBlock {number} of {app_id.hex()} "
                f"starts at {logblock.first_seq}, not {next_seq}",
            )
            next_seq = logblock.last_seq + 1
            for index, leaf in enumerate(logblock.leaves):
                check(
                    read_receipt_index(reader, leaf.receipt_hash) == (app_id, number, index),
                    f"notary.logblocks_follow_their_tips: leaf {index} of LogBlock {number} "
                    "is not indexed",
                )
        check(
            next_seq == tip.next_seq,
            f"notary.logblocks_follow_their_tips: app {app_id.hex()} tip {tip} after {next_seq}",
        )


def receipt_index_points_to_leaves(reader: StateReader) -> None:
    # `logblocks_follow_their_tips` shows each leaf indexed to its own place, so distinct
    # leaves have distinct index entries; as many entries as leaves leaves none pointing
    # elsewhere. Counting keeps this linear: resolving each entry decoded its whole LogBlock
    # once per receipt, which grew with the square of an app's LogBlocks' sizes.
    leaves = sum(
        len(stored.logblock.leaves)
        for key, _value in reader.scan(keys.APP_TIP)
        for _number, stored in queries.logblocks(reader, key[len(keys.APP_TIP) :])
    )
    entries = sum(1 for _entry in reader.scan(keys.RECEIPT))
    check(
        entries == leaves,
        f"notary.receipt_index_points_to_leaves: {entries} index entries for {leaves} leaves",
    )


INVARIANTS = (logblocks_follow_their_tips, receipt_index_points_to_leaves)
