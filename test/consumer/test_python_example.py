"""The README's example app (examples/python/app.py), synthesized unchanged as `cdk synth` runs it:
the source stack's pipeline, version map and rule, and the destination user's least privilege."""

from __future__ import annotations

import json
from typing import Any, Dict

from consumer_support import EXAMPLE_DESTINATION_STACK, EXAMPLE_SOURCE_STACK, as_list, env_vars, resources


def test_example_source_stack_has_the_fifo_pipeline_version_map_and_rule(example: Dict[str, Any]) -> None:
    template = example[EXAMPLE_SOURCE_STACK]
    buckets = resources(template, "AWS::S3::Bucket")
    versioned = [k for k, v in buckets.items()
                 if v.get("Properties", {}).get("VersioningConfiguration", {}).get("Status") == "Enabled"]
    assert len(versioned) == 1, f"expected one versioned source bucket among {sorted(buckets)}"
    bucket_id = versioned[0]

    functions = resources(template, "AWS::Lambda::Function")
    ours = {k: v for k, v in functions.items() if "SOURCE_BUCKET_NAME" in env_vars(v)}
    assert {v["Properties"]["Runtime"] for v in ours.values()} == {"nodejs22.x"}, ours.keys()
    replicators = [k for k, v in ours.items() if "REPLICATE_TAGS" in env_vars(v)]
    routers = [k for k, v in ours.items()
               if "REPLICATION_QUEUE_URL" in env_vars(v) and "DESTINATION_REGION" not in env_vars(v)]
    assert len(replicators) == 1 and len(routers) == 1, (replicators, routers)
    replicator = env_vars(ours[replicators[0]])
    router = env_vars(ours[routers[0]])
    assert replicator["DESTINATION_BUCKET_NAME"] == "reports-replica"
    assert replicator["DESTINATION_REGION"] == "us-gov-west-1"
    assert replicator["DESTINATION_PARTITION"] == "aws-us-gov"
    assert json.loads(replicator["REPLICATION_SCOPE"]) == {"prefixes": ["reports/"]}

    # The router feeds the FIFO replication queue that the replicator consumes.
    queues = resources(template, "AWS::SQS::Queue")
    queue_id = router["REPLICATION_QUEUE_URL"]["Ref"]
    assert queues[queue_id]["Properties"].get("FifoQueue") is True, f"{queue_id} is not a FIFO queue"
    mappings = [m for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
                if m["Properties"].get("FunctionName") == {"Ref": replicators[0]}]
    assert [m["Properties"]["EventSourceArn"] for m in mappings] == [{"Fn::GetAtt": [queue_id, "Arn"]}]

    # The version map is the table the replicator records into.
    assert replicator["REPLICATION_TABLE_NAME"]["Ref"] in resources(template, "AWS::DynamoDB::Table")

    # An EventBridge rule for this bucket and prefix targets the router.
    rules = [r for r in resources(template, "AWS::Events::Rule").values()
             if r["Properties"].get("EventPattern", {}).get("source") == ["aws.s3"]
             and r["Properties"]["EventPattern"].get("detail", {}).get("bucket", {}).get("name") == [{"Ref": bucket_id}]
             and r["Properties"]["EventPattern"]["detail"].get("object", {}).get("key") == [{"prefix": "reports/"}]]
    assert len(rules) == 1, json.dumps(resources(template, "AWS::Events::Rule"))[:3000]
    assert [t["Arn"] for t in rules[0]["Properties"]["Targets"]] == [{"Fn::GetAtt": [routers[0], "Arn"]}]


def test_example_destination_user_puts_under_reports_and_never_reads(example: Dict[str, Any]) -> None:
    template = example[EXAMPLE_DESTINATION_STACK]
    buckets = resources(template, "AWS::S3::Bucket")
    bucket_ids = [k for k, v in buckets.items() if v.get("Properties", {}).get("BucketName") == "reports-replica"]
    assert len(bucket_ids) == 1, sorted(buckets)
    users = list(resources(template, "AWS::IAM::User"))
    assert len(users) == 1, users
    keys = resources(template, "AWS::IAM::AccessKey").values()
    assert [k["Properties"]["UserName"] for k in keys] == [{"Ref": users[0]}]

    policies = list(resources(template, "AWS::IAM::Policy").values())
    user_statements = [st for p in policies if p["Properties"].get("Users") == [{"Ref": users[0]}]
                       for st in p["Properties"]["PolicyDocument"]["Statement"]]
    objects = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_ids[0], "Arn"]}, "/reports/*"]]}
    puts = [st for st in user_statements if st["Effect"] == "Allow" and "s3:PutObject" in as_list(st["Action"])]
    assert puts, f"no statement allows the user s3:PutObject: {json.dumps(user_statements)}"
    assert all(as_list(st["Resource"]) == [objects] for st in puts), json.dumps(puts)

    # No statement in the destination stack allows reading objects (nor an s3 or global wildcard).
    allowed = [a for p in policies for st in p["Properties"]["PolicyDocument"]["Statement"]
               if st["Effect"] == "Allow" for a in as_list(st["Action"])]
    assert not [a for a in allowed if a in ("*", "s3:*", "s3:Get*") or a.startswith("s3:GetObject")], allowed
