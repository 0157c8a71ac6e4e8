import { Duration, Token } from 'aws-cdk-lib';
import type { DestinationReplicationUserProps } from '../destination-replication-user-props';
import { validateScope } from './props-validation';
import { ReplicationScope } from '../runtime/contract/replication-scope';

/** IAM user and role names: 1 to 64 characters of letters, digits and `+=,.@_-`. */
const IAM_NAME = /^[\w+=,.@-]+$/;
const MAX_IAM_NAME_LENGTH = 64;
/** IAM paths: `/`, or `/` + printable ASCII without spaces + `/`, at most 512 characters. */
const IAM_PATH = /^\/(?:[\x21-\x7e]+\/)?$/;
const MAX_PATH_LENGTH = 512;
/** STS external ids: 2 to 1,224 characters of letters, digits and `+=,.@:/_-`. */
const EXTERNAL_ID = /^[\w+=,.@:/-]+$/;
const MIN_EXTERNAL_ID_LENGTH = 2;
const MAX_EXTERNAL_ID_LENGTH = 1224;
/** The role session range IAM allows; the replicator asks for one-hour sessions. */
const MIN_SESSION = Duration.hours(1);
const MAX_SESSION = Duration.hours(12);

/** The props of a `DestinationReplicationUser` after validation and defaults. */
export interface DestinationUserSettings {
  readonly scope: ReplicationScope;
  readonly allowVersionDeletes: boolean;
  readonly createAccessKey: boolean;
  /** Undefined without `assumeRole`. */
  readonly maxSessionDuration?: Duration;
}

/** Validates the props at synth time; throws naming the prop and what to fix. Tokens are not checked. */
export function validateDestinationUser(props: DestinationReplicationUserProps): DestinationUserSettings {
  const fail = (message: string): never => {
    throw new Error(`DestinationReplicationUser: ${message}`);
  };

  const scope = validateScope(props.prefixes, 'the replication user\'s write access', fail);

  if (props.userName !== undefined) checkIamName(props.userName, 'userName', fail);

  if (props.path !== undefined && !Token.isUnresolved(props.path)) {
    if (props.path.length > MAX_PATH_LENGTH) {
      fail(`path is ${props.path.length} characters long; at most ${MAX_PATH_LENGTH} are allowed`);
    }
    if (!props.path.startsWith('/') || !props.path.endsWith('/')) {
      fail(`path "${props.path}" must start and end with a slash (/), for example "/replication/"`);
    }
    if (!IAM_PATH.test(props.path)) {
      fail(`path "${props.path}" may contain only printable ASCII characters other than spaces, with at least one between the slashes`);
    }
  }

  if (props.kmsKey !== undefined) {
    // IAM grants the use of a KMS key only through the key's own ARN, never through an alias ARN.
    if ('aliasName' in props.kmsKey) {
      fail('kmsKey is an alias; pass the key it points to (for example alias.aliasTargetKey): IAM grants the use of a key only by the key\'s ARN');
    }
    const keyArn = props.kmsKey.keyArn;
    if (!Token.isUnresolved(keyArn) && !/^arn:[a-z][a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(keyArn)) {
      fail(`kmsKey has the ARN "${keyArn}"; it must be a key ARN (arn:<partition>:kms:<region>:<account>:key/<key id>), ` +
        'not an alias ARN: IAM grants the use of a key only by the key\'s ARN');
    }
  }

  let maxSessionDuration: Duration | undefined;
  if (props.assumeRole !== undefined) {
    const { externalId, roleName } = props.assumeRole;
    if (!Token.isUnresolved(externalId)) {
      if (externalId.length < MIN_EXTERNAL_ID_LENGTH || externalId.length > MAX_EXTERNAL_ID_LENGTH) {
        fail(`assumeRole.externalId is ${externalId.length} characters long; it must be ${MIN_EXTERNAL_ID_LENGTH} to ${MAX_EXTERNAL_ID_LENGTH}`);
      }
      if (!EXTERNAL_ID.test(externalId)) {
        fail('assumeRole.externalId may contain only letters, digits and the characters + = , . @ : / _ -');
      }
    }
    if (roleName !== undefined) checkIamName(roleName, 'assumeRole.roleName', fail);
    maxSessionDuration = props.assumeRole.maxSessionDuration ?? MIN_SESSION;
    if (!maxSessionDuration.isUnresolved()) {
      const seconds = maxSessionDuration.toMilliseconds() / 1000;
      if (!Number.isInteger(seconds) || seconds < MIN_SESSION.toSeconds() || seconds > MAX_SESSION.toSeconds()) {
        fail(`assumeRole.maxSessionDuration is ${maxSessionDuration.toHumanString()}; it must be a whole number of seconds ` +
          'between 1 hour and 12 hours (the replicator asks for one-hour sessions)');
      }
    }
  }

  return {
    scope,
    allowVersionDeletes: props.allowVersionDeletes ?? false,
    createAccessKey: props.createAccessKey ?? false,
    maxSessionDuration,
  };
}

function checkIamName(name: string, prop: string, fail: (message: string) => never) {
  if (Token.isUnresolved(name)) return;
  if (name.length < 1 || name.length > MAX_IAM_NAME_LENGTH) {
    fail(`${prop} "${name}" must be 1 to ${MAX_IAM_NAME_LENGTH} characters long`);
  }
  if (!IAM_NAME.test(name)) {
    fail(`${prop} "${name}" may contain only letters, digits and the characters + = , . @ _ -`);
  }
}
