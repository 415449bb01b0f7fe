import { WhisperModel } from "./whisper.ts";

export interface Lease {
  model: WhisperModel;
  /** Threads this lease should use: the context's fixed share of the CPUs. */
  threads: number;
  release(): void;
}

interface Waiter {
  priority: number;
  resolve: (lease: Lease) => void;
}

/**
 * The loaded whisper contexts. Work borrows one context per audio window, so a higher-priority
 * caller (a live session) waits for at most one window of batch work, never for a whole file.
 */
export class ModelPool {
  private idle: WhisperModel[] = [];
  private waiters: Waiter[] = [];
  private busy = 0;

  private constructor(
    private readonly models: WhisperModel[],
    private readonly cpuBudget: number,
    private readonly fixedThreads: number,
  ) {
    this.idle = [...models];
  }

  /** Loads `size` contexts of the model file, one after another (each load reads the whole file). */
  static async load(file: string, size: number, cpuBudget: number, fixedThreads: number): Promise<ModelPool> {
    const models: WhisperModel[] = [];
    for (let i = 0; i < size; i++) models.push(await WhisperModel.load(file, false));
    return new ModelPool(models, cpuBudget, fixedThreads);
  }

  get size(): number {
    return this.models.length;
  }

  get busyCount(): number {
    return this.busy;
  }

  acquire(priority = 0): Promise<Lease> {
    const model = this.idle.pop();
    if (model) return Promise.resolve(this.lease(model));
    return new Promise((resolve) => {
      const at = this.waiters.findIndex((w) => w.priority < priority);
      this.waiters.splice(at === -1 ? this.waiters.length : at, 0, { priority, resolve });
    });
  }

  async free(): Promise<void> {
    await Promise.all(this.models.map((m) => m.free()));
  }

  private lease(model: WhisperModel): Lease {
    this.busy++;
    // A fixed share, never "whatever is free now": a window that starts alone with every CPU
    // keeps them when a second job starts, and whisper.cpp's threads spin-wait at each barrier,
    // so an oversubscribed window ran 3-5x slower in `npm run bench` (README, Performance).
    const threads = this.fixedThreads || Math.max(1, Math.floor(this.cpuBudget / this.models.length));
    let released = false;
    return {
      model,
      threads,
      release: () => {
        if (released) return;
        released = true;
        this.busy--;
        const next = this.waiters.shift();
        if (next) next.resolve(this.lease(model));
        else this.idle.push(model);
      },
    };
  }
}
