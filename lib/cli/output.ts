/**
 * Where a command writes its lines, injected so that commands are tested in
 * memory; main.ts passes the console.
 *
 * @module
 */

/** A command's two output streams, one line per call. */
export interface CliOutput {
  /** A line of the command's result (stdout). */
  out: (line: string) => void;
  /** A problem or a note (stderr). */
  err: (line: string) => void;
}
