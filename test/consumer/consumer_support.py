"""What the Python consumer tests share: paths, stack ids, timeouts and the helpers that run the
consumer's processes and read the templates they synthesize (the fixtures are in conftest.py).

`npx projen test:python` builds the package with jsii-pacmak into dist-consumer/python/ and then runs
test/consumer/. The tests install that wheel (with the pinned aws-cdk-lib and constructs from
test/consumer/requirements.txt) into a fresh, isolated virtualenv, once per run, synthesize a small
Python CDK app and the README's example app (examples/python/, unchanged) with it and assert on the
CloudFormation templates the apps produced.

A missing wheel is a failure, never a skip: these tests exist to prove the Python package works.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST_DIR = ROOT / "dist-consumer" / "python"
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
DIST_NAME = "cdk_partition_replicated_bucket"
# The README's example app, synthesized unchanged with the command its cdk.json names.
EXAMPLE_DIR = ROOT / "examples" / "python"
EXAMPLE_SOURCE_STACK = "Reports"
EXAMPLE_DESTINATION_STACK = "Replicas"

# Stack ids are also the artifact ids, so the templates are cdk.out/<id>.template.json.
GOV_STACK = "GovReplicationStack"
CHINA_STACK = "ChinaReplicationStack"
DESTINATION_STACK = "GovDestinationStack"

INSTALL_TIMEOUT = 30 * 60
SYNTH_TIMEOUT = 10 * 60


def cdk_pins() -> List[str]:
    """The aws-cdk-lib and constructs pins from test/consumer/requirements.txt (exact versions)."""
    assert REQUIREMENTS.is_file(), f"missing {REQUIREMENTS}"
    pins: Dict[str, str] = {}
    for raw in REQUIREMENTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)", line)
        if match and match.group(1).lower() in ("aws-cdk-lib", "constructs"):
            pins[match.group(1).lower()] = match.group(2)
    assert set(pins) == {"aws-cdk-lib", "constructs"}, (
        f"{REQUIREMENTS} must pin aws-cdk-lib and constructs with ==, found {pins}"
    )
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def locate_dist() -> Path:
    """The wheel (or, failing that, the sdist) jsii-pacmak produced."""
    hint = (
        "Build it first: `npx projen test:python`, or "
        "`rm -rf dist-consumer && npx jsii-pacmak --targets python --outdir dist-consumer` "
        "after `npx jsii`."
    )
    if not DIST_DIR.is_dir():
        pytest.fail(f"{DIST_DIR} does not exist: jsii-pacmak has not produced the Python package. {hint}")
    wheels = sorted(DIST_DIR.glob(f"{DIST_NAME}-*.whl"))
    if len(wheels) > 1:
        pytest.fail(f"more than one wheel in {DIST_DIR}: {[w.name for w in wheels]}; rebuild from clean. {hint}")
    if wheels:
        return wheels[0]
    sdists = sorted(DIST_DIR.glob(f"{DIST_NAME}-*.tar.gz"))
    if len(sdists) == 1:
        return sdists[0]
    pytest.fail(
        f"no {DIST_NAME} wheel (*.whl) or single sdist in {DIST_DIR} "
        f"(contents: {sorted(p.name for p in DIST_DIR.iterdir())}). {hint}"
    )


def clean_env(venv: Path, **extra: str) -> Dict[str, str]:
    """The environment of a consumer process: its own venv first on PATH, nothing of ours leaking in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    # The jsii runtime prints a banner on Node versions it does not test; keep stderr about the app.
    env["JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION"] = "1"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    env.update(extra)
    return env


def run(cmd: List[str], *, env: Dict[str, str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"


def resources(template: Dict[str, Any], type_: str) -> Dict[str, Dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == type_}


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def env_vars(function: Dict[str, Any]) -> Dict[str, Any]:
    return function.get("Properties", {}).get("Environment", {}).get("Variables", {})


def replicator_function(template: Dict[str, Any]) -> Dict[str, Any]:
    # The replicator alone writes: it alone has the write options (the backfill also knows the destination, to list it).
    functions = [f for f in resources(template, "AWS::Lambda::Function").values() if "REPLICATE_TAGS" in env_vars(f)]
    assert len(functions) == 1, f"expected exactly one replicator function (with REPLICATE_TAGS), found {len(functions)}"
    return functions[0]


def as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]
