/**
 * Latency of each endpoint through the local HTTP server under concurrent
 * load (autocannon). No budget: the embedded store, single-threaded on the
 * same machine, is the bottleneck here, not the service; the figures show
 * the shape (p50 vs p99) and that nothing fails under load.
 */
import autocannon from 'autocannon';

export interface LatencyScenario {
  name: string;
  method: 'GET' | 'POST';
  /** Path (with query) or body of the i-th request. */
  path: (i: number) => string;
  body?: (i: number) => string;
  /** Stop after this many requests even if the duration is not over (e.g. a finite pool of sessions). */
  maxRequests?: number;
  /** What the responses are expected to be. */
  expectStatus: number;
}

export interface LatencyResult {
  name: string;
  connections: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Responses by status code: anything but the expected one is reported, not hidden. */
  statusCodes: Record<string, number>;
  /** Responses with another status than expected, plus connection errors. */
  unexpected: number;
  errors: number;
}

export async function measureLatency(
  baseUrl: string,
  scenario: LatencyScenario,
  options: { connections: number; durationSeconds: number },
): Promise<LatencyResult> {
  let next = 0;
  const result = await autocannon({
    url: baseUrl,
    connections: options.connections,
    duration: options.durationSeconds,
    maxOverallRequests: scenario.maxRequests,
    timeout: 30,
    requests: [
      {
        method: scenario.method,
        headers: scenario.body ? { 'content-type': 'application/json' } : {},
        // Each request gets its own path/body: a fresh session to schedule, the next page…
        setupRequest: (request) => {
          const i = next++;
          return { ...request, path: scenario.path(i), ...(scenario.body ? { body: scenario.body(i) } : {}) };
        },
      },
    ],
  });
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  return {
    name: scenario.name,
    connections: options.connections,
    seconds: result.duration,
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    statusCodes,
    unexpected:
      Object.entries(statusCodes).reduce((sum, [code, count]) => sum + (Number(code) === scenario.expectStatus ? 0 : count), 0) +
      result.errors,
    errors: result.errors,
  };
}
