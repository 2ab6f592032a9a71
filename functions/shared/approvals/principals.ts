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
 * The ARNs a caller answers to: its own, and for an assumed-role session the role's ARN without its path (IAM
 * drops the role's path from a session ARN: `withoutRolePath` matches a pattern with a path by the role's exact
 * name).
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

/**
 * A role pattern's form without the role's path (`role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Ops_0a1b`
 * → `role/AWSReservedSSO_Ops_0a1b`): a session ARN carries the role's name but not its path, and a role name is
 * unique in its account whatever the path, so an exact name identifies the role. Only an exact name: with a
 * wildcard (`role/approvers/*`) the path is what the pattern restricts, and a session cannot show it, so the
 * pattern matches no session (the config refuses such a pattern: `rolePathWildcardProblem`).
 */
function withoutRolePath(pattern: string): string | undefined {
  const m = /^(arn:[^:]+:iam::[^:]+:role\/)(.+\/)([^/]+)$/.exec(pattern);
  return m && !/[*?]/.test(m[2]! + m[3]!) ? `${m[1]}${m[3]}` : undefined;
}

/**
 * Why a role pattern cannot be honoured for sessions, or undefined: one with a path and a wildcard (IAM drops
 * the path from session ARNs, so `role/approvers/*` could only be matched against a session by its name, and
 * that would be any role of the account).
 */
export function rolePathWildcardProblem(pattern: string): string | undefined {
  const m = /^arn:[^:]+:iam::[^:]+:role\/(.+)$/.exec(pattern);
  if (!m || !m[1]!.includes('/') || !/[*?]/.test(m[1]!)) return undefined;
  return (
    `${pattern}: a role pattern with a path must name the role exactly — a role's sessions ` +
    '(arn:aws:sts::…:assumed-role/<name>/<session>) do not carry its path, so the path cannot be checked; ' +
    'name each role (…:role/approvers/ops-admin) or match names without the path (…:role/ops-*)'
  );
}

/** The first of `patterns` the caller matches (a role pattern matches the role's sessions), or undefined. */
export function matchingPattern(callerArn: string, patterns: readonly string[]): string | undefined {
  const arns = callerArns(callerArn);
  const session = assumedRole(callerArn) !== undefined;
  return patterns.find((p) => {
    const short = session ? withoutRolePath(p) : undefined;
    return arns.some((a) => arnLike(p).test(a) || (short !== undefined && arnLike(short).test(a)));
  });
}

/**
 * The identity that separation of duties compares: a user's ARN, or for an assumed-role session its role's
 * ARN. Sessions of one role are one requester: assuming the role again under another session name does not
 * make someone else of the one who asked.
 */
export function dutyIdentity(arn: string): string {
  return callerArns(arn).at(-1)!;
}

/**
 * The person behind an ARN, where it names one: an IAM user's name, or the session name of an IAM Identity Center
 * role (`AWSReservedSSO_*`, whose session name Identity Center sets to the user's name and nobody else can choose).
 */
function personOf(arn: string): string | undefined {
  const session = /^arn:[^:]+:sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  if (session) return session[2]!.startsWith('AWSReservedSSO_') ? `${session[1]}:${session[3]}` : undefined;
  const user = /^arn:[^:]+:iam::(\d{12}):user\/(?:.*\/)?([^/]+)$/.exec(arn);
  return user ? `${user[1]}:${user[2]}` : undefined;
}

/**
 * True when `a` and `b` count as the same person for separation of duties: the same user or role (any session
 * of it), or one person by name — the same Identity Center user under two permission sets, or an IAM user and an
 * Identity Center session of the same name. A person who can assume an ordinary role under any session name is
 * told apart only by the role: keep requesters out of approver roles (README, "Approvals").
 */
export function sameParty(a: string, b: string): boolean {
  if (dutyIdentity(a) === dutyIdentity(b)) return true;
  const pa = personOf(a);
  return pa !== undefined && pa === personOf(b);
}
