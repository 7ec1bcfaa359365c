/**
 * Awaits a conditional DynamoDB write: true if it was applied, false if its condition did not
 * hold. Exactly-once claims, locks and decisions are built on this; any other error is thrown.
 */
export async function writeIf(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}
