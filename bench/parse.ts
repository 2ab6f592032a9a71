import { describeImagesOutputSchema, type Image, toImage } from '../functions/shared/lifecycle/index.js';
import { defineBenchmark } from './harness.js';
import { synthesizeRepository } from './synth.js';

const IMAGES = 100_000;

/**
 * Reading describe-images output: JSON text to engine images, as `ecr-steward plan --images` does.
 * No goal of its own; it shows what a 100,000-image plan costs before the engine starts.
 */
export default defineBenchmark({
  name: 'parse',
  description: `describe-images JSON → images (JSON.parse + schema + toImage), ${IMAGES.toLocaleString('en-US')} images`,
  runs: 5,
  warmups: 1,
  setup: () => JSON.stringify({ imageDetails: synthesizeRepository(IMAGES).imageDetails }),
  run: (text) => describeImagesOutputSchema.parse(JSON.parse(text)).imageDetails.map(toImage),
  describe: (result) => `${(result as Image[]).length} images`,
});
