/**
 * V8's heap settings for this process, applied before anything else is loaded.
 *
 * The worker allocates fast (tens of thousands of JSON operations a second) and keeps
 * many of them alive briefly, which makes V8 grow the young generation to its default
 * maximum (32 MB semi-spaces on 64-bit Node 24): about 360 MB resident at full speed.
 * 8 MB semi-spaces keep it near 260 MB at the same throughput (scavenges are more
 * frequent but each is shorter). When neither the
 * command line nor NODE_OPTIONS chose a size, the process re-executes itself once
 * with it (`process.execve`: same PID, same environment and standard streams); on a
 * Node without `execve` it runs with V8's default.
 */
const FLAG = '--max-semi-space-size';
export const SEMI_SPACE_MB = 8;

const chosen = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) =>
  arg.startsWith(FLAG),
);
if (!chosen && typeof process.execve === 'function') {
  process.execve(
    process.execPath,
    [process.execPath, `${FLAG}=${SEMI_SPACE_MB}`, ...process.execArgv, ...process.argv.slice(1)],
    process.env,
  );
}
