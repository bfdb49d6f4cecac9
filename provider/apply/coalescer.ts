// Gathers calls that arrive together and runs them as one. Under Pulumi the engine sends up to
// `--parallel` Create/Update/Read/Delete calls at once, each for one resource; gathered, they
// become one bulk create and full `$batch` requests instead of one Graph round trip each.

export type Settled<R> = { ok: true; value: R } | { ok: false; error: Error };

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: Error) => void;
}

export class Coalescer<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

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
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return; // the running gathering schedules the next one when it ends
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.waiting.length >= this.maxItems ? 0 : this.quietMs);
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
