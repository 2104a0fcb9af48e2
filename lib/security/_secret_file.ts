/**
 * Reading the files that hold secrets (API keys, htpasswd, HMAC and JWT
 * secrets) and key sets: never writable by every user, secrets never
 * readable by every user either; read whole at start and at each reload.
 *
 * @module
 */

/** What a secrets file is, as far as the check cares; injected so tests run in memory. */
export interface SecretFileSystem {
  /** Permission bits of the file (after symlinks), or throws as Deno.stat does. */
  mode(path: string): Promise<number | null>;
  readTextFile(path: string): Promise<string>;
}

/** The real file system. */
export const REAL_FILES: SecretFileSystem = {
  mode: async (path) => (await Deno.stat(path)).mode,
  readTextFile: (path) => Deno.readTextFile(path),
};

/** The largest secrets file read: keys and htpasswd files of thousands of lines fit. */
const MAX_SECRET_FILE_BYTES = 1024 * 1024;

/**
 * Reads a secrets file, or returns what is wrong with it: missing,
 * unreadable, too large, readable by every user (mode `o+r`), which would
 * hand the secret to anyone on the host, or writable by every user (`o+w`),
 * which would let anyone add a credential. Kubernetes mounts secrets `0644`
 * unless told otherwise: the hint says how.
 */
export function readSecretFile(
  path: string,
  files: SecretFileSystem = REAL_FILES,
): Promise<{ text: string } | { error: string }> {
  return readChecked(path, files, 0o006);
}

/**
 * Reads a JSON Web Key Set file: public keys, so anyone may read it, but one
 * every user may write (`o+w`) would let anyone add a key and sign tokens.
 */
export function readKeySetFile(
  path: string,
  files: SecretFileSystem = REAL_FILES,
): Promise<{ text: string } | { error: string }> {
  return readChecked(path, files, 0o002);
}

async function readChecked(
  path: string,
  files: SecretFileSystem,
  forbidden: number,
): Promise<{ text: string } | { error: string }> {
  let mode: number | null;
  try {
    mode = await files.mode(path);
  } catch (error) {
    return { error: `Cannot read ${JSON.stringify(path)}: ${(error as Error).message}` };
  }
  const shown = mode === null ? "" : (mode & 0o777).toString(8).padStart(4, "0");
  if (mode !== null && (mode & forbidden & 0o004) !== 0) {
    return {
      error: `${JSON.stringify(path)} is readable by every user (mode ${shown}): chmod o-r it ` +
        "(in Kubernetes, mount the secret with defaultMode: 0440)",
    };
  }
  if (mode !== null && (mode & forbidden & 0o002) !== 0) {
    return {
      error: `${JSON.stringify(path)} is writable by every user (mode ${shown}): chmod o-w it ` +
        "(anyone on the host could add a credential)",
    };
  }
  let text: string;
  try {
    text = await files.readTextFile(path);
  } catch (error) {
    return { error: `Cannot read ${JSON.stringify(path)}: ${(error as Error).message}` };
  }
  if (text.length > MAX_SECRET_FILE_BYTES) {
    return { error: `${JSON.stringify(path)} is larger than ${MAX_SECRET_FILE_BYTES} bytes` };
  }
  return { text };
}

/** The lines of a secrets file that say something: blank lines and `#` comments are skipped. */
export function meaningfulLines(text: string): { line: number; text: string }[] {
  return text.split(/\r?\n/).map((line, i) => ({ line: i + 1, text: line.trim() }))
    .filter((l) => l.text !== "" && !l.text.startsWith("#"));
}
