/** Regression tests from an independent review: Notation chain rules as notation-core-go has them (x509/cert_validations.go). */
import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { checkNotationArtifact, prepareNotationTrust } from '../../functions/shared/signatures/notation.js';
import { type Chain, createChain, notationArtifact, randomDigest } from './support.js';

const IMAGE = randomDigest();
const NOW = new Date(Date.UTC(2025, 6, 1));
const trustRoot = (c: Chain) => [prepareNotationTrust({ type: 'notation', certificates: [c.root.pem] })];

describe('F8 leaf and chain requirements', () => {
  it('refuses a signing certificate with the OCSPSigning extended key usage', async () => {
    const c = await createChain({ leaf: { extendedKeyUsages: ['1.3.6.1.5.5.7.3.3', '1.3.6.1.5.5.7.3.9'] } });
    const result = checkNotationArtifact(IMAGE, await notationArtifact(IMAGE, c), trustRoot(c), NOW);
    // Was trusted before the fix; notation-core-go: "extended key usage must not contain OCSPSigning eku".
    expect(result.outcome).toBe('invalid');
  });

  it('refuses a chain with a self-signed certificate before its end', async () => {
    const c = await createChain();
    const chain = { ...c, chain: [c.leaf, c.root, c.root] }; // root repeated: a self-signed "intermediate"
    const result = checkNotationArtifact(IMAGE, await notationArtifact(IMAGE, chain), trustRoot(c), NOW);
    // Was trusted before the fix; notation-core-go: "intermediate certificate ... is self-signed".
    expect(result.outcome).toBe('invalid');
  });
});
