"""The templates of a small Python CDK app using the package: a commercial -> GovCloud and a China ->
commercial source stack (pipeline, runtime, scope, partitions), and the destination partition's stack
(the least-privilege identity and its credentials secret)."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List

from consumer_support import CHINA_STACK, DESTINATION_STACK, GOV_STACK, env_vars, replicator_function
from consumer_support import resources, walk


def test_source_bucket_is_versioned_with_eventbridge_notifications(synthesized: Dict[str, Any]) -> None:
    template = synthesized[GOV_STACK]
    buckets = resources(template, "AWS::S3::Bucket")
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
        for r in resources(template, "Custom::S3BucketNotifications").values()
        if r["Properties"].get("BucketName") == {"Ref": bucket_id}
        and "EventBridgeConfiguration" in r["Properties"].get("NotificationConfiguration", {})
    ]
    assert inline.get("EventBridgeEnabled") is True or len(via_custom_resource) == 1, (
        f"bucket {bucket_id} does not send events to EventBridge"
    )


def test_queue_is_fifo(synthesized: Dict[str, Any]) -> None:
    queues = resources(synthesized[GOV_STACK], "AWS::SQS::Queue")
    fifo = [q for q in queues.values() if q.get("Properties", {}).get("FifoQueue") is True]
    assert fifo, f"no FIFO queue among {list(queues)}"


def test_router_replicator_and_backfill_run_on_nodejs22(synthesized: Dict[str, Any]) -> None:
    functions = resources(synthesized[GOV_STACK], "AWS::Lambda::Function")
    node22 = {k: v for k, v in functions.items() if v["Properties"].get("Runtime") == "nodejs22.x"}
    assert len(node22) == 3, f"expected the router, the replicator and the backfill on nodejs22.x, found {list(node22)}"
    # The replicator and the backfill (for reconcile runs) know the destination; all three feed the
    # queue (the replicator with continuations of large copies); the router never sees the destination.
    with_destination = [k for k, v in node22.items() if "DESTINATION_REGION" in env_vars(v)]
    with_queue = [k for k, v in node22.items() if "REPLICATION_QUEUE_URL" in env_vars(v)]
    with_backfill_queue = [k for k, v in node22.items() if "BACKFILL_QUEUE_URL" in env_vars(v)]
    router = [k for k in with_queue if k not in with_destination]
    replicator = [k for k in with_destination if k not in with_backfill_queue]
    assert len(with_destination) == 2, with_destination
    assert len(with_queue) == 3 and len(router) == 1, (with_queue, with_destination)
    assert len(with_backfill_queue) == 1 and with_backfill_queue[0] in with_destination
    assert len(replicator) == 1 and env_vars(node22[replicator[0]])["MAX_RECEIVE_COUNT"] == "5"
    assert replicator_function(synthesized[GOV_STACK])["Properties"]["Runtime"] == "nodejs22.x"


def test_replicator_targets_govcloud(synthesized: Dict[str, Any]) -> None:
    variables = env_vars(replicator_function(synthesized[GOV_STACK]))
    assert variables["DESTINATION_REGION"] == "us-gov-west-1"
    assert variables["DESTINATION_PARTITION"] == "aws-us-gov"
    assert variables["DESTINATION_BUCKET_NAME"] == "replica-bucket"
    assert variables["REPLICATE_VERSION_DELETES"] == "false"
    assert json.loads(variables["REPLICATION_SCOPE"]) == {"prefixes": ["data/"]}


def test_events_rule_filters_the_prefix(synthesized: Dict[str, Any]) -> None:
    rules = resources(synthesized[GOV_STACK], "AWS::Events::Rule")
    assert rules, "no AWS::Events::Rule in the template"
    filtering = [
        k
        for k, v in rules.items()
        if any(node == {"prefix": "data/"} for node in walk(v.get("Properties", {}).get("EventPattern", {})))
    ]
    assert filtering, f"no rule's EventPattern filters prefix 'data/': {json.dumps(rules, indent=1)[:3000]}"


def test_china_stack_uses_no_commercial_partition_literal(synthesized: Dict[str, Any]) -> None:
    template = synthesized[CHINA_STACK]
    text = synthesized[f"{CHINA_STACK}:text"]
    assert resources(template, "AWS::S3::Bucket"), "the China stack has no bucket"
    offending = [m.start() for m in re.finditer(re.escape("arn:aws:"), text)]
    assert not offending, f"'arn:aws:' literal in the cn-north-1 template: {[text[max(0, i - 80):i + 80] for i in offending[:3]]}"
    variables = env_vars(replicator_function(template))
    assert variables["DESTINATION_REGION"] == "us-east-1"
    assert variables["DESTINATION_PARTITION"] == "aws"


def test_destination_identity_writes_only_under_the_prefix_through_its_role(synthesized: Dict[str, Any]) -> None:
    template = synthesized[DESTINATION_STACK]
    policies = resources(template, "AWS::IAM::Policy")
    roles = resources(template, "AWS::IAM::Role")
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
    secrets = resources(template, "AWS::SecretsManager::Secret")
    assert len(secrets) == 1
    secret_string = json.dumps(next(iter(secrets.values()))["Properties"]["SecretString"])
    for field in ("user", "accesskey", "secretaccesskey", "partition", "accountid", "rolearn", "externalid"):
        assert f'\\"{field}\\"' in secret_string, f"{field} missing from the secret shape: {secret_string}"
    assert "SecretAccessKey" in secret_string, "the secret key must come from the AccessKey resource (Fn::GetAtt)"
    assert "arn:aws:" not in synthesized[f"{DESTINATION_STACK}:text"]


def test_alarms_notify_the_topic_and_metric_methods_work_from_python(synthesized: Dict[str, Any]) -> None:
    template = synthesized[GOV_STACK]
    (topic_id,) = resources(template, "AWS::SNS::Topic").keys()
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    notifying = [a for a in alarms.values() if a["Properties"].get("AlarmActions") == [{"Ref": topic_id}]]
    assert len(notifying) == 11, f"expected the construct's 11 alarms to notify {topic_id}"
    assert all(a["Properties"].get("OKActions") == [{"Ref": topic_id}] for a in notifying)
    stricter = [a["Properties"] for k, a in alarms.items() if k.startswith("StricterLatency")]
    assert len(stricter) == 1
    assert stricter[0]["Namespace"] == "PartitionReplicatedBucket"
    assert stricter[0]["MetricName"] == "ReplicationLatency"
    assert stricter[0]["ExtendedStatistic"] == "p99"
    assert {d["Name"] for d in stricter[0]["Dimensions"]} == {"service", "SourceBucket", "DestinationBucket", "DestinationPartition"}


def test_replicator_concurrency_is_bounded(synthesized: Dict[str, Any]) -> None:
    mappings = resources(synthesized[GOV_STACK], "AWS::Lambda::EventSourceMapping")
    bounded = [m for m in mappings.values() if m["Properties"].get("ScalingConfig") == {"MaximumConcurrency": 50}]
    assert len(bounded) == 1, json.dumps(mappings, indent=1)[:2000]
