import { awscdk, Task } from 'projen';

/**
 * The consumer tests: the package built by jsii-pacmak (or packed by npm) and used the way a user of
 * each language installs it, at the aws-cdk-lib and constructs floors. In the order `test:all` runs them.
 */
export function addConsumerTests(project: awscdk.AwsCdkConstructLibrary): Task[] {
  const testPython = project.addTask('test:python', {
    description: 'Build the Python package with jsii-pacmak and synthesize a Python CDK app that uses it',
    steps: [
      { exec: 'bash scripts/setup-venv.sh test/emulated/emulators/requirements.txt test/consumer/requirements.txt' },
      { exec: 'rm -rf dist-consumer/python && jsii-pacmak --targets python --outdir dist-consumer' },
      { exec: '.venv/bin/python -m pytest -q test/consumer' },
    ],
  });

  // The Java consumer: jsii-pacmak's jar as a Maven user gets it (test/consumer/java/pom.xml pins
  // aws-cdk-lib and constructs at the floor above; the JUnit test asserts what is on the classpath).
  // Maven's local repository is repo-local: every checkout builds the library as version 0.0.0, a
  // release version Maven never fetches twice, so it must not share ~/.m2 with another checkout's
  // build. pacmak shares it too, so a warm run downloads nothing. Our jar is removed from it first,
  // and the test checks that the jar it loads is the one pacmak just built. The third-party
  // artifacts are seeded from ~/.m2/repository and saved back there (scripts/maven-cache.sh), so a
  // fresh clone does not download them again.
  const JAVA_CONSUMER = 'test/consumer/java';
  // Added here, not in `gitignore` above: projen's later `!/test/` would drop patterns under /test/.
  project.gitignore.exclude(`/${JAVA_CONSUMER}/.m2/`, `/${JAVA_CONSUMER}/target/`);
  const testJava = project.addTask('test:java', {
    description: 'Build the Java package with jsii-pacmak and synthesize a Java CDK app that uses it (Maven, JUnit 5)',
    steps: [
      { exec: `rm -rf dist-consumer/java ${JAVA_CONSUMER}/.m2/repository/io/github/cdk-partition-replicated-bucket` },
      { exec: `bash scripts/maven-cache.sh restore ${JAVA_CONSUMER}/.m2/repository` },
      { exec: `jsii-pacmak --targets java --outdir dist-consumer --maven-local-repository ${JAVA_CONSUMER}/.m2/repository` },
      { exec: 'mvn -B -ntp test -Dmaven.repo.local=.m2/repository', cwd: JAVA_CONSUMER },
      { exec: `bash scripts/maven-cache.sh save ${JAVA_CONSUMER}/.m2/repository` },
    ],
  });

  // Go: the module jsii-pacmak generates, used through a `replace` by test/consumer/go, a Go CDK app at
  // the floor (aws-cdk-go v2.189.1, constructs-go v10.4.2) that synthesizes the README example and
  // asserts on the templates. Code only: the consumer's `go test` is the compile, with its committed
  // go.sum. Go fetches modules from the Go module proxy into its own caches (GOMODCACHE, GOCACHE:
  // outside the repo). -count=1: a cached result would replay old output without synthesizing anything.
  const testGo = project.addTask('test:go', {
    description: 'Generate the Go module with jsii-pacmak and synthesize a Go CDK app that uses it (go test)',
    steps: [
      { exec: 'go version' },
      { exec: 'rm -rf dist-consumer/go && jsii-pacmak --targets go --code-only --outdir dist-consumer' },
      { exec: 'go test -v -count=1 ./...', cwd: 'test/consumer/go' },
    ],
  });

  // .NET: no SDK is needed (or assumed) to generate the C# code; nothing compiles it here. The check
  // fails if the project does not reference Amazon.CDK.Lib and Constructs at the floors or if the code
  // uses constructs 10.5's IMixin, the break that kept Go from linking at the floor.
  const dotnetCode = project.addTask('package:dotnet-code', {
    description: 'Generate the .NET code with jsii-pacmak (--code-only, no .NET SDK) and check its references',
    steps: [
      { exec: 'rm -rf dist-consumer/dotnet && jsii-pacmak --targets dotnet --code-only --outdir dist-consumer' },
      { exec: 'bash scripts/check-dotnet-code.sh' },
    ],
  });

  // npm pack is what jsii-pacmak's js target and `npm publish` ship; packing directly skips pacmak's
  // start-up. The test installs the tarball with the floor aws-cdk-lib and constructs outside the repo.
  const testTypescript = project.addTask('test:typescript', {
    description: 'Pack the npm tarball and type-check and synthesize the TypeScript example app with it at the floor',
    steps: [
      { exec: 'rm -rf dist-consumer/js && mkdir -p dist-consumer/js && npm pack --silent --pack-destination dist-consumer/js' },
      { exec: 'jest --config test/consumer/jest.config.json' },
    ],
  });

  return [testPython, testJava, testGo, dotnetCode, testTypescript];
}
