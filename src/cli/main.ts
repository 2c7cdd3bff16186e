// `camlens` entry point: dispatches to a sub-command; errors go to stderr with a non-zero exit
// (2 for usage errors, 1 for everything else).
import { isCamLensError } from '../engine/errors';
import { helpText, parseCommandArgs, type CliIO, type Command } from './command';
import { batchCommand, mergeCommand } from './commands/batch';
import { evaluateCommand } from './commands/evaluate';
import { explainCommand } from './commands/explain';
import { inspectCommand } from './commands/inspect';
import { layersCommand } from './commands/layers';
import { leakCheckCommand } from './commands/leakCheck';
import { statsCommand } from './commands/stats';

const commands: Command[] = [layersCommand, explainCommand, batchCommand, mergeCommand, evaluateCommand, inspectCommand, statsCommand, leakCheckCommand];

const usage = () =>
  [
    'camlens: explain ONNX image models (Grad-CAM family) from the command line.',
    '',
    'Usage: camlens <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(12)}${c.summary}`),
    '',
    'Run "camlens <command> --help" for the options of a command.',
  ].join('\n') + '\n';

// The launcher (bin/camlens.js) starts `camlens batch` in a child node with the worker's malloc settings.
export { CLI_MALLOC_ENV } from './worker';

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    io.out(`${process.env.CAMLENS_VERSION ?? 'camlens'}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`camlens: unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      io.out(helpText(command));
      return 0;
    }
    return await command.run(positionals, values, io);
  } catch (e) {
    if (isCamLensError(e)) {
      io.err(`camlens ${name}: ${e.message}\n`);
      return e.details?.usage ? 2 : 1;
    }
    io.err(`camlens ${name}: internal error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}
