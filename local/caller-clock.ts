/**
 * The `Date` a local server answers with: the caller's own clock. A scenario moves the local cloud's clock (a day
 * passes in a second), and the functions read the moved clock while the servers run on the machine's. The SDK
 * takes a `Date` more than four minutes from its own as clock skew: it corrects its offset and retries the call
 * whatever the error was, up to its attempt budget, so a ConditionalCheckFailed that the caller expects and
 * handles at once came back ten times, with backoff, and a function took tens of seconds. In AWS the servers'
 * clocks and Lambda's agree; here each answer carries the time of the caller's signature (`x-amz-date`, the
 * clock it signed with) plus the time the request took, so no caller, moved or not, sees a skew that is not
 * there. An unsigned request gets the machine's time, as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The caller's clock minus the machine's, from a signed request's `x-amz-date` (1 s resolution), or 0. */
export function callerOffsetMs(req: Pick<IncomingMessage, 'headers'>, receivedAt = Date.now()): number {
  const header = req.headers['x-amz-date'];
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? AMZ_DATE.exec(value) : null;
  if (!m) return 0;
  const signedAt = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  // Within a second or so the caller's clock is the machine's: no offset (signing happened just before).
  const offset = signedAt - receivedAt;
  return Math.abs(offset) < 60_000 ? 0 : offset;
}

/** Sets the answer's `Date` header to the caller's clock (see the module's comment). */
export function answerInCallerClock(req: Pick<IncomingMessage, 'headers'>, res: ServerResponse): void {
  const date = callerDateHeader(req);
  if (date) res.setHeader('date', date);
}

/** The `Date` header value in the caller's clock, or undefined when the caller's clock is the machine's. */
export function callerDateHeader(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const offset = callerOffsetMs(req);
  return offset === 0 ? undefined : new Date(Date.now() + offset).toUTCString();
}
