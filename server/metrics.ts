/**
 * Process-wide counters exposed at `/metrics` (Prometheus text format) and `/healthz`.
 */
import type { ErrorCode } from "../shared/protocol/index.ts";

/** Counters the transport (and the HTTP routes) increment; plain numbers so the hot path stays cheap. */
export class ServerMetrics {
  connectionsOpened = 0;
  connectionsClosed = 0;
  messagesReceived = 0;
  messagesSent = 0;
  readonly errorsByCode = new Map<ErrorCode, number>();
  readonly closesByCode = new Map<number, number>();
  /** Exceptions caught by a handler boundary, by where they happened (`http`, `message`, `timer`…). */
  readonly internalErrorsByPlace = new Map<string, number>();
  /** WebSocket upgrades answered with an HTTP error instead of 101, by reason. */
  readonly upgradesRefusedByReason = new Map<string, number>();

  /** Counts one `error` reply with `code`. */
  countError(code: ErrorCode): void {
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
  }

  /** Counts one connection closed with WebSocket close `code`. */
  countClose(code: number): void {
    this.connectionsClosed += 1;
    this.closesByCode.set(code, (this.closesByCode.get(code) ?? 0) + 1);
  }

  /** Counts one exception caught at `place`. */
  countInternalError(place: string): void {
    this.internalErrorsByPlace.set(place, (this.internalErrorsByPlace.get(place) ?? 0) + 1);
  }

  /** Counts one upgrade refused for `reason`. */
  countUpgradeRefused(reason: string): void {
    this.upgradesRefusedByReason.set(reason, (this.upgradesRefusedByReason.get(reason) ?? 0) + 1);
  }

  /** Renders every counter and the given gauges in Prometheus text exposition format. */
  render(gauges: Record<string, number>): string {
    const cpu = process.cpuUsage();
    const lines: string[] = [
      "# TYPE webrtc_room_connections_opened_total counter",
      `webrtc_room_connections_opened_total ${this.connectionsOpened}`,
      "# TYPE webrtc_room_connections_closed_total counter",
      ...[...this.closesByCode].map(([code, count]) => `webrtc_room_connections_closed_total{code="${code}"} ${count}`),
      "# TYPE webrtc_room_messages_received_total counter",
      `webrtc_room_messages_received_total ${this.messagesReceived}`,
      "# TYPE webrtc_room_messages_sent_total counter",
      `webrtc_room_messages_sent_total ${this.messagesSent}`,
      "# TYPE webrtc_room_errors_total counter",
      ...[...this.errorsByCode].map(([code, count]) => `webrtc_room_errors_total{code="${code}"} ${count}`),
      "# TYPE webrtc_room_internal_errors_total counter",
      ...[...this.internalErrorsByPlace].map(([place, count]) => `webrtc_room_internal_errors_total{place="${place}"} ${count}`),
      "# TYPE webrtc_room_upgrades_refused_total counter",
      ...[...this.upgradesRefusedByReason].map(([reason, count]) => `webrtc_room_upgrades_refused_total{reason="${reason}"} ${count}`),
      "# TYPE process_cpu_user_seconds_total counter",
      `process_cpu_user_seconds_total ${cpu.user / 1e6}`,
      "# TYPE process_cpu_system_seconds_total counter",
      `process_cpu_system_seconds_total ${cpu.system / 1e6}`,
      "# TYPE process_resident_memory_bytes gauge",
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    ];
    for (const [name, value] of Object.entries(gauges)) {
      lines.push(`# TYPE ${name} gauge`, `${name} ${value}`);
    }
    return `${lines.join("\n")}\n`;
  }
}
