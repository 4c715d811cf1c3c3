#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { runCli } from './cli';

// Reading a large dead-letter topic allocates many short-lived objects; V8 would grow
// its young generation for them to 250+ MB of memory. Kept at its initial size, a
// 100,000-message list stays under 200 MB at about the same speed.
setFlagsFromString('--semi-space-growth-factor=1');
// A replay keeps little alive, but promotes a lot of short-lived garbage (decoded
// fetches waiting for the broker's acknowledgements); growing the old generation by
// half instead of V8's default lets the collector return it sooner: at 100,000
// messages about 175-215 MB instead of 245-310 MB, for some 10 % more CPU.
setFlagsFromString('--heap-growing-percent=50');

// Output piped into `head` or `less` that closes early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  onInterrupt: (handler) => {
    // The first Ctrl-C asks the command to stop cleanly; a second one exits at once.
    const first = () => {
      process.off('SIGINT', first);
      process.once('SIGINT', () => {
        process.stderr.write('\x1b[?25h'); // the progress bar hides the cursor
        process.exit(130);
      });
      handler();
    };
    process.on('SIGINT', first);
    return () => process.off('SIGINT', first);
  },
}).then((code) => {
  process.exitCode = code;
  // Connections are closed; a stray client timer must not keep the terminal waiting.
  setTimeout(() => process.exit(code), 2_000).unref();
});
