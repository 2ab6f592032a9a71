/**
 * The gate policy's `signatures` block: defaults, the refusals (keyless, required without signers, bad PEMs by
 * entry, bad ARNs and subjects), and that a parsed block is the shared contract's SignaturePolicy.
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SignaturePolicy } from '../../functions/shared/signatures/model.js';
import {
  COSIGN_KEYLESS_UNSUPPORTED,
  type SignaturePolicyInput,
  signaturePolicySchema,
} from '../../functions/shared/signatures/policy.js';
import { signatureStatus } from '../../functions/shared/signatures/verify.js';
import { generateCosignKey } from '../../local/signing.js';
import { type Chain, cosignArtifact, createChain, randomDigest } from './support.js';

const key = generateCosignKey();
let chain: Chain;

beforeAll(async () => {
  chain = await createChain();
});

/** The issues of a refused policy, as path and message. */
function refusals(input: unknown): { path: string; message: string }[] {
  const result = signaturePolicySchema.safeParse(input);
  if (result.success) throw new Error('expected the policy to be refused');
  return result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('signaturePolicySchema', () => {
  it('fills the defaults', () => {
    expect(signaturePolicySchema.parse({})).toEqual({ required: false, trust: [], minSignatures: 1 });
  });

  it('accepts every supported trust entry and returns a SignaturePolicy', () => {
    const input: SignaturePolicyInput = {
      required: true,
      minSignatures: 2,
      trust: [
        {
          type: 'notation',
          certificates: [chain.root.pem],
          signingProfiles: [
            'arn:aws:signer:us-west-2:111122223333:/signing-profiles/release',
            'arn:aws-us-gov:signer:us-gov-west-1:111122223333:/signing-profiles/release_2/IrwHQeF7XW',
          ],
          subjects: ['C=US, ST=WA, O=Acme', '*'],
        },
        { type: 'cosign', publicKeys: [key.publicKeyPem] },
      ],
    };
    const policy: SignaturePolicy = signaturePolicySchema.parse(input);

    expect(policy).toEqual(input);
  });

  it('gives a parsed policy to the verifier as it is', () => {
    const image = randomDigest();
    const policy = signaturePolicySchema.parse({
      required: true,
      trust: [{ type: 'cosign', publicKeys: [key.publicKeyPem] }],
    });

    expect(signatureStatus(image, [cosignArtifact(image, key.privateKey)], policy, new Date())).toEqual({
      status: 'SIGNED',
      identities: [key.identity],
    });
  });

  it('refuses cosign keyless entries with the reason', () => {
    expect(
      refusals({
        trust: [
          {
            type: 'cosign-keyless',
            issuer: 'https://token.actions.githubusercontent.com',
            subjectPattern: 'https://github.com/acme/*',
          },
        ],
      }),
    ).toEqual([{ path: 'trust.0', message: COSIGN_KEYLESS_UNSUPPORTED }]);
    expect(COSIGN_KEYLESS_UNSUPPORTED).toBe(
      "cosign keyless (Fulcio/Rekor) verification is not supported yet: pin the signer's public key with type cosign",
    );
  });

  it('refuses required signatures without a trusted signer', () => {
    expect(refusals({ required: true })).toEqual([
      {
        path: 'trust',
        message: 'signatures are required but trust names no signer: add a notation or cosign entry',
      },
    ]);
  });

  it('refuses a bad cosign PEM, naming its entry', () => {
    expect(
      refusals({ trust: [{ type: 'cosign', publicKeys: [key.publicKeyPem, 'ssh-ed25519 AAAA'] }] }),
    ).toEqual([
      {
        path: 'trust.0.publicKeys.1',
        message:
          'publicKeys[1]: not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as in cosign.pub)',
      },
    ]);
  });

  it('refuses a cosign key that is not ECDSA P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });

    expect(refusals({ trust: [{ type: 'cosign', publicKeys: [rsa.toString()] }] })).toEqual([
      {
        path: 'trust.0.publicKeys.0',
        message: 'publicKeys[0]: a rsa key: cosign signatures are verified with ECDSA P-256 keys only',
      },
    ]);
  });

  it('refuses a bad certificate PEM, naming its entry', () => {
    expect(
      refusals({
        trust: [
          { type: 'cosign', publicKeys: [key.publicKeyPem] },
          { type: 'notation', certificates: [key.publicKeyPem] },
        ],
      }),
    ).toEqual([
      {
        path: 'trust.1.certificates.0',
        message: 'certificates[0]: not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")',
      },
    ]);
  });

  it('refuses a notation entry without certificates', () => {
    const issues = refusals({
      trust: [
        {
          type: 'notation',
          signingProfiles: ['arn:aws:signer:us-west-2:111122223333:/signing-profiles/release'],
        },
      ],
    });

    expect(issues.map((i) => i.path)).toEqual(['trust.0.certificates']);
  });

  it('refuses a signing profile that is not a Signer profile ARN', () => {
    expect(
      refusals({
        trust: [
          {
            type: 'notation',
            certificates: [chain.root.pem],
            signingProfiles: ['arn:aws:iam::111122223333:role/release'],
          },
        ],
      }),
    ).toEqual([
      {
        path: 'trust.0.signingProfiles.0',
        message:
          'expected an AWS Signer signing profile ARN, arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME[/VERSION]',
      },
    ]);
  });

  it('refuses a subject that is not a distinguished name', () => {
    expect(
      refusals({ trust: [{ type: 'notation', certificates: [chain.root.pem], subjects: ['release team'] }] }),
    ).toEqual([
      { path: 'trust.0.subjects.0', message: 'subjects[0]: not a distinguished name (no attribute)' },
    ]);
  });

  it.each([
    [{ minSignatures: 0 }, 'minSignatures'],
    [{ minSignatures: 1.5 }, 'minSignatures'],
    [{ required: 'yes' }, 'required'],
    [{ trust: [{ type: 'gpg' }] }, 'trust.0.type'],
    [{ trust: [{ type: 'cosign', publicKeys: [] }] }, 'trust.0.publicKeys'],
    [{ requried: true }, ''],
  ])('refuses %j at %s', (input, path) => {
    expect(refusals(input).map((i) => i.path)).toEqual([path]);
  });

  it('describes every field for the published JSON Schema', () => {
    const described: Record<string, boolean> = {};
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        const properties =
          (node as { properties?: Record<string, { description?: string }> }).properties ?? {};
        for (const [name, p] of Object.entries(properties))
          described[name] = (described[name] ?? true) && !!p.description;
        Object.values(node).forEach(walk);
      }
    };
    walk(signaturePolicySchema.toJSONSchema({ io: 'input', unrepresentable: 'any' }));

    expect(described).toEqual({
      required: true,
      trust: true,
      minSignatures: true,
      type: true,
      certificates: true,
      signingProfiles: true,
      subjects: true,
      publicKeys: true,
      issuer: true,
      subjectPattern: true,
    });
  });
});
