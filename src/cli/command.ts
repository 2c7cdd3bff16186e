// What a sub-command is: its help text and how it runs. main.ts holds the table.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CamLensError } from '../engine/errors';

export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Option help lines, already formatted. */
  details: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(positionals: string[], values: Record<string, unknown>, io: CliIO): Promise<number>;
}

export function parseCommandArgs(command: Command, argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw usageError(`${(e as Error).message}\nRun "camlens ${command.name} --help" for usage.`);
  }
}

/** A command-line mistake (exit code 2), as opposed to bad input found while working (exit 1). */
export const usageError = (message: string) => new CamLensError('BAD_ARGUMENT', message, { usage: true });

export const helpText = (c: Command) => `${c.summary}\n\nUsage: ${c.usage}\n\n${c.details}`.trimEnd() + '\n';
