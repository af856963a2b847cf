import { describeQueueContract } from "../testing/queue-suite.ts";
import { InMemoryQueue } from "./in-memory-queue.ts";

describeQueueContract("in-memory", async () => {
  const queue = new InMemoryQueue();
  return {
    queue,
    send: async (body) => {
      queue.send(body);
    },
    deadLetters: async () => queue.deadLetters.map((d) => d.body),
  };
});
