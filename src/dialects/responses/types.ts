/**
 * OpenAI Responses API wire shapes the gateway produces. Requests are read field by field from
 * untyped JSON in request.ts, so only outputs are typed here.
 */

export interface OutputText {
  type: "output_text";
  text: string;
  annotations: [];
  logprobs: [];
}

export interface ReasoningText {
  type: "reasoning_text";
  text: string;
}

export interface MessageItem {
  id: string;
  type: "message";
  status: "in_progress" | "completed" | "incomplete";
  role: "assistant";
  content: OutputText[];
}

export interface FunctionCallItem {
  id: string;
  type: "function_call";
  status: "in_progress" | "completed" | "incomplete";
  call_id: string;
  name: string;
  arguments: string;
}

/** Miners' reasoning, as the API returns it for open-weight models: `reasoning_text` content. */
export interface ReasoningItem {
  id: string;
  type: "reasoning";
  summary: [];
  content: ReasoningText[];
}

export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export interface ResponseObject {
  id: string;
  object: "response";
  created_at: number;
  status: ResponseStatus;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: "max_output_tokens" | "content_filter" } | null;
  model: string;
  output: OutputItem[];
  usage: ResponseUsage | null;
  /** Echoes of the request, as the API returns them. */
  instructions: unknown;
  max_output_tokens: number | null;
  parallel_tool_calls: boolean;
  previous_response_id: null;
  reasoning: unknown;
  store: boolean;
  temperature: number | null;
  text: unknown;
  tool_choice: unknown;
  tools: unknown[];
  top_p: number | null;
  truncation: "disabled";
  user: string | null;
  metadata: Record<string, unknown>;
}
