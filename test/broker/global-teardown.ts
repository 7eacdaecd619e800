/** Stops the broker global-setup.ts started; Jest runs this even when tests failed. */
export default async function globalTeardown(): Promise<void> {
  const broker = globalThis.__kafkarxBroker;
  globalThis.__kafkarxBroker = undefined;
  if (broker) await broker.stop();
}
