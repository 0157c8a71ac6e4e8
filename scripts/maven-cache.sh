#!/usr/bin/env bash
# The Java consumer's Maven repository is per checkout (test/consumer/java/.m2: every checkout builds
# the library as 0.0.0, which Maven never fetches twice, so it must not come from another checkout).
# Its third-party artifacts (about 317 MB) need not be downloaded again for every fresh clone: this
# seeds the checkout's repository from Maven's usual one (~/.m2/repository) and, after a build,
# saves what was downloaded there. The library itself is never copied either way.
#   scripts/maven-cache.sh restore|save <checkout repository>
set -euo pipefail
action=$1
local_repo=$2
shared=${MAVEN_SHARED_REPOSITORY:-$HOME/.m2/repository}
library=io/github/cdk-partition-replicated-bucket

# Copies `from` into `to`: existing files are kept, the library is left out.
copy() {
  mkdir -p "$2"
  (cd "$1" && tar cf - --exclude="./$library" .) | (cd "$2" && tar xf - --skip-old-files)
}

case $action in
  restore) if [ -d "$shared" ]; then copy "$shared" "$local_repo"; fi ;;
  save) if [ -d "$local_repo" ]; then copy "$local_repo" "$shared"; fi ;;
  *) echo "usage: $0 restore|save <repository>" >&2; exit 2 ;;
esac
