// Gathers calls that arrive together and runs them as one. Under Pulumi the engine sends up to
// `--parallel` Create/Update/Read/Delete calls at once, each for one resource; gathered, they
// become one bulk create and full `$batch` requests instead of one Graph round trip each.
//
// Told what is coming (`expect`), a small gathering does not depend on timing: it runs once every
// call announced has arrived. Holding as many calls as the engine runs at once, it runs after the
// quiet window: the engine sends no more until some are answered (pkg/resource/deploy/
// step_executor.go: its workers take steps from an unbuffered channel, so step generation waits
// too). Only an engine running fewer calls at once than that falls back to a bounded wait.

export type Settled<R> = { ok: true; value: R } | { ok: false; error: Error };

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: Error) => void;
}

/** What the caller knows is coming: decisions still to be made, each adding zero or one call. */
export interface Expectation {
  /** Decisions still to come (under Pulumi: tokens whose Check or Diff has not run yet). */
  undecided: number;
  /** Calls decided or announced that have not arrived yet. */
  outstanding: number;
  /** How many calls the caller makes at once at most. */
  parallel: number;
  /** The bounded wait while fewer than `parallel` calls are held and more are expected. */
  fallbackMs: number;
}

export class Coalescer<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private expectation: Expectation | undefined;

  /**
   * @param run settles every item of one gathering, in order; a throw fails them all.
   * @param quietMs how long no new call must arrive before a gathering runs.
   * @param maxItems a gathering runs at once when it is this big.
   */
  constructor(
    private readonly run: (items: T[]) => Promise<Settled<R>[]>,
    private readonly quietMs: number,
    private readonly maxItems: number,
  ) {}

  add(item: T): Promise<R> {
    if (this.expectation && this.expectation.outstanding > 0) this.expectation.outstanding--;
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** `undecided` more decisions are coming, and `calls` more calls; the caller makes at most `parallel` at once. */
  expect(more: { undecided?: number; calls?: number; parallel: number; fallbackMs: number }): void {
    const known = this.expectation ?? { undecided: 0, outstanding: 0, parallel: more.parallel, fallbackMs: more.fallbackMs };
    this.expectation = {
      undecided: known.undecided + (more.undecided ?? 0),
      outstanding: known.outstanding + (more.calls ?? 0),
      parallel: Math.max(1, more.parallel),
      fallbackMs: more.fallbackMs,
    };
    if (this.waiting.length > 0) this.schedule();
  }

  /** One expected decision is made: `call` says whether a call follows from it. */
  decided(call: boolean): void {
    if (!this.expectation) return;
    if (this.expectation.undecided > 0) this.expectation.undecided--;
    if (call) this.expectation.outstanding++;
    if (this.waiting.length > 0) this.schedule();
  }

  private schedule(): void {
    if (this.running) return; // the running gathering schedules the next one when it ends
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.delayMs());
  }

  private delayMs(): number {
    const held = this.waiting.length;
    if (held >= this.maxItems) return 0;
    const expected = this.expectation;
    if (!expected) return this.quietMs;
    if (expected.undecided === 0 && expected.outstanding === 0) return 0; // every call announced is here
    // As many as the engine runs at once by default: a larger `--parallel` (which the provider
    // cannot see) still sends more without a pause, so they are gathered as before.
    return held >= expected.parallel ? this.quietMs : expected.fallbackMs;
  }

  /** One gathering at a time: each sees what the one before it changed. */
  private async flush(): Promise<void> {
    const gathered = this.waiting.splice(0, this.maxItems);
    if (gathered.length === 0) return;
    this.running = true;
    try {
      const results = await this.run(gathered.map((w) => w.item));
      gathered.forEach((w, i) => {
        const result = results[i];
        if (result === undefined) w.reject(new Error("internal error: no result for a gathered call"));
        else if (result.ok) w.resolve(result.value);
        else w.reject(result.error);
      });
    } catch (error: unknown) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const w of gathered) w.reject(failure);
    } finally {
      this.running = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}
