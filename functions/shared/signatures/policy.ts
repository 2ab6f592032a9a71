/**
 * The gate policy's `signatures` block (issue #16): which signers an image must be signed by. Keys and
 * certificates are parsed here, so a bad PEM is refused when the config is loaded, naming its entry, and never
 * reaches a verdict. See docs/signatures.md for what is verified.
 * Every function validates its config at start, so this module stays off the verifier's libraries: certificates
 * and subjects are checked by pinned.ts with Node's built-ins (issue #19, cold start).
 */
import * as z from 'zod';
import { loadCosignKey } from './cosign.js';
import type { SignaturePolicy } from './model.js';
import { checkCertificateBundle, parseSubjectPattern } from './pinned.js';

/** The refusal of keyless cosign entries, word for word. */
export const COSIGN_KEYLESS_UNSUPPORTED =
  "cosign keyless (Fulcio/Rekor) verification is not supported yet: pin the signer's public key with type cosign";

/** An AWS Signer signing profile ARN, or a profile version ARN (profile names: letters, digits, `_`). */
export const SIGNING_PROFILE_ARN =
  /^arn:aws(?:-[a-z]+)*:signer:[a-z0-9-]+:\d{12}:\/signing-profiles\/[A-Za-z0-9_]{2,64}(?:\/[A-Za-z0-9]{1,64})?$/;

const pemList = (what: string) => z.array(z.string().min(1)).min(1).describe(what);

const notationTrustSchema = z
  .strictObject({
    type: z
      .literal('notation')
      .describe('A Notation signature (notation sign, AWS Signer, ECR managed signing).'),
    certificates: pemList(
      "PEM certificates the signing certificate must chain to (a bundle per entry is allowed): the root of the chain, e.g. AWS Signer's root for the partition, or an intermediate. A certificate of the signature's chain must equal one of them.",
    ),
    signingProfiles: z
      .array(
        z
          .string()
          .regex(
            SIGNING_PROFILE_ARN,
            'expected an AWS Signer signing profile ARN, arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME[/VERSION]',
          ),
      )
      .min(1)
      .optional()
      .describe(
        'AWS Signer signing profile ARNs (every version) or profile version ARNs (that version only) whose signatures are trusted; all when omitted.',
      ),
    subjects: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'Subjects of trusted signing certificates: "*", or RFC 4514 attributes that must all be in the subject (e.g. "C=US, ST=WA, O=Acme"; "*" allowed in a value); all when omitted.',
      ),
  })
  .superRefine((entry, ctx) => {
    for (const [i, pem] of entry.certificates.entries()) {
      try {
        checkCertificateBundle(pem);
      } catch (e) {
        ctx.addIssue({
          code: 'custom',
          path: ['certificates', i],
          message: `certificates[${i}]: ${(e as Error).message}`,
        });
      }
    }
    for (const [i, subject] of (entry.subjects ?? []).entries()) {
      try {
        parseSubjectPattern(subject);
      } catch (e) {
        ctx.addIssue({
          code: 'custom',
          path: ['subjects', i],
          message: `subjects[${i}]: ${(e as Error).message}`,
        });
      }
    }
  });

const cosignTrustSchema = z
  .strictObject({
    type: z.literal('cosign').describe('A cosign signature made with a key pair (cosign sign --key).'),
    publicKeys: pemList('PEM public keys (cosign.pub, ECDSA P-256) whose signatures are trusted.'),
  })
  .superRefine((entry, ctx) => {
    for (const [i, pem] of entry.publicKeys.entries()) {
      try {
        loadCosignKey(pem);
      } catch (e) {
        ctx.addIssue({
          code: 'custom',
          path: ['publicKeys', i],
          message: `publicKeys[${i}]: ${(e as Error).message}`,
        });
      }
    }
  });

/** Refused with a clear message: accepting it would trust what is not verified. */
const cosignKeylessSchema = z
  .object({
    type: z.literal('cosign-keyless').describe('Not supported yet: refused with a message.'),
    issuer: z.string().optional().describe("OIDC issuer of the signer's Fulcio certificate."),
    subjectPattern: z.string().optional().describe("Pattern of the certificate's subject (SAN)."),
  })
  .transform((_entry, ctx): never => {
    ctx.addIssue({ code: 'custom', message: COSIGN_KEYLESS_UNSUPPORTED });
    return z.NEVER;
  });

export const trustEntrySchema = z
  .discriminatedUnion('type', [notationTrustSchema, cosignTrustSchema, cosignKeylessSchema])
  .describe('A trusted signer.');

export const signaturePolicySchema = z
  .strictObject({
    required: z
      .boolean()
      .default(false)
      .describe('An image fails the gate unless it is signed by at least minSignatures trusted identities.'),
    trust: z.array(trustEntrySchema).default([]).describe('The trusted signers.'),
    minSignatures: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('How many distinct trusted identities must have signed an image.'),
  })
  .superRefine((policy, ctx) => {
    if (policy.required && policy.trust.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['trust'],
        message: 'signatures are required but trust names no signer: add a notation or cosign entry',
      });
    }
  })
  .describe('Signatures an image must carry (Notation / AWS Signer, cosign with a public key), verified.');

export type SignaturePolicyInput = z.input<typeof signaturePolicySchema>;

// The parsed block is the shared contract's SignaturePolicy.
const _assignable: (p: z.output<typeof signaturePolicySchema>) => SignaturePolicy = (p) => p;
