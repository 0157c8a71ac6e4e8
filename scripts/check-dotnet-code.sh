#!/usr/bin/env bash
# Checks the C# code that `jsii-pacmak --targets dotnet --code-only` generated into
# dist-consumer/dotnet (no .NET SDK needed, so nothing here is compiled): the project references
# Amazon.CDK.Lib and Constructs from the floors in package.json (the devDependency pins projen
# derives from cdkVersion and constructsVersion), the public constructs are generated, and no source
# uses constructs 10.5's IMixin (`Construct.With`), which the Constructs 10.4 NuGet package lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=dist-consumer/dotnet/CdkPartitionReplicatedBucket
csproj=$dir/CdkPartitionReplicatedBucket.csproj
fail() { echo "check-dotnet-code: FAIL: $*" >&2; exit 1; }

cdk=$(node -p "require('./package.json').devDependencies['aws-cdk-lib']")
constructs=$(node -p "require('./package.json').devDependencies.constructs")

[ -f "$csproj" ] || fail "$csproj missing: run jsii-pacmak --targets dotnet --code-only --outdir dist-consumer"
for ref in "Amazon.CDK.Lib\" Version=\"[$cdk,3.0.0)" "Constructs\" Version=\"[$constructs,11.0.0)"; do
  grep -qF "<PackageReference Include=\"$ref\" />" "$csproj" \
    || fail "$csproj has no PackageReference $ref; it has: $(grep PackageReference "$csproj" | tr -s ' ')"
done
for type in PartitionReplicatedBucket DestinationReplicationUser; do
  grep -qE "public class $type : Constructs\.Construct\b" "$dir/CdkPartitionReplicatedBucket/$type.cs" \
    || fail "$type is not generated as a Constructs.Construct in $dir/CdkPartitionReplicatedBucket/$type.cs"
  [ -f "$dir/CdkPartitionReplicatedBucket/${type}Props.cs" ] || fail "${type}Props.cs not generated"
done
tarball=$(grep -oE 'JsiiAssembly\("[^"]+", "[^"]+", "[^"]+"' "$dir/AssemblyInfo.cs" | cut -d'"' -f6)
[ -n "$tarball" ] && [ -s "$dir/$tarball" ] || fail "the embedded jsii tarball ($tarball) named in AssemblyInfo.cs is missing"
# Code only: XML doc comments (`///`) carry the README, which may name IMixin in prose.
if grep -rnE '\bIMixin\b|\.With\(' --include='*.cs' "$dir" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*///'; then
  fail "generated C# uses constructs 10.5 APIs (IMixin / Construct.With), which Constructs $constructs lacks"
fi
echo "check-dotnet-code: OK: $(find "$dir" -name '*.cs' | wc -l) C# files; Amazon.CDK.Lib [$cdk,3.0.0), Constructs [$constructs,11.0.0); no IMixin"
