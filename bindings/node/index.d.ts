import { EventEmitter } from "node:events";

export interface Status {
  /** `tenure status`'s exit code: 0 licensed. */
  code: number;
  licensed: boolean;
  state: string;
  sentence: string;
  graceDaysLeft: number | null;
  offlineUntil: Date | null;
  expiresAt: Date | null;
  seatKind: "named" | "concurrent" | null;
  seats: number;
  modules: string[];
  developmentBuild: boolean;
  databaseProblem: string | null;
}

export class Seat extends EventEmitter {
  readonly sessionId: string;
  readonly lost: string | null;
  setIdle(idle: boolean): void;
  release(): Promise<void>;
  unref(): this;
  on(event: "lost" | "trouble" | "recovered", listener: (sentence: string) => void): this;
}

export interface WorkstationOptions {
  profile?: string | null;
  productDb?: string | null;
  server?: string | null;
  timeoutSeconds?: number;
}

export class Workstation {
  constructor(options?: WorkstationOptions);
  setTimeout(seconds: number): void;
  status(): Promise<Status>;
  validate(): Promise<Status>;
  activate(key: string): Promise<Status>;
  moduleEnabled(name: string): Promise<boolean>;
  authorize(user: string): Promise<string>;
  takeSeat(user: string, options?: { machine?: string | null }): Promise<Seat>;
  /** Waits in line for a seat when none is free; rejects with Timeout after maxWaitSeconds. */
  waitForSeat(
    user: string,
    options?: { machine?: string | null; maxWaitSeconds?: number; onPlace?: ((sentence: string) => void) | null },
  ): Promise<Seat>;
  endSession(sessionId: string): Promise<boolean>;
  registerDevice(deviceId: string, deviceType: string): Promise<string>;
  offlineRequest(wish?: "validate" | "extend" | "activate" | "rebind", options?: { argument?: string | null; days?: number }): Promise<string>;
  offlineImport(answer: Buffer): Promise<Status>;
  close(): Promise<void>;
}

export class TenureError extends Error {}
export class InvalidArgument extends TenureError {}
export class NotActivated extends TenureError {}
export class ServerError extends TenureError {}
export class DatabaseError extends TenureError {}
export class KeyringError extends TenureError {}
export class FileRefused extends TenureError {}
export class Timeout extends TenureError {}
export class Refused extends TenureError {
  readonly reason: string;
}
