/**
 * Accumulates what one request did and emits exactly one usage event, whatever path ends it
 * (success, miner failure, client cancel, stream cut). `finish` is idempotent: the first call
 * wins, later ones are no-ops, so racing end paths cannot double-count.
 */
import { countTokens } from "../lib/tokens";
import { billableTokens, costMicroUsd, type ModelPrice } from "./pricing";
import type { AttemptOutcome, AttemptRecord, Endpoint, UsageEvent, UsageStatus } from "./usage-event";

export interface MeterBase {
  requestId: string;
  kind: UsageEvent["kind"];
  subscriberId: string | null;
  apiKeyId: string | null;
  endpoint: Endpoint;
  model: string;
  streamed: boolean;
  promptTokensCounted: number;
  /** The model's price for this subscriber's request; absent (canaries): the event costs 0. */
  price?: ModelPrice | null;
}

export interface ReportedUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: unknown;
}

export class UsageMeter {
  readonly startedAt = Date.now();
  private minerHotkey: string | null = null;
  private attempts = 0;
  private answered = false;
  private firstByteAt: number | null = null;
  private promptReported: number | null = null;
  private completionReported: number | null = null;
  private cachedReported: number | null = null;
  private readonly delivered: string[] = [];
  /** Attempts so far; the open one (last) is closed by the next attempt or by finish(). */
  private readonly log: { minerHotkey: string; outcome: AttemptOutcome | null; fromPiece: number }[] = [];
  private event: UsageEvent | null = null;
  private settle!: () => void;
  /**
   * Resolves once the event has been handed to the sink. Register it with `waitUntil` when the
   * request starts: a client that disconnects ends the request, and only a promise registered
   * while it was alive keeps the Worker running long enough to emit the event.
   */
  readonly settled = new Promise<void>((resolve) => (this.settle = resolve));

  constructor(
    private readonly base: MeterBase,
    private readonly sink: (event: UsageEvent) => Promise<void>,
  ) {}

  attempt(minerHotkey: string): void {
    const open = this.log.at(-1);
    if (open && open.outcome === null) open.outcome = "failed";
    this.attempts++;
    this.minerHotkey = minerHotkey;
    this.log.push({ minerHotkey, outcome: null, fromPiece: this.delivered.length });
  }

  /** The current attempt's stream broke after delivering part of the answer; another continues it. */
  attemptBroke(): void {
    const open = this.log.at(-1);
    if (open && open.outcome === null) open.outcome = "broken";
  }

  /** The current attempt failed before delivering anything (a continuation that did not start). */
  attemptFailed(): void {
    const open = this.log.at(-1);
    if (open && open.outcome === null) open.outcome = "failed";
  }

  /** The gateway's own count of the prompt. */
  get promptTokens(): number {
    return this.base.promptTokensCounted;
  }

  /** Text delivered so far (the prefix a continuation starts from). */
  deliveredText(): string {
    return this.delivered.join("");
  }

  private attemptLog(status: UsageStatus): AttemptRecord[] {
    return this.log.map((a, i) => {
      const until = this.log[i + 1]?.fromPiece ?? this.delivered.length;
      const part = this.delivered.slice(a.fromPiece, until).join("");
      const outcome = a.outcome ?? (status === "ok" ? "answered" : this.answered ? "ended" : "failed");
      return { minerHotkey: a.minerHotkey, outcome, completionTokens: part === "" ? 0 : countTokens(part) };
    });
  }

  /** The current attempt is the one answering the client (call before anything can finish the meter). */
  answering(): void {
    this.answered = true;
  }

  /** Did a miner answer the client (as opposed to every attempt failing)? */
  get hasAnswer(): boolean {
    return this.answered;
  }

  firstByte(): void {
    this.firstByteAt ??= Date.now();
  }

  /** Text the client received (content, reasoning, tool-call names and arguments). */
  deliver(text: string): void {
    if (text !== "") this.delivered.push(text);
  }

  reportUsage(usage: ReportedUsage): void {
    if (isCount(usage.prompt_tokens)) this.promptReported = usage.prompt_tokens;
    if (isCount(usage.completion_tokens)) this.completionReported = usage.completion_tokens;
    const details = usage.prompt_tokens_details;
    if (details && typeof details === "object" && "cached_tokens" in details && isCount(details.cached_tokens)) this.cachedReported = details.cached_tokens;
  }

  /** What the request costs if it ended well now: for the usage chunk sent before the stream ends. */
  costSoFar(): number {
    return this.costOf("ok", this.delivered.length === 0 ? 0 : countTokens(this.delivered.join("")));
  }

  private costOf(status: UsageStatus, completionTokensCounted: number): number {
    if (!this.base.price) return 0;
    const tokens = billableTokens({
      status,
      promptTokensReported: this.promptReported,
      promptTokensCounted: this.base.promptTokensCounted,
      completionTokensReported: this.completionReported,
      completionTokensCounted,
      cachedPromptTokensReported: this.cachedReported,
    });
    return costMicroUsd(this.base.price, tokens);
  }

  get finished(): boolean {
    return this.event !== null;
  }

  /** Emits the event once; later calls are no-ops. Returns the event that was (or had been) emitted. */
  finish(status: UsageStatus, httpStatus: number, errorCode: string | null = null): UsageEvent {
    if (this.event) return this.event;
    const now = Date.now();
    const { price: _price, ...base } = this.base;
    const completionTokensCounted = this.delivered.length === 0 ? 0 : countTokens(this.delivered.join(""));
    this.event = {
      ...base,
      minerHotkey: this.minerHotkey,
      status,
      httpStatus,
      errorCode,
      attempts: this.attempts,
      promptTokensReported: this.promptReported,
      completionTokensReported: this.completionReported,
      completionTokensCounted,
      ttftMs: this.firstByteAt === null ? null : this.firstByteAt - this.startedAt,
      durationMs: now - this.startedAt,
      createdAt: this.startedAt,
      cachedPromptTokensReported: this.cachedReported,
      costMicroUsd: this.costOf(status, completionTokensCounted),
      attemptLog: this.attemptLog(status),
    };
    this.sink(this.event)
      .catch((err: unknown) => console.error(`usage event ${this.base.requestId} could not be recorded`, err))
      .finally(this.settle);
    return this.event;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}
