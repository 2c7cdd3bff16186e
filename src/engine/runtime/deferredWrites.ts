// Cache writes that wait until the request that made them has answered: committing an optimised
// model reads and checksums a file of hundreds of MB, which would otherwise hold up the run it
// was made for. The worker flushes the queue when it is idle and before it shuts down; a process
// without a worker loop gets a timer. A write that fails leaves the cache without the entry,
// which only costs the next cold start its build: no request fails for it. Other work that need
// not hold up an answer waits here too (the input cache's spare copy, pipeline/inputCache.ts).
const queue: Array<() => void> = [];
let timer: NodeJS.Timeout | undefined;

export function afterReply(task: () => void): void {
  queue.push(task);
  timer ??= setTimeout(flushDeferred, 1000).unref();
}

export function flushDeferred(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  for (let task = queue.shift(); task; task = queue.shift()) {
    try {
      task();
    } catch {
      // see above: a cache that cannot be written is a miss next time
    }
  }
}
