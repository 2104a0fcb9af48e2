/**
 * Signals to a whole process group (`kill(-pgid, …)`), and whether one is
 * still there.
 *
 * @module
 */

/**
 * Sends `signal` to every process of group `pgid`. Returns false when the
 * group no longer exists.
 */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch (error) {
    // EPERM (a member changed its user) still means the group is there.
    return !(error instanceof Deno.errors.NotFound);
  }
}

/**
 * Whether any process of group `pgid` exists (zombies included), by sending
 * it signal 0, which checks without delivering anything.
 */
export function isGroupAlive(pgid: number): boolean {
  try {
    Deno.kill(-pgid, 0 as unknown as Deno.Signal);
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.NotFound);
  }
}
