import { request } from "node:http";
import type { Duplex } from "node:stream";

/**
 * Attaches to a created container's stdin, stdout and stderr over the Engine
 * API's hijacked connection (`POST /containers/{id}/attach`, HTTP upgrade).
 * Done by hand rather than through dockerode because dockerode also sends
 * its options as a request body, which podman then reads as the container's
 * stdin. Docker and podman both answer 101 and stream multiplexed frames.
 *
 * @see https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerAttach
 */
export function attachContainer(socketPath: string, containerId: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      method: "POST",
      path: `/containers/${encodeURIComponent(containerId)}/attach?stream=1&stdin=1&stdout=1&stderr=1`,
      headers: { Connection: "Upgrade", Upgrade: "tcp", "Content-Length": "0" },
    });
    req.once("upgrade", (_res, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        reject(
          new Error(
            `attach answered HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString("utf8").trim()}`,
          ),
        ),
      );
    });
    req.once("error", reject);
    req.end();
  });
}
