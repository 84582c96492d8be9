"""`copy_environment` and `restore_environment` (a dev chain's snapshot and revert) on real
LMDB: every table, plain and with duplicate keys, comes back exactly as copied, in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lmdb
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.state.store import copy_environment, restore_environment

keys = st.binary(min_size=1, max_size=8)
values = st.binary(min_size=1, max_size=16)
items = st.lists(st.tuples(keys, values), max_size=30)


def contents(env: lmdb.Environment, tables: dict[bytes | None, Any]) -> dict[Any, list[Any]]:
    with env.begin() as txn:
        return {name: list(txn.cursor(db=db).iternext()) for name, db in tables.items()}


def fill(env: lmdb.Environment, tables: dict[bytes | None, Any], rows: list[Any]) -> None:
    with env.begin(write=True) as txn:
        for db in tables.values():
            for key, value in rows:
                txn.put(key, value, db=db)


@settings(max_examples=25, deadline=None)
@given(before=items, after=items, dropped=st.lists(keys, max_size=10))
def test_a_restore_gives_back_every_table_as_copied(
    tmp_path_factory: Any, before: list[Any], after: list[Any], dropped: list[bytes]
) -> None:
    directory = Path(tmp_path_factory.mktemp("env"))
    env = lmdb.open(str(directory / "live"), max_dbs=2, map_size=1 << 24)
    tables = {b"plain": env.open_db(b"plain"), b"dups": env.open_db(b"dups", dupsort=True)}
    fill(env, tables, before)
    copied = contents(env, tables)
    copy_environment(env, directory / "copy")
    fill(env, tables, after)  # new keys, new values for old keys, new duplicates
    with env.begin(write=True) as txn:
        for key in dropped:
            for db in tables.values():
                txn.delete(key, db=db)
    restore_environment(env, tables, directory / "copy")
    assert contents(env, tables) == copied
    env.close()


def test_the_main_table_restores_too(tmp_path: Path) -> None:
    env = lmdb.open(str(tmp_path / "live"), max_dbs=1)
    main = {None: env.open_db()}
    fill(env, main, [(b"record", b"height 5")])
    copy_environment(env, tmp_path / "copy")
    fill(env, main, [(b"record", b"height 9"), (b"other", b"x")])
    restore_environment(env, main, tmp_path / "copy")
    assert contents(env, main) == {None: [(b"record", b"height 5")]}
