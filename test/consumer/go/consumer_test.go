package consumer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	replication "github.com/cdk-partition-replicated-bucket/cdk-partition-replicated-bucket-go/cdkpartitionreplicatedbucket"
)

// The documented floor (.projenrc.ts cdkVersion / constructsVersion): what this module must build with.
const (
	floorAwsCdkGo     = "v2.189.1"
	floorConstructsGo = "v10.4.2"
	libraryModule     = "github.com/cdk-partition-replicated-bucket/cdk-partition-replicated-bucket-go/cdkpartitionreplicatedbucket"
	// The Lambda runtime the library pins (awscdk.LambdaRuntime.NODEJS_22_X in .projenrc.ts).
	pinnedRuntime = "nodejs22.x"
)

type template struct {
	Resources map[string]resource `json:"Resources"`
}

type resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

// The synthesized templates, by stack id; filled once by TestMain.
var templates = map[string]template{}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The jsii kernel (a node child process) serves every call; close it however the tests end.
	defer jsii.Close()
	outdir, err := os.MkdirTemp("", "go-consumer-cdk.out-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(outdir)

	NewExampleApp(outdir).Synth(nil)
	for _, stack := range []string{DestinationStackID, SourceStackID} {
		path := filepath.Join(outdir, stack+".template.json")
		data, err := os.ReadFile(path)
		if err != nil {
			entries, _ := os.ReadDir(outdir)
			names := []string{}
			for _, e := range entries {
				names = append(names, e.Name())
			}
			fmt.Fprintf(os.Stderr, "%s not synthesized (%v); the cloud assembly holds %v\n", path, err, names)
			return 1
		}
		var t template
		if err := json.Unmarshal(data, &t); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			return 1
		}
		templates[stack] = t
	}
	return m.Run()
}

// --- helpers -------------------------------------------------------------------------------------

func resources(t *testing.T, stack, typ string) map[string]resource {
	t.Helper()
	found := map[string]resource{}
	for id, r := range templates[stack].Resources {
		if r.Type == typ {
			found[id] = r
		}
	}
	return found
}

func only(t *testing.T, what string, found map[string]resource) (string, resource) {
	t.Helper()
	if len(found) != 1 {
		t.Fatalf("expected exactly one %s, found %d: %v", what, len(found), ids(found))
	}
	for id, r := range found {
		return id, r
	}
	panic("unreachable")
}

func ids(found map[string]resource) []string {
	out := make([]string, 0, len(found))
	for id := range found {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func envVars(r resource) map[string]any {
	env, _ := r.Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	return vars
}

func asList(v any) []any {
	if list, ok := v.([]any); ok {
		return list
	}
	return []any{v}
}

func toJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

func ref(id string) map[string]any { return map[string]any{"Ref": id} }

func equalJSON(a, b any) bool { return toJSON(a) == toJSON(b) }

type statement struct {
	Effect   string
	Actions  []string
	Resource any
}

func statements(r resource) []statement {
	doc, _ := r.Properties["PolicyDocument"].(map[string]any)
	var out []statement
	for _, raw := range asList(doc["Statement"]) {
		st, _ := raw.(map[string]any)
		s := statement{Effect: fmt.Sprint(st["Effect"]), Resource: st["Resource"]}
		for _, a := range asList(st["Action"]) {
			s.Actions = append(s.Actions, fmt.Sprint(a))
		}
		out = append(out, s)
	}
	return out
}

func (s statement) allows(action string) bool {
	if s.Effect != "Allow" {
		return false
	}
	for _, a := range s.Actions {
		if a == action || a == "s3:*" || a == "*" || a == "s3:Get*" || a == "s3:GetObject*" {
			return true
		}
	}
	return false
}

// --- tests ---------------------------------------------------------------------------------------

// The module graph this test binary was built from (`go list -m`, the versions the build selected;
// test binaries carry no dependency build info): the floor, not whatever a newer requirement pulled in.
func TestBuiltAgainstTheFloor(t *testing.T) {
	type module struct {
		Path, Version string
		Replace       *struct{ Path, Version string }
	}
	selected := map[string]module{}
	cmd := exec.Command("go", "list", "-m", "-json", "all")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m all: %v", err)
	}
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var m module
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("go list -m -json output: %v", err)
		}
		selected[m.Path] = m
	}
	for path, want := range map[string]string{
		"github.com/aws/aws-cdk-go/awscdk/v2":         floorAwsCdkGo,
		"github.com/aws/constructs-go/constructs/v10": floorConstructsGo,
	} {
		m, ok := selected[path]
		if !ok || m.Version != want || m.Replace != nil {
			t.Errorf("%s: selected %+v, the floor is %s", path, m, want)
		}
	}
	lib := selected[libraryModule]
	if lib.Replace == nil || !strings.HasSuffix(filepath.ToSlash(lib.Replace.Path), "dist-consumer/go/cdkpartitionreplicatedbucket") {
		t.Errorf("%s must come from the jsii-pacmak output in dist-consumer/go, got %+v", libraryModule, lib)
	}
}

func TestSourceHasTheFifoReplicationQueue(t *testing.T) {
	queues := resources(t, SourceStackID, "AWS::SQS::Queue")
	fifo := map[string]resource{}
	for id, q := range queues {
		if q.Properties["FifoQueue"] == true && q.Properties["RedrivePolicy"] != nil {
			fifo[id] = q
		}
	}
	_, queue := only(t, "FIFO queue with a dead-letter queue (the replication queue)", fifo)
	if queue.Properties["DeduplicationScope"] != "messageGroup" || queue.Properties["FifoThroughputLimit"] != "perMessageGroupId" {
		t.Errorf("the replication queue is not high-throughput FIFO per message group: %s", toJSON(queue.Properties))
	}
}

func TestSourceHasTheVersionTable(t *testing.T) {
	_, table := only(t, "DynamoDB table (the version map)", resources(t, SourceStackID, "AWS::DynamoDB::Table"))
	keys := map[string]string{}
	for _, k := range asList(table.Properties["KeySchema"]) {
		key, _ := k.(map[string]any)
		keys[fmt.Sprint(key["KeyType"])] = fmt.Sprint(key["AttributeName"])
	}
	if keys["HASH"] != "pk" || keys["RANGE"] != "sk" {
		t.Errorf("version map keys: want pk/sk, got %v", keys)
	}
	if table.Properties["BillingMode"] != "PAY_PER_REQUEST" {
		t.Errorf("version map billing mode: %v", table.Properties["BillingMode"])
	}
}

func TestRouterAndReplicatorRunOnThePinnedRuntime(t *testing.T) {
	functions := resources(t, SourceStackID, "AWS::Lambda::Function")
	routers, replicators := map[string]resource{}, map[string]resource{}
	for id, f := range functions {
		vars := envVars(f)
		if _, ok := vars["REPLICATE_TAGS"]; ok {
			replicators[id] = f // the replicator alone has the write options
		} else if _, queue := vars["REPLICATION_QUEUE_URL"]; queue && vars["DESTINATION_REGION"] == nil {
			routers[id] = f // the router feeds the queue and never sees the destination
		}
	}
	_, router := only(t, "router function", routers)
	_, replicator := only(t, "replicator function", replicators)
	for name, f := range map[string]resource{"router": router, "replicator": replicator} {
		if f.Properties["Runtime"] != pinnedRuntime {
			t.Errorf("%s runs on %v, want %s", name, f.Properties["Runtime"], pinnedRuntime)
		}
	}
	vars := envVars(replicator)
	if vars["DESTINATION_REGION"] != "us-gov-west-1" || vars["DESTINATION_PARTITION"] != "aws-us-gov" || vars["DESTINATION_BUCKET_NAME"] != ReplicaBucketName {
		t.Errorf("replicator destination: %s", toJSON(vars))
	}
}

func TestEventBridgeRuleMatchesTheBucketAndPrefix(t *testing.T) {
	versioned := map[string]resource{}
	for id, b := range resources(t, SourceStackID, "AWS::S3::Bucket") {
		if v, _ := b.Properties["VersioningConfiguration"].(map[string]any); v["Status"] == "Enabled" {
			versioned[id] = b
		}
	}
	bucketID, _ := only(t, "versioned source bucket", versioned)

	matching := map[string]resource{}
	for id, r := range resources(t, SourceStackID, "AWS::Events::Rule") {
		pattern, _ := r.Properties["EventPattern"].(map[string]any)
		detail, _ := pattern["detail"].(map[string]any)
		bucket, _ := detail["bucket"].(map[string]any)
		object, _ := detail["object"].(map[string]any)
		if equalJSON(pattern["source"], []string{"aws.s3"}) &&
			equalJSON(bucket["name"], []any{ref(bucketID)}) &&
			equalJSON(object["key"], []any{map[string]string{"prefix": ReplicatedPrefix}}) {
			matching[id] = r
		}
	}
	_, rule := only(t, fmt.Sprintf("rule matching aws.s3 events of bucket %s under %s", bucketID, ReplicatedPrefix), matching)
	if !strings.Contains(toJSON(rule.Properties["Targets"]), "Router") {
		t.Errorf("the rule does not target the router: %s", toJSON(rule.Properties["Targets"]))
	}
}

func TestDestinationUserMayPutUnderThePrefixAndNotRead(t *testing.T) {
	userID, _ := only(t, "IAM user", resources(t, DestinationStackID, "AWS::IAM::User"))
	bucketID, _ := only(t, "replica bucket", resources(t, DestinationStackID, "AWS::S3::Bucket"))
	objectsUnderPrefix := map[string]any{"Fn::Join": []any{"", []any{
		map[string]any{"Fn::GetAtt": []any{bucketID, "Arn"}}, "/" + ReplicatedPrefix + "*",
	}}}

	put := false
	for id, p := range resources(t, DestinationStackID, "AWS::IAM::Policy") {
		for _, st := range statements(p) {
			if st.allows("s3:GetObject") {
				t.Errorf("policy %s allows s3:GetObject: %s", id, toJSON(st))
			}
			users := asList(p.Properties["Users"])
			if st.allows("s3:PutObject") && len(users) == 1 && equalJSON(users[0], ref(userID)) {
				for _, res := range asList(st.Resource) {
					if equalJSON(res, objectsUnderPrefix) {
						put = true
					} else {
						t.Errorf("policy %s allows s3:PutObject on %s, beyond the replica bucket's %s objects", id, toJSON(res), ReplicatedPrefix)
					}
				}
			}
		}
	}
	if !put {
		t.Errorf("no policy of user %s allows s3:PutObject on %s", userID, toJSON(objectsUnderPrefix))
	}
	_, key := only(t, "access key", resources(t, DestinationStackID, "AWS::IAM::AccessKey"))
	if !equalJSON(key.Properties["UserName"], ref(userID)) {
		t.Errorf("the access key is not the writer's: %s", toJSON(key.Properties))
	}
}

// A bad prop fails at synth time as a Go panic (a jsii error) that names the prop.
func TestInvalidDestinationRegionPanicsNamingTheProp(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := awscdk.NewStack(app, jsii.String("Invalid"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("us-east-1")},
	})
	recovered := func() (r any) {
		defer func() { r = recover() }()
		replication.NewPartitionReplicatedBucket(stack, jsii.String("Replicated"), &replication.PartitionReplicatedBucketProps{
			DestinationBucketName: jsii.String(ReplicaBucketName),
			DestinationRegion:     jsii.String("not-a-region"),
		})
		return nil
	}()
	if recovered == nil {
		t.Fatal("constructing with DestinationRegion \"not-a-region\" did not fail")
	}
	if msg := fmt.Sprint(recovered); !strings.Contains(msg, "destinationRegion") {
		t.Errorf("the error does not name destinationRegion: %s", msg)
	}
}
