/**
 * POSIX paths of the config, resolved against the config file's folder
 * (or an operation's `wd`) without touching the file system.
 *
 * @module
 */

/** The folder of `path` (`/` for a file at the root). */
export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Resolves `path` against `base` (both POSIX), normalising `.` and `..`. */
export function absolutePath(path: string, base: string): string {
  const joined = path.startsWith("/") ? path : `${base}/${path}`;
  const out: string[] = [];
  for (const segment of joined.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return "/" + out.join("/");
}
