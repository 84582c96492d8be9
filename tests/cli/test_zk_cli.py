"""`metanode zk` as an authority and a holder run it against a real node (slow: the authority's
CL key takes seconds to a minute): set-up, publish, the three issuance messages as files,
a proof the chain accepts, and after the authority revokes the holder's index a proof it
refuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.node.cluster import running

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "metanode"), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def ok(*argv: str) -> dict:
    done = run(*argv, "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def test_an_authority_and_a_holder_prove_kyc_from_the_command_line(tmp_path: Path) -> None:
    with running(tmp_path / "net", validators=1) as cluster:
        cluster.wait_height(1)
        home = ["--home", str(cluster.home)]
        setup, holder = tmp_path / "bank-zk", tmp_path / "holder"
        issuer = ok("zk", "setup", "--from", "bank", "--dir", str(setup), "--capacity", "16",
                    *home)["issuer"]  # fmt: skip
        assert (setup / "secrets.json").stat().st_mode & 0o077 == 0
        assert ok("zk", "publish", "--from", "bank", "--dir", str(setup), *home)["tx"]["ok"]
        offer, request, signed = tmp_path / "offer", tmp_path / "request", tmp_path / "signed"
        ok("zk", "offer", "--dir", str(setup), "--out", str(offer))
        ok("zk", "request", str(offer), "--issuer", issuer, "--holder", str(holder),
           "--out", str(request), *home)  # fmt: skip
        ok("zk", "sign", str(request), "--offer", str(offer), "--dir", str(setup), "--level", "3",
           "--birth-date", "19900115", "--index", "4", "--out", str(signed), *home)  # fmt: skip
        ok("zk", "accept", str(signed), "--issuer", issuer, "--holder", str(holder), *home)
        (tails,) = (setup / "tails").iterdir()
        prove = ["zk", "prove", "--from", "dev1", "--issuer", issuer, "--holder", str(holder),
                 "--tails", str(tails), "--level", "2", "--age", "18", *home]  # fmt: skip
        assert ok(*prove)["tx"]["ok"]
        address = ok("keys", "show", "dev1", *home)["address"]
        attested = cluster.get("v0", f"/api/v1/privacy/attestations/{address}")
        assert attested["issuer"] == issuer and attested["level_min"] == 2
        published = ok("zk", "publish", "--from", "bank", "--dir", str(setup), "--revoke", "4",
                       *home)  # fmt: skip
        assert published["revoked"] == [4]
        refused = run(*prove, "--json")
        assert refused.returncode == 1
        assert json.loads(refused.stdout)["tx"]["receipt"]["code_name"] == "privacy.proof_invalid"
