// Long work over many keys (checking 100,000 of them, building a pool's
// indexes) written once, as a generator that offers to pause every few
// hundred items, and run either at once or in slices between other work: a
// large change then never holds the event loop for more than a few
// milliseconds at a time.

/** Work that offers to pause now and then (`yield`), and returns a result. */
export type Steps<T> = Generator<void, T, void>;

/** Items a long loop handles between two offers to pause. */
export const ITEMS_PER_STEP = 256;

/** Runs `steps` to the end at once. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Runs `steps`, yielding to the event loop whenever a slice has taken `sliceMs`. */
export async function runStepsGradually<T>(steps: Steps<T>, sliceMs = 8): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (performance.now() - sliceStart < sliceMs) continue;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  }
}

/** Whether a loop at `index` should offer to pause. */
export function stepDone(index: number): boolean {
  return index % ITEMS_PER_STEP === ITEMS_PER_STEP - 1;
}
