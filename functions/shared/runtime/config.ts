import { validateConfig } from '../config/load.js';
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
  cached = validateConfig(JSON.parse(text), 'bundled config');
  return cached;
}

/** Forgets the cached config (tests). */
export function resetConfigCache(): void {
  cached = undefined;
}
