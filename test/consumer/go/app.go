// Package consumer is the Go consumer test of cdk-partition-replicated-bucket: the README's example
// app (examples/typescript/app.ts), written as a Go CDK user writes it, against the Go module that
// jsii-pacmak generates into dist-consumer/go (see the replace directive in go.mod) and the
// aws-cdk-go and constructs-go versions of the documented floor.
package consumer

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	replication "github.com/cdk-partition-replicated-bucket/cdk-partition-replicated-bucket-go/cdkpartitionreplicatedbucket"
)

// Stack ids are also the artifact ids, so the templates are <outdir>/<id>.template.json.
const (
	DestinationStackID = "Replicas"
	SourceStackID      = "Reports"
	ReplicaBucketName  = "reports-replica"
	ReplicatedPrefix   = "reports/"
)

// NewExampleApp builds the README's example app, synthesizing into outdir.
func NewExampleApp(outdir string) awscdk.App {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})

	// Destination partition (aws-us-gov): the bucket and the identity that may write into it.
	destination := awscdk.NewStack(app, jsii.String(DestinationStackID), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("us-gov-west-1")},
	})
	replicas := awss3.NewBucket(destination, jsii.String("Bucket"), &awss3.BucketProps{
		BucketName: jsii.String(ReplicaBucketName),
		Versioned:  jsii.Bool(true),
		EnforceSSL: jsii.Bool(true),
		// Backstop for large copies whose upload was never completed or aborted.
		LifecycleRules: &[]*awss3.LifecycleRule{{AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7))}},
	})
	replication.NewDestinationReplicationUser(destination, jsii.String("Writer"), &replication.DestinationReplicationUserProps{
		Bucket:          replicas,
		Prefixes:        jsii.Strings(ReplicatedPrefix), // the same prefixes as the source construct
		CreateAccessKey: jsii.Bool(true),
	})

	// Source partition (aws): the replicated bucket.
	source := awscdk.NewStack(app, jsii.String(SourceStackID), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("us-east-1")},
	})
	replication.NewPartitionReplicatedBucket(source, jsii.String("Reports"), &replication.PartitionReplicatedBucketProps{
		DestinationBucketName: jsii.String(ReplicaBucketName),
		DestinationRegion:     jsii.String("us-gov-west-1"),
		Prefixes:              jsii.Strings(ReplicatedPrefix),
	})
	return app
}
