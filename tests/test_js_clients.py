"""ethers 6 and viem 2, unmodified, run a dapp's start-up against a mock provider and the
reference gateway over HTTP and WebSocket (``tests/js/dapp.mjs``). Needs Node and the npm
registry once (the packages are cached); skipped where Node is not on the machine."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import small_scenario
from helpers.inprocess_rig import InProcessRig

from battletui.chain.accounts import dev_accounts
from battletui.chain.tokens import MULTICALL3, TOKENS
from battletui.scenario import ChainSpec

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("node") is None or shutil.which("npm") is None, reason="needs Node and npm"
    ),
]
HERE = Path(__file__).parent / "js"
CHAIN_ID = 31337
RUN_DEADLINE = 90.0


@pytest.fixture(scope="module")
def dapp_script() -> Path:
    """``dapp.mjs`` beside an ``npm install`` of ``package.json``, cached by its hash."""
    manifest = (HERE / "package.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folder = cache / "battletui" / f"js-clients-{hashlib.sha256(manifest).hexdigest()[:12]}"
    if not (folder / "node_modules" / "viem").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_bytes(manifest)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            check=True,
            timeout=300,
        )
    shutil.copy(HERE / "dapp.mjs", folder / "dapp.mjs")
    return folder / "dapp.mjs"


@pytest.fixture
async def lab() -> AsyncIterator[InProcessRig]:
    scenario = dataclasses.replace(small_scenario(), chain=ChainSpec(id=CHAIN_ID, block_time=0.5))
    rig = InProcessRig(scenario)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()


async def _run(script: Path, client: str, url: str, account: int) -> dict[str, Any]:
    me, you = dev_accounts()[account], dev_accounts()[account + 1]
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        client,
        url,
        str(CHAIN_ID),
        "0x" + me.key.hex(),
        TOKENS[0].address,
        MULTICALL3,
        you.address,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), RUN_DEADLINE)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode()
    seen: dict[str, Any] = json.loads(out)
    return seen


@pytest.mark.parametrize("client", ["ethers", "viem"])
async def test_a_js_dapp_starts_and_transacts(
    lab: InProcessRig, dapp_script: Path, client: str
) -> None:
    assert lab.gateway is not None
    targets = {
        "provider http": lab.providers["alpha"].url,
        "provider ws": lab.providers["alpha"].url.replace("http://", "ws://"),
        "gateway http": lab.gateway.url,
        "gateway ws": lab.gateway.ws_url,
    }
    for account, (where, url) in enumerate(targets.items()):
        seen = await _run(dapp_script, client, url, account * 2)
        me = dev_accounts()[account * 2].address
        assert seen["chainId"] == CHAIN_ID, where
        assert abs(seen["block"] - lab.chain.head_number()) <= 2, where
        assert seen["nonce"] == 0 and int(seen["balance"]) > 0, where
        assert seen["codeBytes"] > 0 and int(seen["maxFeePerGas"]) > 0, where
        assert (seen["symbol"], seen["decimals"]) == (TOKENS[0].symbol, TOKENS[0].decimals)
        assert seen["multicallOk"] and seen["multicallBalance"] == seen["tokenBalance"], where
        assert seen["gas"] > 21_000, where
        assert seen["status"] == 1 and seen["heardTransfer"] == seen["txHash"], where
        mined = lab.chain.ledger.block_of(seen["txHash"])
        assert mined is not None, f"{where}: the transfer is not on the chain"
        assert lab.chain.ledger.state_at(lab.chain.head_number()).nonces.get(me) == 1, where
