/**
 * Sends `records` messages in arrays of `perSend`, keeping `inFlight` sends going: each lane builds
 * its next array only when its previous send is answered, as an application that batches its own
 * records would. Resolves with the number of records acknowledged.
 */
export async function sendInLanes<M>(records: number, perSend: number, inFlight: number, message: (i: number) => M, send: (messages: M[]) => Promise<unknown>): Promise<number> {
  let next = 0;
  let acked = 0;
  const lane = async (): Promise<void> => {
    while (next < records) {
      const from = next;
      const to = Math.min(records, from + perSend);
      next = to;
      const messages = new Array<M>(to - from);
      for (let i = from; i < to; i++) messages[i - from] = message(i);
      await send(messages);
      acked += to - from;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return acked;
}
