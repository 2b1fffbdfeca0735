/**
 * What every simulator's `run-simulator.ts` does: read `[port] [host] [more…]` from the command
 * line (port checked; host 127.0.0.1 unless told — in a container a simulator must listen on
 * 0.0.0.0 to be reached), start the simulator, say where it listens, and close it on SIGINT or
 * SIGTERM before exiting.
 */
export interface SimulatorAddress {
  port: number;
  host: string;
  /** Arguments after the host, for simulators that take more. */
  more: string[];
}

/** `[port] [host] [more…]` from `argv` (default: this process's arguments). */
export function simulatorAddress(
  defaultPort: number,
  argv: readonly string[] = process.argv.slice(2),
): SimulatorAddress {
  const port = Number(argv[0] ?? defaultPort);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError('port must be an integer 0-65535');
  return { port, host: argv[1] ?? '127.0.0.1', more: argv.slice(2) };
}

export interface RunSimulatorOptions<Simulator extends { url: string; close(): Promise<void> }> {
  defaultPort: number;
  start(address: SimulatorAddress): Promise<Simulator>;
  /** The line printed once it listens. */
  describe(simulator: Simulator): string;
  argv?: readonly string[];
}

export async function runSimulator<Simulator extends { url: string; close(): Promise<void> }>(
  options: RunSimulatorOptions<Simulator>,
): Promise<Simulator> {
  let simulator: Simulator | undefined;
  // Listening for the signals first: one that arrives while the simulator starts still closes it.
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    if (!simulator) return;
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  simulator = await options.start(simulatorAddress(options.defaultPort, options.argv));
  process.stdout.write(`${options.describe(simulator)}\n`);
  if (stopping) stop();
  return simulator;
}
