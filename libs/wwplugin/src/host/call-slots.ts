/** How one call waits for a slot: its deadline, its AbortSignal, and the errors it fails with. */
export interface SlotRequest {
  /** Date.now() past which the wait fails with `expired()`; 0 = no deadline. */
  deadlineAt?: number;
  signal?: AbortSignal;
  /** Built only when needed: the queue is full, the deadline passed, the signal fired. */
  busy(): Error;
  expired(): Error;
  aborted(): Error;
}

interface Waiter {
  grant(): void;
}

/**
 * The calls one plugin may run at once (`limit`) and a bounded FIFO line of calls waiting for one
 * (`maxQueued`). A freed slot goes straight to the first waiter, so a newcomer never overtakes the
 * line and no more than `limit` calls ever hold a slot.
 */
export class CallSlots {
  private active = 0;
  // A Set keeps insertion order (FIFO) and lets a waiter that gives up leave from the middle at once.
  private readonly line = new Set<Waiter>();
  private idlers: Array<() => void> = [];

  /** release(), bound: handed to a call as the thing to run once it settles. */
  readonly releaser = (): void => this.release();

  constructor(
    readonly limit: number,
    readonly maxQueued: number,
  ) {}

  /** Calls holding a slot. */
  get running(): number {
    return this.active;
  }

  /** Calls waiting in line. */
  get waiting(): number {
    return this.line.size;
  }

  /** Takes a slot if one is free and nobody waits for it already. */
  tryAcquire(): boolean {
    if (this.active >= this.limit || this.line.size) return false;
    this.active++;
    return true;
  }

  /** Resolves once a slot is held; rejects when the line is full, the deadline passes or the signal fires. */
  acquire(req: SlotRequest): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (req.signal?.aborted) return Promise.reject(req.aborted());
    if (req.deadlineAt && Date.now() >= req.deadlineAt) return Promise.reject(req.expired());
    if (this.line.size >= this.maxQueued) return Promise.reject(req.busy());
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => leave(req.aborted());
      const unlink = () => {
        if (timer) clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      };
      const leave = (err: Error) => {
        if (!this.line.delete(waiter)) return;
        unlink();
        reject(err);
      };
      const waiter: Waiter = {
        grant: () => {
          unlink();
          resolve();
        },
      };
      this.line.add(waiter);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      if (req.deadlineAt) timer = setTimeout(() => leave(req.expired()), Math.max(1, req.deadlineAt - Date.now()));
    });
  }

  /** Resolves once no call holds a slot or waits for one (at once when none does). */
  idle(): Promise<void> {
    if (this.active === 0 && this.line.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idlers.push(resolve));
  }

  /** Gives a slot back: the first waiter in line takes it over. */
  release(): void {
    const next = this.line.size ? this.line.values().next() : undefined;
    if (!next || next.done) {
      if (this.active > 0) this.active--;
      if (this.active === 0 && this.idlers.length) {
        const idlers = this.idlers;
        this.idlers = [];
        for (const resolve of idlers) resolve();
      }
      return;
    }
    // The slot passes from the releasing call to the waiter: `active` stays the same.
    this.line.delete(next.value);
    next.value.grant();
  }
}
