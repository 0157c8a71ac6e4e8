"""The README's example app in Python: a destination stack and a source stack in one CDK app.

The Python consumer test synthesizes it with the jsii-built wheel, so it cannot drift from the README.
"""

from aws_cdk import App, Duration, Environment, Stack, aws_s3 as s3
from cdk_partition_replicated_bucket import DestinationReplicationUser, PartitionReplicatedBucket

app = App()

# Destination partition (aws-us-gov): the bucket and the identity that may write into it.
destination = Stack(app, "Replicas", env=Environment(account="222222222222", region="us-gov-west-1"))
replicas = s3.Bucket(
    destination,
    "Bucket",
    bucket_name="reports-replica",
    versioned=True,
    enforce_ssl=True,
    # Backstop for large copies whose upload was never completed or aborted (see Large objects).
    lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7))],
)
DestinationReplicationUser(
    destination,
    "Writer",
    bucket=replicas,
    prefixes=["reports/"],  # the same prefixes as the source construct
    create_access_key=True,  # the key, ready to copy, in the writer's access_key_secret
)

# Source partition (aws): the replicated bucket.
source = Stack(app, "Reports", env=Environment(account="111111111111", region="us-east-1"))
PartitionReplicatedBucket(
    source,
    "Reports",
    destination_bucket_name="reports-replica",
    destination_region="us-gov-west-1",
    prefixes=["reports/"],
)

app.synth()
