/**
 * The signature part of the gate verdict and how it combines with the findings: the worse of the two, the
 * deciding part first in the summary; an unsigned image waits out the grace window from its push, a bad
 * signature fails at once, and an exempt tag passes whatever the signatures say.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { evaluateGate, type GateInput } from '../../functions/scan-gate/gate.js';
import type { SignatureStatus } from '../../functions/shared/signatures/model.js';
import { COMPLETE, NOW, policy } from './helpers.js';

const KEY = 'cosign key SHA256:abc';
/** A public key generated for the test: the policy parses its PEM. */
const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const REQUIRED = { required: true, trust: [{ type: 'cosign' as const, publicKeys: [PEM] }] };
const MINUTE = 60_000;

function input(signature: SignatureStatus | undefined, extra: Partial<GateInput> = {}): GateInput {
  return {
    policy: policy({
      graceMinutes: 30,
      signatures: REQUIRED,
    }),
    repository: 'services/orders',
    imageTags: ['v1'],
    pushedAt: NOW.getTime() - 5 * MINUTE,
    scanStatus: 'COMPLETE',
    findings: [],
    completeness: COMPLETE,
    signature,
    now: NOW,
    ...extra,
  };
}

describe('evaluateGate with a signature policy', () => {
  it('passes a clean, signed image and says who signed it', () => {
    const v = evaluateGate(input({ status: 'SIGNED', identities: [KEY] }));
    expect(v.verdict).toBe('PASS');
    expect(v.summary).toBe(`PASS: 0 finding(s) within the policy; SIGNED by ${KEY}`);
    expect(v.signature).toBe(`SIGNED by ${KEY}`);
  });

  it('keeps an unsigned image PENDING within the grace window from its push, and fails it after', () => {
    const young = evaluateGate(input({ status: 'UNSIGNED' }));
    const old = evaluateGate(input({ status: 'UNSIGNED' }, { pushedAt: NOW.getTime() - 45 * MINUTE }));
    expect(young.verdict).toBe('PENDING');
    expect(young.summary).toBe(
      'PENDING: UNSIGNED: no signature yet, within the 30-minute grace window from the push; findings: 0 finding(s) within the policy',
    );
    expect(old.verdict).toBe('FAIL');
    expect(old.summary).toBe(
      'FAIL: UNSIGNED: no signature 45 minutes after the push (grace window 30 minutes); findings: 0 finding(s) within the policy',
    );
  });

  it('fails an invalid or untrusted signature at once, whatever the grace window', () => {
    const invalid = evaluateGate(input({ status: 'INVALID', why: 'signs sha256:0000… not this image' }));
    const untrusted = evaluateGate(
      input({ status: 'UNTRUSTED', identities: ['cosign key SHA256:zzz'], why: 'key not trusted' }),
    );
    expect(invalid.verdict).toBe('FAIL');
    expect(invalid.signature).toBe('INVALID SIGNATURE (signs sha256:0000… not this image)');
    expect(invalid.reasons[0]).toBe(
      'INVALID SIGNATURE (signs sha256:0000… not this image): the policy requires a trusted signature',
    );
    expect(untrusted.verdict).toBe('FAIL');
    expect(untrusted.signature).toBe('UNTRUSTED SIGNER (key not trusted)');
  });

  it('keeps a findings FAIL a FAIL when the image is signed, with the findings first', () => {
    const v = evaluateGate(
      input(
        { status: 'SIGNED', identities: [KEY] },
        { findings: [{ id: 'CVE-1', severity: 'CRITICAL', packageName: 'openssl' }] as never },
      ),
    );
    expect(v.verdict).toBe('FAIL');
    expect(v.summary.startsWith('FAIL: 1 CRITICAL finding (at most 0 allowed)')).toBe(true);
    expect(v.summary.endsWith(`; SIGNED by ${KEY}`)).toBe(true);
  });

  it('cannot pass when the signatures were not read', () => {
    const v = evaluateGate(input(undefined));
    expect(v.verdict).toBe('PENDING');
    expect(v.signature).toBe('SIGNATURES NOT CHECKED');
  });

  it('exempts the findings of an exempt tag, never the signature (whoever pushes chooses the tags)', () => {
    const exemptPolicy = policy({ exemptTags: ['v*'], signatures: REQUIRED });
    const unsigned = evaluateGate(
      input({ status: 'UNSIGNED' }, { policy: exemptPolicy, pushedAt: NOW.getTime() - 2 * 3_600_000 }),
    );
    const signed = evaluateGate(input({ status: 'SIGNED', identities: [KEY] }, { policy: exemptPolicy }));
    expect(unsigned.verdict).toBe('FAIL');
    expect(unsigned.signature).toBe('UNSIGNED');
    expect(signed.verdict).toBe('PASS');
    expect(signed.summary).toBe(`PASS: tag v1 is exempt from the gate; SIGNED by ${KEY}`);
  });

  it('ignores signatures when the policy does not require them', () => {
    const notRequired = evaluateGate(input({ status: 'UNSIGNED' }, { policy: policy({}) }));
    expect(notRequired.verdict).toBe('PASS');
    expect(notRequired.signature).toBeUndefined();
  });
});
