/** Reads a required environment variable once, at cold start, with a message that says what is missing. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set; the function cannot start without it.`);
  return value;
}
