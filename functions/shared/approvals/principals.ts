/**
 * Who a signed caller is, for the approvals: matching an ARN against the config's patterns, and telling
 * whether two callers are the same requester. Pure.
 */

/** `arn:aws:sts::<acct>:assumed-role/<role>/<session>` → its parts; anything else → undefined. */
function assumedRole(arn: string): { partition: string; account: string; role: string } | undefined {
  const m = /^arn:(aws(?:-[a-z]+)*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? { partition: m[1]!, account: m[2]!, role: m[3]! } : undefined;
}

/**
 * The ARNs a caller answers to: its own, and for an assumed-role session the role's ARN (IAM drops the role's
 * path from a session ARN, so a role pattern with a path matches the role only through its session-less ARN:
 * write approver roles without a path, or with a `*` for it).
 */
export function callerArns(arn: string): string[] {
  const session = assumedRole(arn);
  return session ? [arn, `arn:${session.partition}:iam::${session.account}:role/${session.role}`] : [arn];
}

const patternCache = new Map<string, RegExp>();

/** IAM's ArnLike: `*` matches any run of characters (slashes included), `?` one character; the rest literally. */
export function arnLike(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    const body = pattern
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`);
    patternCache.set(pattern, re);
  }
  return re;
}

/** The first of `patterns` the caller matches (a role pattern matches the role's sessions), or undefined. */
export function matchingPattern(callerArn: string, patterns: readonly string[]): string | undefined {
  const arns = callerArns(callerArn);
  return patterns.find((p) => arns.some((a) => arnLike(p).test(a)));
}

/**
 * The identity that separation of duties compares: a user's ARN, or for an assumed-role session its role's
 * ARN. Sessions of one role are one requester: assuming the role again under another session name does not
 * make someone else of the one who asked.
 */
export function dutyIdentity(arn: string): string {
  return callerArns(arn).at(-1)!;
}

/** True when `a` and `b` count as the same person for separation of duties. */
export function sameParty(a: string, b: string): boolean {
  return dutyIdentity(a) === dutyIdentity(b);
}
