/**
 * OpenAI's Responses body (POST /v1/responses), stateless: the fields and the shape of `input` as
 * one definition. Input items, tools and tool_choice objects are read and checked by the translator
 * as it converts them (src/dialects/responses/request.ts): their rules are in the descriptions.
 */
import { anyJson, arr, bool, int, nul, num, obj, oneOf, opt, readWhen, req, str } from "../schema";
import { isObject } from "../../lib/json";
import { MAX_OUTPUT_TOKENS } from "./openai";

const stateful = (field: string) =>
  opt(
    nul({
      refused: {
        message: () => `'${field}' is not supported: this gateway does not store responses. Send the whole conversation in 'input' (and 'store': false).`,
        code: "unsupported_parameter",
      },
      description: "Not supported (it needs stored responses): send the whole conversation in input.",
    }),
  );

const isJsonSchema = (format: Readonly<Record<string, unknown>>) => format.type === "json_schema";
const hasFunctionTools = (body: Readonly<Record<string, unknown>>) => Array.isArray(body.tools) && body.tools.some((t) => isObject(t) && t.type === "function");

const formatTypeRefused = { message: () => "'text.format.type' must be text, json_object or json_schema." };

export const RESPONSES_BODY = obj(
  {
    model: req(str({ nonEmpty: true, description: "Any id from GET /v1/models." })),
    previous_response_id: stateful("previous_response_id"),
    conversation: stateful("conversation"),
    background: opt(anyJson({ description: "true is refused: background responses need stored responses." })),
    stream: opt(bool()),
    instructions: opt(str()),
    input: {
      ...req(
        oneOf(
          [
            str(),
            arr(obj({}, { expected: "an input item object", description: "message (role user, assistant, system or developer; content a string or parts input_text, output_text, refusal, input_image with image_url), function_call (call_id, name, arguments), function_call_output (call_id, output), reasoning." }), {
              minItems: 1,
              invalid: () => "'input' must contain at least one item.",
            }),
          ],
          { expected: "a string or an array of input items" },
        ),
      ),
      nullIsAbsent: true,
    },
    max_output_tokens: opt(int(1, MAX_OUTPUT_TOKENS)),
    temperature: opt(num(0, 2)),
    top_p: opt(num(0, 1)),
    user: opt(str()),
    safety_identifier: readWhen(opt(str()), (b) => b.user == null, "only without user"),
    parallel_tool_calls: opt(bool()),
    text: opt(
      obj({
        format: opt(
          obj({
            type: req(str({ enum: ["text", "json_object", "json_schema"], refused: formatTypeRefused }), { missing: "refused" }),
            name: readWhen(req(str({ nonEmpty: true })), isJsonSchema, "only when type is json_schema"),
            schema: readWhen(opt(obj({})), isJsonSchema, "only when type is json_schema"),
          }),
        ),
      }),
    ),
    tools: opt(arr(obj({}), { description: "Function tools ({type:'function', name, parameters?, description?}); hosted and other tools are dropped." })),
    tool_choice: readWhen(
      opt(
        oneOf([str({ enum: ["auto", "none", "required"] }), obj({}, { description: "{type:'function', name} or {type:'allowed_tools', mode}; hosted tool choices mean auto." })], {
          refused: { message: () => "'tool_choice' must be auto, none, required or a tool choice object." },
        }),
      ),
      hasFunctionTools,
      "only when tools has a function tool (the others are dropped)",
    ),
    metadata: opt(obj({})),
  },
  { description: "OpenAI Responses API, stateless: previous_response_id, background and stored conversations are refused." },
);
