/**
 * The hostile clients of the soak's hostile phase, which run beside the
 * normal mix: each starts when called and returns what ends it, so that the
 * phase starts them all before the mix and ends them all after it.
 *
 * @module
 */

/**
 * Idle connections to the front at `listen` (`host:port`), opened and held,
 * never sending a byte: each holds a descriptor of urocket's.
 */
export async function idleConnections(listen: string, count: number): Promise<() => void> {
  const [hostname, port] = listen.split(/:(?=\d+$)/);
  const connections: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    connections.push(await Deno.connect({ hostname, port: Number(port) }));
  }
  return () => {
    for (const connection of connections) connection.close();
  };
}

/**
 * A log collector that hangs: urocket's stdout is not read any more, so its
 * log queue fills and lines are dropped.
 */
export function stoppedLogReader(log: { stopReading(): () => void }): () => void {
  return log.stopReading();
}
