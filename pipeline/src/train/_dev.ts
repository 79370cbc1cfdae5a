// Temporary dev entry (deleted before hand-off): the train command alone, while main.ts is in flux.
import { Command } from 'commander';
import { register } from '../cli/commands/train.js';
const program = new Command('edgedistill');
register(program);
await program.parseAsync(process.argv);
