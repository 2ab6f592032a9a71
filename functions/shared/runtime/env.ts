/** Reads a required environment variable, failing with its name so a misconfigured function says what is missing. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** The function's region (Lambda sets AWS_REGION; the local cloud and tests may set AWS_DEFAULT_REGION). */
export function functionRegion(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
}
