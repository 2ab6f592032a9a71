export { buildGraph, INDEX_MEDIA_TYPES, isIndex, subjectOf } from './graph.js';
export {
  batchGetImageOutputSchema,
  DuplicateImageError,
  describeImagesOutputSchema,
  fastImage,
  fastImages,
  imageDetailSchema,
  indexChildrenFromBatchGet,
  indexChildrenOf,
  mergeListedImages,
  toImage,
} from './images.js';
export { compileTagSelector, globToRegExp, matchesSelection } from './match.js';
export { DAY_MS, type PlanInput, planRepository } from './plan.js';
export { stewardPolicySchema } from './steward-schema.js';
export type * from './types.js';
export {
  formatPolicyError,
  POLICY_LIMITS,
  type PolicyError,
  type PolicyValidation,
  validatePolicyDocument,
  validatePolicyText,
} from './validate.js';
