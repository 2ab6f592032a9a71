/**
 * Regression tests from an independent review of the signature gate: an exempt tag never skips a required
 * signature, a deleted cosign .sig re-judges its image, and a signature artifact is never failed or removed
 * for being unsigned itself.
 */
import { describe, expect, it } from 'vitest';
import { isArtifactManifest, judgeImage } from '../../functions/scan-gate/core.js';
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

/** What cosign pushes under `sha256-<subject>.sig`: an image config and one simple-signing payload, nothing to run. */
const COSIGN_SIGNATURE_MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    size: 233,
    digest: `sha256:${'c'.repeat(64)}`,
  },
  layers: [
    {
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      size: 250,
      digest: `sha256:${'d'.repeat(64)}`,
      annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ…' },
    },
  ],
});

describe('F6 the gate judges (and may delete) signature artifacts themselves', () => {
  it('never FAILs / removes the cosign .sig manifest of a signed image for being "UNSIGNED"', async () => {
    // DIGEST here is the digest of the `sha256-<subject>.sig` manifest: an OCI image manifest with an image
    // config, so scan-on-push scans it and ECR/Inspector send a scan event for it like for any image.
    const h = gateHarness();
    h.image = {
      tags: ['sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig'],
      pushedAt: NOW.getTime() - 86_400_000,
      manifest: COSIGN_SIGNATURE_MANIFEST,
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

describe('isArtifactManifest: only a manifest with nothing to run passes for a signature', () => {
  const manifest = (layers: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers,
      ...extra,
    });

  it.each([
    ["cosign's simple-signing payload", COSIGN_SIGNATURE_MANIFEST],
    [
      'a Notation envelope',
      manifest([{ mediaType: 'application/jose+json' }], {
        artifactType: 'application/vnd.cncf.notary.signature',
      }),
    ],
    ['an in-toto attestation', manifest([{ mediaType: 'application/vnd.dsse.envelope.v1+json' }])],
    ['an SBOM document', manifest([{ mediaType: 'application/spdx+json' }])],
    ['no layers at all', manifest([])],
  ])('is an artifact: %s', (_what, body) => {
    expect(isArtifactManifest(body)).toBe(true);
  });

  it.each([
    ['an OCI filesystem layer', manifest([{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }])],
    ['an uncompressed OCI layer', manifest([{ mediaType: 'application/vnd.oci.image.layer.v1.tar' }])],
    [
      'a zstd OCI layer beside a signature payload',
      manifest([
        { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' },
      ]),
    ],
    [
      'a non-distributable OCI layer',
      manifest([{ mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' }]),
    ],
    ['a Docker layer', manifest([{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }])],
    [
      'a Docker foreign layer',
      manifest([{ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' }]),
    ],
    ['a layer without a media type', manifest([{ size: 1 }])],
    ['an image index', JSON.stringify({ schemaVersion: 2, manifests: [], layers: [] })],
    ['a schema-1 manifest', JSON.stringify({ schemaVersion: 1, fsLayers: [{ blobSum: 'sha256:0' }] })],
    ['no manifest', undefined],
    ['a body that is not JSON', '{"layers": ['],
  ])('is not an artifact: %s', (_what, body) => {
    expect(isArtifactManifest(body)).toBe(false);
  });
});

describe('an image that only claims to be a signature (by a tag shaped like one) is judged as an image', () => {
  it('FAILs UNSIGNED and is removed like any image, its manifest having a filesystem layer', async () => {
    // Prepare: an unsigned, runnable image pushed with `prod` and a decoy `sha256-….sig` tag
    const h = gateHarness();
    const decoy = `sha256-${'0'.repeat(64)}.sig`;
    h.image = {
      tags: ['prod', decoy],
      pushedAt: NOW.getTime() - 86_400_000,
      manifest: JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json' },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
      }),
    };
    const gate = gateConfig({
      policy: {
        signatures: { required: true, trust: [{ type: 'cosign', publicKeys: [release.publicKeyPem] }] },
      },
      onFail: { remove: { enabled: true } },
    });
    const ports = { ...h.ports, signatures: async () => [] as SignatureArtifact[] };

    // Act
    const outcome = await judgeImage(
      gate,
      image({ digest: DIGEST, tags: ['prod', decoy] }),
      'e',
      NOW,
      ports,
      {
        mode: 'enforce',
      },
    );

    // Assess
    expect(outcome.verdict).toBe('FAIL');
    expect(h.journal).toContain(`scans:manifest:${image().repository}@${DIGEST}`);
    expect(h.deleteCalls).toEqual([[DIGEST]]);
  });
});
