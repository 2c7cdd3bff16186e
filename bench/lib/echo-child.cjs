// The least a request to another process can cost: a process that holds its thread for the time
// it is given (as a worker's model run holds its own) and answers. bench/plain.mjs asks it for the
// plain forward's time over the IPC the worker uses (child_process, advanced serialization): the
// rest of the round trip is what the machine charges for the request and the answer alone.
'use strict';
process.on('message', (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
  process.send(ms);
});
