import {
  describePlan,
  planInfrastructure,
  probeInfrastructure,
  type StartedInfrastructure,
  startContainers,
} from './infrastructure';

// Jest globalSetup of the integration tests: decides once where Kafka, Postgres and
// Redis come from (infrastructure.ts), starts containers where the plan says so, and
// points every test worker, and every service a test starts, at them through the
// environment (workers start after this and inherit it).

declare global {
  var cioBridgeContainers: StartedInfrastructure | undefined;
}

export default async function globalSetup(): Promise<void> {
  const plan = planInfrastructure(await probeInfrastructure());
  console.log(`\n${describePlan(plan)}`);
  if (!Object.values(plan).includes('container')) return;
  const started = await startContainers(plan);
  Object.assign(process.env, started.env);
  globalThis.cioBridgeContainers = started;
}
