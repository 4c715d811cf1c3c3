// Jest globalTeardown of the integration tests: stops the containers globalSetup started.
export default async function globalTeardown(): Promise<void> {
  await globalThis.cioBridgeContainers?.stop();
}
