import { accessSync, constants, mkdirSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const STORAGE_CONFIG = Symbol('STORAGE_CONFIG');

export interface StorageConfig {
  /** Absolute, symlink-free path under which every site directory lives. */
  readonly root: string;
}

/**
 * Reads STORAGE_ROOT once at boot and fails fast: required, made absolute, created when
 * missing, resolved through symlinks (so every later containment check compares real
 * paths), and writable.
 */
export function storageConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  const given = env.STORAGE_ROOT;
  if (!given?.trim()) throw new Error('STORAGE_ROOT is required: the directory under which site directories are created');
  if (given.includes('\0')) throw new Error('STORAGE_ROOT must not contain NUL bytes');
  const absolute = path.resolve(given);
  mkdirSync(absolute, { recursive: true, mode: 0o750 });
  const root = realpathSync(absolute);
  if (!statSync(root).isDirectory()) throw new Error(`STORAGE_ROOT ${root} is not a directory`);
  accessSync(root, constants.W_OK | constants.X_OK);
  return { root };
}
