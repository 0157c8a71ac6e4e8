"""The built Python package as a Python user meets it: installed from the wheel with the pinned CDK,
imported from the consumer's virtualenv, and raising a Python exception for invalid props."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from consumer_support import SYNTH_TIMEOUT, cdk_pins, clean_env, describe, run

INVALID_APP = textwrap.dedent(
    """
    from aws_cdk import App, Stack, Environment
    from cdk_partition_replicated_bucket import PartitionReplicatedBucket

    app = App()
    stack = Stack(app, "Invalid", env=Environment(account="111111111111", region="us-east-1"))
    print("IMPORTS_OK", flush=True)
    PartitionReplicatedBucket(
        stack,
        "Replicated",
        destination_bucket_name="replica-bucket",
        destination_region="not-a-region",
    )
    print("CONSTRUCTED", flush=True)
    """
)


def test_consumer_env_has_the_built_package_and_pinned_cdk(consumer_python: Path) -> None:
    script = (
        "import importlib.metadata as m, json, cdk_partition_replicated_bucket as p;"
        "print(json.dumps({'cdk': m.version('aws-cdk-lib'), 'constructs': m.version('constructs'),"
        "'file': p.__file__, 'has_construct': hasattr(p, 'PartitionReplicatedBucket')}))"
    )
    venv = consumer_python.parent.parent
    proc = run([str(consumer_python), "-c", script], env=clean_env(venv), cwd=venv, timeout=SYNTH_TIMEOUT)
    assert proc.returncode == 0, describe(proc)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = dict(pin.split("==") for pin in cdk_pins())
    assert info["cdk"] == expected["aws-cdk-lib"]
    assert info["constructs"] == expected["constructs"]
    assert info["has_construct"] is True
    # Imported from the consumer venv's site-packages, not from the source tree.
    assert Path(info["file"]).resolve().is_relative_to(venv.resolve()), info["file"]


def test_invalid_destination_region_raises_python_exception(consumer_python: Path, tmp_path: Path) -> None:
    (tmp_path / "invalid.py").write_text(INVALID_APP)
    venv = consumer_python.parent.parent
    proc = run(
        [str(consumer_python), "invalid.py"],
        env=clean_env(venv, CDK_OUTDIR=str(tmp_path / "cdk.out")),
        cwd=tmp_path,
        timeout=SYNTH_TIMEOUT,
    )
    assert proc.returncode != 0, f"constructing with destination_region='not-a-region' succeeded: {describe(proc)}"
    assert "IMPORTS_OK" in proc.stdout, f"the script failed before reaching the construct: {describe(proc)}"
    assert "CONSTRUCTED" not in proc.stdout, f"the construct accepted the invalid region: {describe(proc)}"
    assert "Traceback (most recent call last)" in proc.stderr, describe(proc)
    assert "destinationRegion" in proc.stderr, f"the error does not name destinationRegion: {describe(proc)}"
