import { validateConfig } from '../config/load.js';
import { selectionsIn } from '../config/organization.js';
import type { StewardConfig } from '../config/schema.js';
import { ENV } from './constants.js';

// Replaced at bundle time with the validated config (esbuild `define`), so code and config deploy together.
declare const __STEWARD_CONFIG__: string | undefined;

let cached: StewardConfig | undefined;

/** The config the function was bundled with (or, in tests and local runs, STEWARD_CONFIG_JSON). */
export function bundledConfig(env: NodeJS.ProcessEnv = process.env): StewardConfig {
  if (cached) return cached;
  const text = typeof __STEWARD_CONFIG__ === 'string' ? __STEWARD_CONFIG__ : env[ENV.configJson];
  if (!text) throw new Error(`no config: the bundle carries none and ${ENV.configJson} is not set`);
  // The bundled text is plain JSON (written by the stack from the validated config): no comment parser needed.
  cached = inThisEnvironment(validateConfig(JSON.parse(text), 'bundled config'), env);
  return cached;
}

/**
 * An organization's config as this account and region run it: only the selections that apply here. A spoke
 * stack is synthesized with its selections already narrowed (configForEnvironment), so this changes nothing
 * there; a StackSet's one template runs in every account and region, so its functions narrow at start, from
 * the account the stack gives them (ECR_STEWARD_REGISTRY_ID) and the region Lambda runs in. A place where no
 * selection applies manages nothing.
 */
export function inThisEnvironment(
  config: StewardConfig,
  env: NodeJS.ProcessEnv = process.env,
): StewardConfig {
  const account = env[ENV.registryId];
  const region = env.AWS_REGION;
  if (!account || !region) return config;
  return selectionsIn(config, { account, region });
}

/** Forgets the cached config (tests). */
export function resetConfigCache(): void {
  cached = undefined;
}
