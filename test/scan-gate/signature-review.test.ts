/**
 * Regression tests from an independent review of the signature gate: an exempt tag never skips a required
 * signature, a deleted cosign .sig re-judges its image, and a signature artifact is never failed or removed
 * for being unsigned itself.
 */
import { describe, expect, it } from 'vitest';
import { judgeImage } from '../../functions/scan-gate/core.js';
import { signatureArrivalSchema } from '../../functions/scan-gate/schema.js';
import type { SignatureArtifact } from '../../functions/shared/signatures/model.js';
import { generateCosignKey } from '../../local/signing.js';
import { DIGEST, gateConfig, gateHarness, image, NOW } from '../scan-gate/helpers.js';
import { randomDigest } from '../signatures/support.js';

const release = generateCosignKey();
const signatures = {
  required: true,
  trust: [{ type: 'cosign', publicKeys: [release.publicKeyPem] }],
};

describe('F1 exempt tag skips the required signature in the deployed gate', () => {
  it('does not PASS an unsigned image because it carries an exempt tag', async () => {
    const h = gateHarness();
    h.image = { tags: ['v1.2.3'], pushedAt: NOW.getTime() - 86_400_000 };
    const gate = gateConfig({ policy: { exemptTags: ['v*'], signatures } });
    const ports = { ...h.ports, signatures: async () => [] as SignatureArtifact[] };

    const outcome = await judgeImage(gate, image({ tags: ['v1.2.3'] }), 'e1', NOW, ports, {
      mode: 'enforce',
    });

    // Before the fix: PASS "tag v1.2.3 is exempt from the gate", with no signature part.
    expect(outcome.verdict).not.toBe('PASS');
    expect(h.lastRecord().signature).toBe('UNSIGNED');
  });
});

describe('F3 a signature that goes away never re-judges its image', () => {
  it('accepts the DELETE of a cosign .sig tag as a re-judge trigger', () => {
    const event = {
      id: 'e2',
      account: '123456789012',
      region: 'us-west-2',
      'detail-type': 'ECR Image Action',
      detail: {
        'action-type': 'DELETE',
        result: 'SUCCESS',
        'repository-name': 'services/orders',
        'image-digest': randomDigest(),
        'image-tag': `${DIGEST.replace(':', '-')}.sig`,
      },
    };
    // Before the fix only PUSH parsed, so a revoked signature left the recorded PASS standing.
    expect(signatureArrivalSchema.safeParse(event).success).toBe(true);
  });
});

describe('F6 the gate judges (and may delete) signature artifacts themselves', () => {
  it('never FAILs / removes the cosign .sig manifest of a signed image for being "UNSIGNED"', async () => {
    // DIGEST here is the digest of the `sha256-<subject>.sig` manifest: an OCI image manifest with an image
    // config, so scan-on-push scans it and ECR/Inspector send a scan event for it like for any image.
    const h = gateHarness();
    h.image = {
      tags: ['sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig'],
      pushedAt: NOW.getTime() - 86_400_000,
    };
    const gate = gateConfig({
      policy: {
        signatures: { required: true, trust: [{ type: 'cosign', publicKeys: [release.publicKeyPem] }] },
      },
      onFail: { remove: { enabled: true } },
    });
    const ports = { ...h.ports, signatures: async () => [] as SignatureArtifact[] };

    const outcome = await judgeImage(gate, image({ digest: DIGEST }), 'e', NOW, ports, { mode: 'enforce' });

    // Before the fix: FAIL "UNSIGNED: …" and the .sig was deleted.
    expect(h.deleteCalls).toEqual([]);
    expect(outcome.verdict).not.toBe('FAIL');
  });
});
