// Where --profile and `cpe-sim run FILE` point: a path relative to the working directory,
// else one of the profiles or scenarios shipped in the package (so `npx cpe-sim` works from
// any folder).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder (this file is dist/src/config/profile-path.js in it). */
export const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The profile folders shipped in the package's profiles/. */
export function shippedProfiles(): string[] {
  try {
    return readdirSync(join(packageRoot, 'profiles'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(packageRoot, 'profiles', d.name, 'profile.yaml')))
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * `profile` as given when it exists relative to the working directory (or is absolute);
 * else the package's own copy: `profiles/NAME` (the default's form) under the package root,
 * or a bare shipped name `NAME` in the package's profiles/. Unchanged when neither exists
 * (the profile loader then says what is missing).
 */
export function resolveProfile(profile: string): string {
  if (isAbsolute(profile) || existsSync(resolve(profile))) return profile;
  for (const candidate of [join(packageRoot, profile), join(packageRoot, 'profiles', profile)]) {
    if (existsSync(join(candidate, 'profile.yaml'))) return candidate;
  }
  return profile;
}

/** The scenario files shipped in the package's scenarios/, without their `.yaml`. */
export function shippedScenarios(): string[] {
  try {
    return readdirSync(join(packageRoot, 'scenarios'), { withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith('.yaml'))
      .map((d) => d.name.slice(0, -'.yaml'.length))
      .sort();
  } catch {
    return [];
  }
}

/**
 * `file` as given when it exists relative to the working directory (or is absolute); else
 * the package's own copy: `scenarios/NAME.yaml` (the form the docs use) under the package
 * root, or a bare shipped name with or without `.yaml`. Undefined when neither exists.
 */
export function resolveScenario(file: string): string | undefined {
  if (existsSync(resolve(file))) return file;
  if (isAbsolute(file)) return undefined;
  const bare = file.endsWith('.yaml') ? file : `${file}.yaml`;
  for (const candidate of [join(packageRoot, file), join(packageRoot, 'scenarios', bare)]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}
