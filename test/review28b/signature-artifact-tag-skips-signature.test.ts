/**
 * BUG (signature gate, verified signatures not presence): judgeImage decides that an image "is a signature
 * artifact" from what the pusher chooses — any tag shaped `sha256-<64 hex>.sig|.att|.sbom`, or a `subject` field in
 * its manifest (functions/scan-gate/core.ts:155-162) — and then drops the signature requirement for it
 * (core.ts:184-199: `policy: artifact && policy.signatures ? { ...policy, signatures: undefined } : policy`).
 * So an UNSIGNED, runnable image pushed with one extra tag like `sha256-<anything>.sig` (next to its `prod` tag),
 * or with an OCI `subject`, gets PASS from a gate whose policy requires a trusted signature; `gate check` exits 0.
 * The README: an exempt tag "exempts the findings, never the signature (whoever pushes chooses the tags)".
 * What should hold: without a verified signature the verdict is never PASS, whatever tags the image carries.
 */
import { describe, expect, it } from 'vitest';
import { judgeImage } from '../../functions/scan-gate/core.js';
import type { SignatureArtifact } from '../../functions/shared/signatures/model.js';
import { generateCosignKey } from '../../local/signing.js';
import { gateConfig, gateHarness, image, NOW } from '../scan-gate/helpers.js';

const release = generateCosignKey();
const signatures = { required: true, trust: [{ type: 'cosign', publicKeys: [release.publicKeyPem] }] };
const DECOY = `sha256-${'0'.repeat(64)}.sig`;

describe('an unsigned image with a signature-shaped tag', () => {
  it('is not PASSed by a gate that requires signatures', async () => {
    const h = gateHarness();
    h.image = { tags: ['prod', DECOY], pushedAt: NOW.getTime() - 86_400_000 };
    const gate = gateConfig({ policy: { signatures } });
    const ports = { ...h.ports, signatures: async () => [] as SignatureArtifact[] };

    const outcome = await judgeImage(gate, image({ tags: ['prod', DECOY] }), 'e1', NOW, ports, {
      mode: 'enforce',
    });

    expect(outcome.verdict).not.toBe('PASS');
  });

  it('is not PASSed because its manifest names a subject (any pusher can add one)', async () => {
    const h = gateHarness();
    h.image = { tags: ['prod'], pushedAt: NOW.getTime() - 86_400_000 };
    const gate = gateConfig({ policy: { signatures } });
    const ports = {
      ...h.ports,
      scans: {
        ...h.ports.scans,
        image: async () => ({
          tags: ['prod'],
          pushedAt: NOW.getTime() - 86_400_000,
          subjectDigest: `sha256:${'1'.repeat(64)}`,
        }),
      },
      signatures: async () => [] as SignatureArtifact[],
    };

    const outcome = await judgeImage(gate, image({ tags: ['prod'] }), 'e2', NOW, ports, { mode: 'enforce' });

    expect(outcome.verdict).not.toBe('PASS');
  });
});
