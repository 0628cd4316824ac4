/**
 * Anthropic Messages API wire shapes the gateway produces (answers, stream events, errors).
 * Requests are read field by field from untyped JSON in request.ts, so only outputs are typed.
 */

export type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "refusal";

export interface TextBlock {
  type: "text";
  text: string;
}

export interface ThinkingBlock {
  type: "thinking";
  thinking: string;
  /** Anthropic signs its own thinking; miners' reasoning has no signature, so this stays "". */
  signature: string;
}

export interface ToolUseBlock {
  type: "tool_use";
  id: string;
  name: string;
  input: unknown;
}

export type ContentBlock = TextBlock | ThinkingBlock | ToolUseBlock;

export interface Usage {
  /** Prompt tokens not read from cache (Anthropic's meaning: cached tokens are reported apart). */
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface Message {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: ContentBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: Usage;
}

export type Delta =
  | { type: "text_delta"; text: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "input_json_delta"; partial_json: string };

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "timeout_error"
  | "overloaded_error";

export interface ErrorBody {
  type: "error";
  error: { type: ErrorType; message: string };
  request_id?: string;
}

/** Every stream event, in the order the API sends them (ping may appear anywhere). */
export type StreamEvent =
  | { type: "message_start"; message: Message }
  | { type: "ping" }
  | { type: "content_block_start"; index: number; content_block: ContentBlock }
  | { type: "content_block_delta"; index: number; delta: Delta }
  | { type: "content_block_stop"; index: number }
  | {
      type: "message_delta";
      delta: { stop_reason: StopReason | null; stop_sequence: string | null };
      usage: Usage;
    }
  | { type: "message_stop" }
  | ErrorBody;
