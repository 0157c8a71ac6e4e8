"""The Python consumer tests' fixtures, session-scoped: the virtualenv with the built wheel is made,
and each app synthesized, once per pytest run however many test files use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict

import pytest

from consumer_support import CHINA_STACK, DESTINATION_STACK, EXAMPLE_DESTINATION_STACK, EXAMPLE_DIR
from consumer_support import EXAMPLE_SOURCE_STACK, GOV_STACK, INSTALL_TIMEOUT, ROOT, SYNTH_TIMEOUT, cdk_pins
from consumer_support import clean_env, describe, locate_dist, run

APP = textwrap.dedent(
    f"""
    import os

    from aws_cdk import App, Stack, Environment, aws_s3 as s3, aws_sns as sns
    from cdk_partition_replicated_bucket import (
        DestinationAssumeRoleOptions,
        DestinationReplicationUser,
        PartitionReplicatedBucket,
    )

    app = App(outdir=os.environ["CDK_OUTDIR"])

    # The destination partition's side: the bucket and the least-privilege identity writing into it.
    destination = Stack(app, "{DESTINATION_STACK}", env=Environment(account="222222222222", region="us-gov-west-1"))
    replicas = s3.Bucket(destination, "Replicas", bucket_name="replica-bucket", versioned=True, enforce_ssl=True)
    DestinationReplicationUser(
        destination,
        "Writer",
        bucket=replicas,
        prefixes=["data/"],
        create_access_key=True,
        assume_role=DestinationAssumeRoleOptions(external_id="replication-from-aws"),
    )

    # Commercial (aws) -> GovCloud (aws-us-gov): the destination partition is derived from the region.
    gov = Stack(app, "{GOV_STACK}", env=Environment(account="111111111111", region="us-east-1"))
    replicated = PartitionReplicatedBucket(
        gov,
        "Replicated",
        destination_bucket_name="replica-bucket",
        destination_region="us-gov-west-1",
        prefixes=["data/"],
        replicate_version_deletes=False,
        alarm_topic=sns.Topic(gov, "OnCall"),
        max_concurrency=50,
    )
    # A metric method as a Python user calls it: snake_case, keyword options.
    replicated.metric_replication_latency(statistic="p99").create_alarm(
        gov, "StricterLatency", threshold=300000, evaluation_periods=3
    )
    assert len(replicated.alarms) == 11

    # China (aws-cn) -> commercial (aws).
    china = Stack(app, "{CHINA_STACK}", env=Environment(account="111111111111", region="cn-north-1"))
    PartitionReplicatedBucket(
        china,
        "Replicated",
        destination_bucket_name="replica-bucket",
        destination_region="us-east-1",
    )

    # s3 is imported as a consumer would; referenced so linters keep the import honest.
    assert s3.BucketEncryption.S3_MANAGED is not None

    app.synth()
    print("SYNTHESIZED")
    """
)


@pytest.fixture(scope="session")
def consumer_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with only the built package and the pinned CDK: what a Python user installs."""
    dist = locate_dist()
    pins = cdk_pins()
    venv = tmp_path_factory.mktemp("consumer") / "venv"
    created = run([sys.executable, "-m", "venv", str(venv)], env=dict(os.environ), cwd=ROOT, timeout=300)
    assert created.returncode == 0, f"python -m venv failed: {describe(created)}"
    python = venv / "bin" / "python"
    assert python.exists(), f"{python} was not created"

    install = run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(dist), *pins],
        env=clean_env(venv),
        cwd=ROOT,
        timeout=INSTALL_TIMEOUT,
    )
    assert install.returncode == 0, f"pip install of {dist.name} with {pins} failed: {describe(install)}"
    return python


@pytest.fixture(scope="session")
def synthesized(consumer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """Runs the Python CDK app once; returns both templates (parsed) and the China template's text."""
    work = tmp_path_factory.mktemp("app")
    (work / "app.py").write_text(APP)
    outdir = work / "cdk.out"
    venv = consumer_python.parent.parent
    proc = run(
        [str(consumer_python), "app.py"],
        env=clean_env(venv, CDK_OUTDIR=str(outdir)),
        cwd=work,
        timeout=SYNTH_TIMEOUT,
    )
    assert proc.returncode == 0, f"the Python CDK app failed to synthesize: {describe(proc)}"
    assert "SYNTHESIZED" in proc.stdout, f"app.synth() did not complete: {describe(proc)}"

    result: Dict[str, Any] = {"outdir": outdir}
    for stack in (GOV_STACK, CHINA_STACK, DESTINATION_STACK):
        path = outdir / f"{stack}.template.json"
        assert path.is_file(), f"{path.name} not synthesized; cdk.out holds {sorted(p.name for p in outdir.iterdir())}"
        text = path.read_text()
        result[stack] = json.loads(text)
        result[f"{stack}:text"] = text
    return result


@pytest.fixture(scope="session")
def example(consumer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """examples/python/ copied as is and run as `cdk synth` would: cdk.json's app command, CDK_OUTDIR set."""
    work = tmp_path_factory.mktemp("example")
    for file in EXAMPLE_DIR.iterdir():
        if file.is_file():
            (work / file.name).write_bytes(file.read_bytes())
    command = json.loads((work / "cdk.json").read_text())["app"]
    outdir = work / "cdk.out"
    venv = consumer_python.parent.parent
    # The consumer venv's bin/ is first on PATH, so cdk.json's `python3` is the venv's interpreter.
    proc = subprocess.run(
        command,
        shell=True,
        env=clean_env(venv, CDK_OUTDIR=str(outdir)),
        cwd=work,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT,
    )
    assert proc.returncode == 0, f"examples/python ({command}) failed to synthesize: {describe(proc)}"
    result: Dict[str, Any] = {}
    for stack in (EXAMPLE_SOURCE_STACK, EXAMPLE_DESTINATION_STACK):
        path = outdir / f"{stack}.template.json"
        assert path.is_file(), f"{path.name} not synthesized; cdk.out holds {sorted(p.name for p in outdir.iterdir())}"
        result[stack] = json.loads(path.read_text())
    return result
