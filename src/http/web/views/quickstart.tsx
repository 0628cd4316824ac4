/** Copy-paste set-up for the API and coding agents, filled with this gateway's base URL. */

function Snippet(props: { id: string; title: string; note?: string; code: string }) {
  return (
    <section class="card">
      <div class="row-between">
        <h2>{props.title}</h2>
        <button type="button" data-copy={props.id}>Copy</button>
      </div>
      {props.note ? <p class="muted">{props.note}</p> : null}
      <pre><code id={props.id}>{props.code}</code></pre>
    </section>
  );
}

export function QuickstartPage(props: { base: string; model: string }) {
  const { base, model } = props;
  const key = "$GATEWAY_API_KEY";
  return (
    <>
      <p>
        Create a key on the <a href="/app/keys">Keys</a> page, then <code>export GATEWAY_API_KEY=sk-…</code>. Replace <code>{model}</code> with any id from <code>GET {base}/v1/models</code>.
      </p>
      <Snippet id="qs-curl" title="curl" code={`curl ${base}/v1/chat/completions \\\n  -H "authorization: Bearer ${key}" \\\n  -H "content-type: application/json" \\\n  -d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'`} />
      <Snippet id="qs-node" title="openai (Node / TypeScript)" code={`import OpenAI from "openai";\n\nconst client = new OpenAI({ baseURL: "${base}/v1", apiKey: process.env.GATEWAY_API_KEY });\nconst r = await client.chat.completions.create({\n  model: "${model}",\n  messages: [{ role: "user", content: "Hello" }],\n});\nconsole.log(r.choices[0].message.content);`} />
      <Snippet id="qs-python" title="openai (Python)" code={`from openai import OpenAI\nimport os\n\nclient = OpenAI(base_url="${base}/v1", api_key=os.environ["GATEWAY_API_KEY"])\nr = client.chat.completions.create(model="${model}", messages=[{"role": "user", "content": "Hello"}])\nprint(r.choices[0].message.content)`} />
      <Snippet id="qs-claude" title="Claude Code" code={`export ANTHROPIC_BASE_URL=${base}\nexport ANTHROPIC_API_KEY=${key}\nexport ANTHROPIC_MODEL=${model}\nexport ANTHROPIC_DEFAULT_HAIKU_MODEL=${model}\nexport CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1\nclaude`} />
      <Snippet id="qs-codex" title="Codex CLI" note="~/.codex/config.toml; then run codex with GATEWAY_API_KEY set." code={`model = "${model}"\nmodel_provider = "gateway"\n\n[model_providers.gateway]\nname = "Bittensor gateway"\nbase_url = "${base}/v1"\nenv_key = "GATEWAY_API_KEY"\nwire_api = "responses"`} />
      <Snippet id="qs-opencode" title="OpenCode" note="opencode.json in your project." code={JSON.stringify({ $schema: "https://opencode.ai/config.json", provider: { gateway: { npm: "@ai-sdk/openai-compatible", name: "Bittensor gateway", options: { baseURL: `${base}/v1`, apiKey: "{env:GATEWAY_API_KEY}" }, models: { [model]: { name: model } } } }, model: `gateway/${model}` }, null, 2)} />
      <Snippet id="qs-cline" title="Cline" note="VS Code → Cline settings." code={`API Provider: OpenAI Compatible\nBase URL:     ${base}/v1\nAPI Key:      <your key>\nModel ID:     ${model}`} />
      <Snippet id="qs-aider" title="Aider" code={`export OPENAI_API_BASE=${base}/v1\nexport OPENAI_API_KEY=${key}\naider --model openai/${model} --no-show-model-warnings`} />
    </>
  );
}
