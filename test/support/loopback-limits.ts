/**
 * Per-address limits far above what one test file does from 127.0.0.1. Every test client connects
 * from loopback, so a file with a hundred logins would otherwise meet the limits that protect a
 * server from one hostile address. Tests that are about those limits (test/hostile/) use the
 * defaults instead.
 */
import type { ServerConfig } from "../../server/config.ts";

/** Spread into `startServer({...})` by tests that are not about per-address limits. */
export const LOOPBACK_TEST_LIMITS: Partial<ServerConfig> = {
  maxConnectionsPerAddress: 100_000,
  upgradesPerSecondPerAddress: 100_000,
  upgradeBurstPerAddress: 100_000,
  loginsPerSecondPerAddress: 100_000,
  loginBurstPerAddress: 100_000,
  callsPerSecondPerAddress: 100_000,
  callBurstPerAddress: 100_000,
  resumeFailuresPerSecondPerAddress: 100_000,
  resumeFailureBurstPerAddress: 100_000,
};
