/**
 * A stand-in for STS `GetCallerIdentity` (awsQuery: a form POST answered with XML), for tests that spawn the
 * CLI: the local cloud has no STS, and the CLI names the caller of every hold change by its ARN. Point the
 * SDK at it with `AWS_ENDPOINT_URL_STS` (the SDK's per-service endpoint variable).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StsStub {
  readonly url: string;
  /** The ARN it answers with; change it to act as another caller. */
  arn: string;
  /** How many GetCallerIdentity calls it answered. */
  readonly calls: () => number;
  close(): Promise<void>;
}

/** Starts the stub on a random 127.0.0.1 port, answering as `arn` in account `account`. */
export async function startStsStub(arn: string, account = '123456789012'): Promise<StsStub> {
  let calls = 0;
  const stub: { arn: string } = { arn };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      if (new URLSearchParams(body).get('Action') !== 'GetCallerIdentity') {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>only GetCallerIdentity</Message></Error></ErrorResponse>',
        );
        return;
      }
      calls++;
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${stub.arn}</Arn><UserId>AIDATEST</UserId><Account>${account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get arn() {
      return stub.arn;
    },
    set arn(value: string) {
      stub.arn = value;
    },
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
