"""`bpi dev APP_DIR` against a real dev chain process: deploy, a call's receipt streamed, an edit
of the source upgrades the app under the same id, a broken edit is reported and watched on."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from metanode.cli.bpi_dev import BuildFailed, NotBuilt, build, sources_state
from metanode.devkit.chain import DevChain

COUNTER = Path(__file__).resolve().parents[2] / "examples" / "counter.wat"


class Lines:
    """A process's stdout lines, read by a thread as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        ).start()

    def wait_for(self, text: str, timeout_s: float = 60) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [line for line in self.lines if text in line]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} in {self.lines}")


@pytest.mark.slow  # a chain and a watcher process: ~8 s of CPU
def test_bpi_dev_deploys_streams_and_upgrades_on_change(tmp_path: Path) -> None:
    app_dir = tmp_path / "counter"
    app_dir.mkdir()
    (app_dir / "app.wat").write_text(COUNTER.read_text())
    (app_dir / "app.toml").write_text('[app]\nmodule = "app.wat"\nreplicas = 1\n')
    with DevChain(tmp_path / "chain", accounts=2) as chain:
        watcher = subprocess.Popen(
            [
                *(str(Path(sys.executable).parent / "bpi"), "dev", str(app_dir)),
                *("--home", str(chain.home), "--node", chain.url, "--poll-s", "0.1"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            lines = Lines(watcher)
            deployed = lines.wait_for("deployed app")
            app_id = deployed.split()[2]
            chain.call(chain.key("dev1"), app_id, "increment")
            assert "call 0: ok" in lines.wait_for("call 0:")
            # An edit that does not build is reported; the watch goes on.
            (app_dir / "app.wat").write_text("(module")
            lines.wait_for("build failed")
            # Counting by two instead of one: a new version under the same id.
            (app_dir / "app.wat").write_text(
                COUNTER.read_text().replace("(i64.const 1)", "(i64.const 2)")
            )
            assert app_id in lines.wait_for("upgraded app")
            result = chain.call(chain.key("dev1"), app_id, "increment")
            assert int.from_bytes(result.output, "little") == 3
            lines.wait_for("call 1: ok")
        finally:
            watcher.terminate()
            watcher.wait(10)


def test_a_change_of_a_source_is_seen_and_rebuilt(tmp_path: Path) -> None:
    (tmp_path / "app.wat").write_text(COUNTER.read_text())
    (tmp_path / "target").mkdir()
    before = sources_state(tmp_path)
    (tmp_path / "target" / "out.wasm").write_bytes(b"built")  # an output, not a source
    assert sources_state(tmp_path) == before
    module, code = build(tmp_path)
    assert module == tmp_path / "app.wat" and code.startswith(b"\0asm")
    (tmp_path / "app.wat").write_text("(module)")
    assert sources_state(tmp_path) != before
    assert build(tmp_path)[1] != code
    (tmp_path / "app.wat").write_text("(module")
    with pytest.raises(BuildFailed, match="not valid WAT"):
        build(tmp_path)


def test_an_assemblyscript_project_is_refused_as_not_built(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{}")
    with pytest.raises(NotBuilt, match="builds WAT, WASM and Rust apps only"):
        build(tmp_path)
