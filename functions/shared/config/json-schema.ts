import * as z from 'zod';
import { policyShapeSchema } from '../lifecycle/validate.js';
import { configSchema } from './schema.js';

/**
 * The published JSON Schema of steward.config.json (input side: defaults are optional). The lifecycle
 * policy is validated in code with ECR's rules; its shape is published here so editors can complete it.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  const { $schema: _drop, ...policy } = z.toJSONSchema(policyShapeSchema, { io: 'input' }) as Record<
    string,
    unknown
  >;
  const selection = (schema.properties as Record<string, { items: { properties: Record<string, unknown> } }>)
    .selections!.items;
  const current = selection.properties.lifecyclePolicy as Record<string, unknown>;
  selection.properties.lifecyclePolicy = {
    description: current.description,
    anyOf: [{ const: 'fromRepository' }, policy],
  };
  return {
    ...schema,
    $id: 'https://github.com/ecr-steward/ecr-steward/schema/steward.config.schema.json',
    title: 'ECR Steward configuration',
  };
}
