"""The Python consumer test: the jsii-built Python package, used as a Python CDK user would use it.

`npx projen test:python` builds the package with jsii-pacmak into dist-consumer/python/ and then runs
this file. The test installs that wheel (with the pinned aws-cdk-lib and constructs from
test/consumer/requirements.txt) into a fresh, isolated virtualenv, synthesizes a small Python CDK app
and the README's example app (examples/python/, unchanged) with it and asserts on the CloudFormation
templates the apps produced.

A missing wheel is a failure, never a skip: this test exists to prove the Python package works.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
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

APP = textwrap.dedent(
    f"""
    import os

    from aws_cdk import App, Stack, Environment, aws_s3 as s3
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
    PartitionReplicatedBucket(
        gov,
        "Replicated",
        destination_bucket_name="replica-bucket",
        destination_region="us-gov-west-1",
        prefixes=["data/"],
        replicate_version_deletes=False,
    )

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


# --- helpers -------------------------------------------------------------------------------------


def _pins() -> List[str]:
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


def _locate_dist() -> Path:
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


def _clean_env(venv: Path, **extra: str) -> Dict[str, str]:
    """The environment of a consumer process: its own venv first on PATH, nothing of ours leaking in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    # The jsii runtime prints a banner on Node versions it does not test; keep stderr about the app.
    env["JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION"] = "1"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    env.update(extra)
    return env


def _run(cmd: List[str], *, env: Dict[str, str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"


def _resources(template: Dict[str, Any], type_: str) -> Dict[str, Dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == type_}


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _env_vars(function: Dict[str, Any]) -> Dict[str, Any]:
    return function.get("Properties", {}).get("Environment", {}).get("Variables", {})


def _replicator(template: Dict[str, Any]) -> Dict[str, Any]:
    # The replicator alone writes: it alone has the write options (the backfill also knows the destination, to list it).
    functions = [f for f in _resources(template, "AWS::Lambda::Function").values() if "REPLICATE_TAGS" in _env_vars(f)]
    assert len(functions) == 1, f"expected exactly one replicator function (with REPLICATE_TAGS), found {len(functions)}"
    return functions[0]


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def consumer_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with only the built package and the pinned CDK: what a Python user installs."""
    dist = _locate_dist()
    pins = _pins()
    venv = tmp_path_factory.mktemp("consumer") / "venv"
    created = _run([sys.executable, "-m", "venv", str(venv)], env=dict(os.environ), cwd=ROOT, timeout=300)
    assert created.returncode == 0, f"python -m venv failed: {_describe(created)}"
    python = venv / "bin" / "python"
    assert python.exists(), f"{python} was not created"

    install = _run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(dist), *pins],
        env=_clean_env(venv),
        cwd=ROOT,
        timeout=INSTALL_TIMEOUT,
    )
    assert install.returncode == 0, f"pip install of {dist.name} with {pins} failed: {_describe(install)}"
    return python


@pytest.fixture(scope="module")
def synthesized(consumer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """Runs the Python CDK app once; returns both templates (parsed) and the China template's text."""
    work = tmp_path_factory.mktemp("app")
    (work / "app.py").write_text(APP)
    outdir = work / "cdk.out"
    venv = consumer_python.parent.parent
    proc = _run(
        [str(consumer_python), "app.py"],
        env=_clean_env(venv, CDK_OUTDIR=str(outdir)),
        cwd=work,
        timeout=SYNTH_TIMEOUT,
    )
    assert proc.returncode == 0, f"the Python CDK app failed to synthesize: {_describe(proc)}"
    assert "SYNTHESIZED" in proc.stdout, f"app.synth() did not complete: {_describe(proc)}"

    result: Dict[str, Any] = {"outdir": outdir}
    for stack in (GOV_STACK, CHINA_STACK, DESTINATION_STACK):
        path = outdir / f"{stack}.template.json"
        assert path.is_file(), f"{path.name} not synthesized; cdk.out holds {sorted(p.name for p in outdir.iterdir())}"
        text = path.read_text()
        result[stack] = json.loads(text)
        result[f"{stack}:text"] = text
    return result


@pytest.fixture(scope="module")
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
        env=_clean_env(venv, CDK_OUTDIR=str(outdir)),
        cwd=work,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT,
    )
    assert proc.returncode == 0, f"examples/python ({command}) failed to synthesize: {_describe(proc)}"
    result: Dict[str, Any] = {}
    for stack in (EXAMPLE_SOURCE_STACK, EXAMPLE_DESTINATION_STACK):
        path = outdir / f"{stack}.template.json"
        assert path.is_file(), f"{path.name} not synthesized; cdk.out holds {sorted(p.name for p in outdir.iterdir())}"
        result[stack] = json.loads(path.read_text())
    return result


# --- tests ---------------------------------------------------------------------------------------


def test_consumer_env_has_the_built_package_and_pinned_cdk(consumer_python: Path) -> None:
    script = (
        "import importlib.metadata as m, json, cdk_partition_replicated_bucket as p;"
        "print(json.dumps({'cdk': m.version('aws-cdk-lib'), 'constructs': m.version('constructs'),"
        "'file': p.__file__, 'has_construct': hasattr(p, 'PartitionReplicatedBucket')}))"
    )
    venv = consumer_python.parent.parent
    proc = _run([str(consumer_python), "-c", script], env=_clean_env(venv), cwd=venv, timeout=SYNTH_TIMEOUT)
    assert proc.returncode == 0, _describe(proc)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = dict(pin.split("==") for pin in _pins())
    assert info["cdk"] == expected["aws-cdk-lib"]
    assert info["constructs"] == expected["constructs"]
    assert info["has_construct"] is True
    # Imported from the consumer venv's site-packages, not from the source tree.
    assert Path(info["file"]).resolve().is_relative_to(venv.resolve()), info["file"]


def test_source_bucket_is_versioned_with_eventbridge_notifications(synthesized: Dict[str, Any]) -> None:
    template = synthesized[GOV_STACK]
    buckets = _resources(template, "AWS::S3::Bucket")
    versioned = {
        k: v
        for k, v in buckets.items()
        if v.get("Properties", {}).get("VersioningConfiguration", {}).get("Status") == "Enabled"
    }
    assert len(versioned) == 1, f"expected one versioned bucket, found {list(versioned)} among {list(buckets)}"
    (bucket_id, bucket), = versioned.items()

    # EventBridge notifications: either on the bucket itself or through the CDK's notifications resource.
    inline = bucket.get("Properties", {}).get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
    via_custom_resource = [
        r
        for r in _resources(template, "Custom::S3BucketNotifications").values()
        if r["Properties"].get("BucketName") == {"Ref": bucket_id}
        and "EventBridgeConfiguration" in r["Properties"].get("NotificationConfiguration", {})
    ]
    assert inline.get("EventBridgeEnabled") is True or len(via_custom_resource) == 1, (
        f"bucket {bucket_id} does not send events to EventBridge"
    )


def test_queue_is_fifo(synthesized: Dict[str, Any]) -> None:
    queues = _resources(synthesized[GOV_STACK], "AWS::SQS::Queue")
    fifo = [q for q in queues.values() if q.get("Properties", {}).get("FifoQueue") is True]
    assert fifo, f"no FIFO queue among {list(queues)}"


def test_router_replicator_and_backfill_run_on_nodejs22(synthesized: Dict[str, Any]) -> None:
    functions = _resources(synthesized[GOV_STACK], "AWS::Lambda::Function")
    node22 = {k: v for k, v in functions.items() if v["Properties"].get("Runtime") == "nodejs22.x"}
    assert len(node22) == 3, f"expected the router, the replicator and the backfill on nodejs22.x, found {list(node22)}"
    # The replicator and the backfill (for reconcile runs) know the destination; all three feed the
    # queue (the replicator with continuations of large copies); the router never sees the destination.
    with_destination = [k for k, v in node22.items() if "DESTINATION_REGION" in _env_vars(v)]
    with_queue = [k for k, v in node22.items() if "REPLICATION_QUEUE_URL" in _env_vars(v)]
    with_backfill_queue = [k for k, v in node22.items() if "BACKFILL_QUEUE_URL" in _env_vars(v)]
    router = [k for k in with_queue if k not in with_destination]
    replicator = [k for k in with_destination if k not in with_backfill_queue]
    assert len(with_destination) == 2, with_destination
    assert len(with_queue) == 3 and len(router) == 1, (with_queue, with_destination)
    assert len(with_backfill_queue) == 1 and with_backfill_queue[0] in with_destination
    assert len(replicator) == 1 and _env_vars(node22[replicator[0]])["MAX_RECEIVE_COUNT"] == "5"
    assert _replicator(synthesized[GOV_STACK])["Properties"]["Runtime"] == "nodejs22.x"


def test_replicator_targets_govcloud(synthesized: Dict[str, Any]) -> None:
    variables = _env_vars(_replicator(synthesized[GOV_STACK]))
    assert variables["DESTINATION_REGION"] == "us-gov-west-1"
    assert variables["DESTINATION_PARTITION"] == "aws-us-gov"
    assert variables["DESTINATION_BUCKET_NAME"] == "replica-bucket"
    assert variables["REPLICATE_VERSION_DELETES"] == "false"
    assert json.loads(variables["REPLICATED_PREFIXES"]) == ["data/"]


def test_events_rule_filters_the_prefix(synthesized: Dict[str, Any]) -> None:
    rules = _resources(synthesized[GOV_STACK], "AWS::Events::Rule")
    assert rules, "no AWS::Events::Rule in the template"
    filtering = [
        k
        for k, v in rules.items()
        if any(node == {"prefix": "data/"} for node in _walk(v.get("Properties", {}).get("EventPattern", {})))
    ]
    assert filtering, f"no rule's EventPattern filters prefix 'data/': {json.dumps(rules, indent=1)[:3000]}"


def test_china_stack_uses_no_commercial_partition_literal(synthesized: Dict[str, Any]) -> None:
    template = synthesized[CHINA_STACK]
    text = synthesized[f"{CHINA_STACK}:text"]
    assert _resources(template, "AWS::S3::Bucket"), "the China stack has no bucket"
    offending = [m.start() for m in re.finditer(re.escape("arn:aws:"), text)]
    assert not offending, f"'arn:aws:' literal in the cn-north-1 template: {[text[max(0, i - 80):i + 80] for i in offending[:3]]}"
    variables = _env_vars(_replicator(template))
    assert variables["DESTINATION_REGION"] == "us-east-1"
    assert variables["DESTINATION_PARTITION"] == "aws"


def test_invalid_destination_region_raises_python_exception(consumer_python: Path, tmp_path: Path) -> None:
    (tmp_path / "invalid.py").write_text(INVALID_APP)
    venv = consumer_python.parent.parent
    proc = _run(
        [str(consumer_python), "invalid.py"],
        env=_clean_env(venv, CDK_OUTDIR=str(tmp_path / "cdk.out")),
        cwd=tmp_path,
        timeout=SYNTH_TIMEOUT,
    )
    assert proc.returncode != 0, f"constructing with destination_region='not-a-region' succeeded: {_describe(proc)}"
    assert "IMPORTS_OK" in proc.stdout, f"the script failed before reaching the construct: {_describe(proc)}"
    assert "CONSTRUCTED" not in proc.stdout, f"the construct accepted the invalid region: {_describe(proc)}"
    assert "Traceback (most recent call last)" in proc.stderr, _describe(proc)
    assert "destinationRegion" in proc.stderr, f"the error does not name destinationRegion: {_describe(proc)}"


def test_destination_identity_writes_only_under_the_prefix_through_its_role(synthesized: Dict[str, Any]) -> None:
    template = synthesized[DESTINATION_STACK]
    policies = _resources(template, "AWS::IAM::Policy")
    roles = _resources(template, "AWS::IAM::Role")
    assert len(roles) == 1, f"expected the assume-role mode's one role, found {sorted(roles)}"
    role_id = next(iter(roles))
    trust = roles[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Condition"] == {"StringEquals": {"sts:ExternalId": "replication-from-aws"}}

    rights = [p for p in policies.values() if p["Properties"].get("Roles") == [{"Ref": role_id}]]
    assert len(rights) == 1, "the replication rights must be attached to the role"
    statements = rights[0]["Properties"]["PolicyDocument"]["Statement"]

    def actions_of(effect: str) -> List[str]:
        return sorted(a for st in statements if st["Effect"] == effect
                      for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"]))

    # Writes under the prefix, and the listings of one key that find a replica written but not recorded.
    assert actions_of("Allow") == sorted([
        "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:DeleteObjectVersionTagging",
        "s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
        "s3:ListBucketVersions", "s3:ListBucketMultipartUploads",
    ])
    # Writes with a customer-provided key (SSE-C) are denied.
    assert actions_of("Deny") == ["s3:PutObject"]
    assert "data/*" in json.dumps(statements)

    user_policies = [p for p in policies.values() if "Users" in p["Properties"]]
    assert len(user_policies) == 1
    user_statements = user_policies[0]["Properties"]["PolicyDocument"]["Statement"]
    assert [st["Action"] for st in user_statements] == ["sts:AssumeRole"]


def test_destination_secret_has_the_source_shape_and_no_key_material(synthesized: Dict[str, Any]) -> None:
    template = synthesized[DESTINATION_STACK]
    secrets = _resources(template, "AWS::SecretsManager::Secret")
    assert len(secrets) == 1
    secret_string = json.dumps(next(iter(secrets.values()))["Properties"]["SecretString"])
    for field in ("user", "accesskey", "secretaccesskey", "partition", "accountid", "rolearn", "externalid"):
        assert f'\\"{field}\\"' in secret_string, f"{field} missing from the secret shape: {secret_string}"
    assert "SecretAccessKey" in secret_string, "the secret key must come from the AccessKey resource (Fn::GetAtt)"
    assert "arn:aws:" not in synthesized[f"{DESTINATION_STACK}:text"]


# --- the README's example app (examples/python/app.py) ------------------------------------------


def _as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def test_example_source_stack_has_the_fifo_pipeline_version_map_and_rule(example: Dict[str, Any]) -> None:
    template = example[EXAMPLE_SOURCE_STACK]
    buckets = _resources(template, "AWS::S3::Bucket")
    versioned = [k for k, v in buckets.items()
                 if v.get("Properties", {}).get("VersioningConfiguration", {}).get("Status") == "Enabled"]
    assert len(versioned) == 1, f"expected one versioned source bucket among {sorted(buckets)}"
    bucket_id = versioned[0]

    functions = _resources(template, "AWS::Lambda::Function")
    ours = {k: v for k, v in functions.items() if "SOURCE_BUCKET_NAME" in _env_vars(v)}
    assert {v["Properties"]["Runtime"] for v in ours.values()} == {"nodejs22.x"}, ours.keys()
    replicators = [k for k, v in ours.items() if "REPLICATE_TAGS" in _env_vars(v)]
    routers = [k for k, v in ours.items()
               if "REPLICATION_QUEUE_URL" in _env_vars(v) and "DESTINATION_REGION" not in _env_vars(v)]
    assert len(replicators) == 1 and len(routers) == 1, (replicators, routers)
    replicator = _env_vars(ours[replicators[0]])
    router = _env_vars(ours[routers[0]])
    assert replicator["DESTINATION_BUCKET_NAME"] == "reports-replica"
    assert replicator["DESTINATION_REGION"] == "us-gov-west-1"
    assert replicator["DESTINATION_PARTITION"] == "aws-us-gov"
    assert json.loads(replicator["REPLICATED_PREFIXES"]) == ["reports/"]

    # The router feeds the FIFO replication queue that the replicator consumes.
    queues = _resources(template, "AWS::SQS::Queue")
    queue_id = router["REPLICATION_QUEUE_URL"]["Ref"]
    assert queues[queue_id]["Properties"].get("FifoQueue") is True, f"{queue_id} is not a FIFO queue"
    mappings = [m for m in _resources(template, "AWS::Lambda::EventSourceMapping").values()
                if m["Properties"].get("FunctionName") == {"Ref": replicators[0]}]
    assert [m["Properties"]["EventSourceArn"] for m in mappings] == [{"Fn::GetAtt": [queue_id, "Arn"]}]

    # The version map is the table the replicator records into.
    assert replicator["REPLICATION_TABLE_NAME"]["Ref"] in _resources(template, "AWS::DynamoDB::Table")

    # An EventBridge rule for this bucket and prefix targets the router.
    rules = [r for r in _resources(template, "AWS::Events::Rule").values()
             if r["Properties"].get("EventPattern", {}).get("source") == ["aws.s3"]
             and r["Properties"]["EventPattern"].get("detail", {}).get("bucket", {}).get("name") == [{"Ref": bucket_id}]
             and r["Properties"]["EventPattern"]["detail"].get("object", {}).get("key") == [{"prefix": "reports/"}]]
    assert len(rules) == 1, json.dumps(_resources(template, "AWS::Events::Rule"))[:3000]
    assert [t["Arn"] for t in rules[0]["Properties"]["Targets"]] == [{"Fn::GetAtt": [routers[0], "Arn"]}]


def test_example_destination_user_puts_under_reports_and_never_reads(example: Dict[str, Any]) -> None:
    template = example[EXAMPLE_DESTINATION_STACK]
    buckets = _resources(template, "AWS::S3::Bucket")
    bucket_ids = [k for k, v in buckets.items() if v.get("Properties", {}).get("BucketName") == "reports-replica"]
    assert len(bucket_ids) == 1, sorted(buckets)
    users = list(_resources(template, "AWS::IAM::User"))
    assert len(users) == 1, users
    keys = _resources(template, "AWS::IAM::AccessKey").values()
    assert [k["Properties"]["UserName"] for k in keys] == [{"Ref": users[0]}]

    policies = list(_resources(template, "AWS::IAM::Policy").values())
    user_statements = [st for p in policies if p["Properties"].get("Users") == [{"Ref": users[0]}]
                       for st in p["Properties"]["PolicyDocument"]["Statement"]]
    objects = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_ids[0], "Arn"]}, "/reports/*"]]}
    puts = [st for st in user_statements if st["Effect"] == "Allow" and "s3:PutObject" in _as_list(st["Action"])]
    assert puts, f"no statement allows the user s3:PutObject: {json.dumps(user_statements)}"
    assert all(_as_list(st["Resource"]) == [objects] for st in puts), json.dumps(puts)

    # No statement in the destination stack allows reading objects (nor an s3 or global wildcard).
    allowed = [a for p in policies for st in p["Properties"]["PolicyDocument"]["Statement"]
               if st["Effect"] == "Allow" for a in _as_list(st["Action"])]
    assert not [a for a in allowed if a in ("*", "s3:*", "s3:Get*") or a.startswith("s3:GetObject")], allowed
