import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCertificateBundle } from '../../functions/shared/signatures/notation.js';
import { checkCertificateBundle, parseSubjectPattern } from '../../functions/shared/signatures/pinned.js';
import { generateCosignKey } from '../../local/signing.js';
import { type Chain, createChain } from './support.js';

// pinned.ts reads what a notation entry pins without @peculiar/x509 (the config is validated in every function);
// the verifier reads the same PEMs with it. These tests hold the two to the same answers.

let layered: Chain;

beforeAll(async () => {
  layered = await createChain({ intermediateNames: ['CN=Acme Issuing CA, O=Acme, ST=WA, C=US'] });
});

/** What the verifier's parser says of a PEM: how many certificates, or its error. */
function verifierReads(pem: string): number | string {
  try {
    return parseCertificateBundle(pem).length;
  } catch (e) {
    return (e as Error).message;
  }
}

function configReads(pem: string): number | string {
  try {
    return checkCertificateBundle(pem);
  } catch (e) {
    return (e as Error).message;
  }
}

describe('checkCertificateBundle', () => {
  it('counts every certificate of a bundle, as the verifier does', () => {
    const bundle = `${layered.root.pem}\n${layered.intermediates[0]!.pem}`;

    expect(configReads(bundle)).toBe(2);
    expect(verifierReads(bundle)).toBe(2);
  });

  it('reads a PEM with CRLF line ends and text around the blocks', () => {
    const pem = `Acme root\r\n${layered.root.pem.replace(/\n/g, '\r\n')}\r\ntrailing words`;

    expect(configReads(pem)).toBe(1);
    expect(verifierReads(pem)).toBe(1);
  });

  it.each([
    ['text', 'hello', 'not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")'],
    [
      'a public key',
      generateCosignKey().publicKeyPem,
      'not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")',
    ],
  ])('refuses %s with the verifier’s message', (_name, pem, message) => {
    expect(configReads(pem)).toBe(message);
    expect(verifierReads(pem)).toBe(message);
  });

  it.each([
    [
      'a block that is not a certificate',
      () => '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      1,
    ],
    [
      'a bundle whose second block is a public key',
      () => `${layered.root.pem}\n${generateCosignKey().publicKeyPem}`,
      2,
    ],
    [
      'a certificate with a byte cut off',
      () => {
        const der = Buffer.from(layered.root.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
        return x509.PemConverter.encode(der.subarray(0, der.length - 1), 'CERTIFICATE');
      },
      1,
    ],
  ])('refuses %s, naming the block, as the verifier does', (_name, pem, block) => {
    const prefix = `PEM block ${block} is not an X.509 certificate (`;

    expect(configReads(pem())).toMatch(new RegExp(`^${prefix.replace(/[.()]/g, '\\$&')}`));
    expect(verifierReads(pem())).toMatch(new RegExp(`^${prefix.replace(/[.()]/g, '\\$&')}`));
  });

  it('refuses a block that is not base64, as the verifier does', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nA=AA\n-----END CERTIFICATE-----\n';

    expect(configReads(pem)).toBe("not readable PEM (Argument 'base64Text' is not Base64 encoded)");
    expect(verifierReads(pem)).toBe("not readable PEM (Argument 'base64Text' is not Base64 encoded)");
  });
});

describe('parseSubjectPattern', () => {
  /** The RDN pairs @peculiar/x509 reads from a name, or its error: what the verifier parsed before. */
  function peculiarPairs(body: string): [string, string][] | string {
    try {
      return new x509.Name(body)
        .toJSON()
        .flatMap((rdn) =>
          Object.entries(rdn).flatMap(([type, values]) => values.map((v): [string, string] => [type, v])),
        );
    } catch (e) {
      return (e as Error).message;
    }
  }

  it.each([
    'CN=Release, O=Acme, ST=WA, C=US',
    'C=US,ST=WA,O=Acme',
    'O=Acme Corp\\, Inc., CN=*',
    'CN=a+O=b+CN=c, OU=team',
    'CN="Acme, Inc.", O=Acme',
    'E=release@example.com, DC=example, DC=com',
    '2.5.4.3=Release, 2.5.4.10=Acme',
    '1.2.3.4=custom, CN=x',
    'CN=#0c0341636d65',
    'CN=#ABC',
    'L=Seattle, G=Ada, I=A, SN=Lovelace, T=Engineer',
    'CN=line\\0aend',
    'words before CN=Release',
    'CN=Release,',
    ' CN=spaces around ',
  ])('reads %s as @peculiar/x509 does', (body) => {
    // The pattern is trimmed before it is read, as it always was.
    expect(parseSubjectPattern(body).rdns).toEqual(peculiarPairs(body.trim()));
  });

  it.each([
    ['not a dn', 'not a distinguished name (no attribute)'],
    ['CN=', 'attribute CN has no value'],
    ['CN=Release, O=', 'attribute O has no value'],
    ['CN=#zz', "not a distinguished name (Argument 'hexString' is not HEX encoded)"],
    ['cn=Release', "not a distinguished name (Cannot get OID for name type 'cn')"],
  ])('refuses %s', (text, message) => {
    expect(() => parseSubjectPattern(text)).toThrow(message);
  });

  it.each(['*', ' x509.subject: * ', 'x509.subject:CN=Release'])(
    'accepts %s with its prefix and spaces',
    (text) => {
      expect(parseSubjectPattern(text).text).toBe(text);
    },
  );
});
