/**
 * Writes schema/steward.config.schema.json from the zod config schema, so editors can complete and check
 * steward.config.json. A test fails when the committed schema is stale: run `npm run schema` then.
 */
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../functions/shared/config/json-schema.js';

writeFileSync(
  new URL('../schema/steward.config.schema.json', import.meta.url),
  `${JSON.stringify(configJsonSchema(), null, 2)}\n`,
);
console.log('wrote schema/steward.config.schema.json');
