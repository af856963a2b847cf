import { randomUUID } from "node:crypto";

/**
 * In-memory stand-in for the DynamoDB join table, with the semantics the
 * compiled join states rely on (see `asl/join-states.ts`): conditional
 * "add waiter unless done", "mark done and return waiters", and callbacks
 * by task token.
 */
export class LocalJoinTable {
  private readonly items = new Map<string, { done: boolean; output?: unknown; waiters: Set<string> }>();
  private readonly callbacks = new Map<
    string,
    { resolve: (output: unknown) => void; reject: (e: Error) => void }
  >();

  /** `updateItem.waitForTaskToken` with `attribute_not_exists(done)`. Resolves with the signalled output. */
  awaitDone(key: string): Promise<unknown> {
    const item = this.item(key);
    if (item.done) return Promise.reject(conditionFailed());
    const token = randomUUID();
    item.waiters.add(token);
    return new Promise((resolve, reject) => this.callbacks.set(token, { resolve, reject }));
  }

  /**
   * Ends every wait still pending. A Parallel whose branch failed stops its
   * other branches only between states, so a waiter on a producer that
   * failed would otherwise hold its Task's timeout timer (and the process)
   * until the timeout.
   */
  releaseWaiters(reason: string): void {
    const pending = [...this.callbacks.values()];
    this.callbacks.clear();
    for (const { reject } of pending)
      reject(Object.assign(new Error(reason), { name: "Ferry.ExecutionEnded" }));
  }

  /** `getItem` after the condition failed. */
  read(key: string): { Item: { output: { S: string } } } {
    const item = this.item(key);
    if (!item.done) throw new Error(`join table: ${key} is not done`);
    return { Item: { output: { S: JSON.stringify(item.output) } } };
  }

  /** `updateItem SET done, output` with `ReturnValues: ALL_OLD`. */
  markDone(key: string, output: unknown): { Attributes?: { waiters: { SS: string[] } } } {
    const item = this.item(key);
    const waiters = [...item.waiters];
    item.done = true;
    item.output = output;
    item.waiters.clear();
    return waiters.length > 0 ? { Attributes: { waiters: { SS: waiters } } } : {};
  }

  /** `sfn:sendTaskSuccess` to a waiter. */
  sendTaskSuccess(token: string, output: unknown): Record<string, never> {
    const callback = this.callbacks.get(token);
    if (!callback)
      throw Object.assign(new Error("Task token is not valid"), { name: "Sfn.InvalidTokenException" });
    this.callbacks.delete(token);
    callback.resolve(output);
    return {};
  }

  private item(key: string) {
    let item = this.items.get(key);
    if (!item) {
      item = { done: false, waiters: new Set() };
      this.items.set(key, item);
    }
    return item;
  }
}

function conditionFailed(): Error {
  const error = new Error("The conditional request failed");
  error.name = "DynamoDb.ConditionalCheckFailedException";
  return error;
}
