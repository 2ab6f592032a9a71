import {
  describeImagesOutputSchema,
  type Plan,
  planRepository,
  stewardPolicySchema,
  toImage,
  validatePolicyText,
} from '../functions/shared/lifecycle/index.js';
import { defineBenchmark } from './harness.js';
import { allProtections, SYNTH_NOW, synthesizeRepository, TEN_RULE_POLICY_TEXT } from './synth.js';

const IMAGES = 100_000;

/** The engine's hot path: one repository of 100,000 images, 10 rules, every Steward protection on. */
export default defineBenchmark({
  name: 'plan',
  description: `planRepository, ${IMAGES.toLocaleString('en-US')} images, 10 rules, all protections`,
  goals: { wallMs: 500, heapMB: 300 },
  setup() {
    const repo = synthesizeRepository(IMAGES);
    const policy = validatePolicyText(TEN_RULE_POLICY_TEXT);
    if (!policy.valid) throw new Error(`benchmark policy is invalid: ${JSON.stringify(policy.errors)}`);
    const { steward, inUse } = allProtections(repo);
    return {
      repository: 'bench',
      policy: policy.policy,
      // Parsed exactly as the CLI and the cleanup function parse describe-images output.
      images: describeImagesOutputSchema.parse({ imageDetails: repo.imageDetails }).imageDetails.map(toImage),
      indexChildren: repo.indexChildren,
      steward: stewardPolicySchema.parse(steward),
      inUse,
      now: SYNTH_NOW,
    };
  },
  run: (input) => planRepository(input),
  describe(result) {
    const s = (result as Plan).summary;
    const protectedCount = Object.values(s.protected).reduce((a, b) => a + (b ?? 0), 0);
    return `${s.images} images: expire ${s.expire}, transition ${s.transition}, keep ${s.keep} (${protectedCount} protection marks)`;
  },
});
