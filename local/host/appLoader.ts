/**
 * Loads a function app the way the worker does (startApp.ts / loadScriptFile.ts): expand package.json `main` as a glob
 * relative to the app directory, load every match in order, run appStart hooks, ask the programming model for its
 * capabilities (which locks `app.setup`), then refuse further registrations.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import fg from 'fast-glob';
import type { CoreApiState } from './coreApi';

export async function loadFunctionApp(core: CoreApiState, appDir: string): Promise<string[]> {
  const pkgPath = join(appDir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { main?: string; type?: string };
  if (!pkg.main) throw new Error(`${pkgPath} has no "main": it must name (or glob) the app's entry files`);
  const files = fg.isDynamicPattern(pkg.main)
    ? (await fg(pkg.main, { cwd: appDir, absolute: true, onlyFiles: true })).sort()
    : [resolve(appDir, pkg.main)].filter((file) => existsSync(file));
  if (files.length === 0) {
    throw new Error(`Found zero files matching the supplied pattern "${pkg.main}" in ${appDir}; did you build the app?`);
  }
  for (const file of files) {
    if (file.endsWith('.mjs') || (pkg.type === 'module' && file.endsWith('.js'))) await import(pathToFileURL(file).href);
    else require(file);
  }

  for (const hook of core.hooksFor('appStart')) {
    await hook({ hookData: {}, appHookData: {}, functionAppDirectory: appDir });
  }
  const capabilities = (await core.programmingModel?.getCapabilities({})) ?? {};
  if (capabilities.HttpUri) {
    throw new Error('The app enabled HTTP streaming (app.setup({ enableHttpStream: true })); the local host does not support it');
  }
  core.locked = true;
  return files;
}

/**
 * Loads `local.settings.json` Values into the environment like Core Tools does, never overriding variables already set.
 */
export function loadLocalSettings(appDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const file = join(appDir, 'local.settings.json');
  if (!existsSync(file)) return [];
  const settings = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, string> };
  const applied: string[] = [];
  for (const [name, value] of Object.entries(settings.Values ?? {})) {
    if (env[name] === undefined) {
      env[name] = String(value);
      applied.push(name);
    }
  }
  return applied;
}
