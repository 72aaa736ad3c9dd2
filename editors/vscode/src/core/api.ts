// Request bodies and reply parsing for each API the extension can talk to.

import { ExtraChunk } from "./ring";

export type Api = "openai" | "infill" | "ollama";

export interface RequestOptions {
  maxTokens: number;
  model: string;
  language?: string;
  filename?: string;
  extra?: ExtraChunk[]; // repository context: llama.cpp's input_extra, which fimkit accepts on every API
}

export function buildRequest(api: Api, prefix: string, suffix: string, o: RequestOptions): { path: string; body: any } {
  if (api === "infill") {
    return {
      path: "/infill",
      body: { input_prefix: prefix, input_suffix: suffix, input_extra: o.extra ?? [], n_predict: o.maxTokens, temperature: 0, cache_prompt: true, stream: false, early_reply: true },
    };
  }
  if (api === "ollama") {
    // Ollama does not treat an empty suffix as FIM: send a newline instead.
    return {
      path: "/api/generate",
      body: { model: o.model || "fimkit", prompt: prefix, suffix: suffix || "\n", stream: false, options: { num_predict: o.maxTokens, temperature: 0 }, input_extra: o.extra?.length ? o.extra : undefined, early_reply: true },
    };
  }
  return {
    path: "/v1/completions",
    // early_reply: fimkit answers a block with its first line at once and generates the rest ahead, for the
    // request made when that line is accepted (other servers ignore the field).
    body: { model: o.model || undefined, prompt: prefix, suffix, max_tokens: o.maxTokens, temperature: 0, stream: false, language: o.language, filename: o.filename, input_extra: o.extra?.length ? o.extra : undefined, early_reply: true },
  };
}

export class BadReply extends Error {}

export function parseReply(api: Api, data: any): { text: string; id?: string } {
  if (data === null || typeof data !== "object") throw new BadReply("reply is not a JSON object");
  if (api === "infill") {
    if (typeof data.content !== "string") throw new BadReply("reply has no 'content' string");
    return { text: data.content };
  }
  if (api === "ollama") {
    if (typeof data.response !== "string") throw new BadReply("reply has no 'response' string");
    return { text: data.response };
  }
  const choice = Array.isArray(data.choices) ? data.choices[0] : undefined;
  if (!choice || typeof choice.text !== "string") throw new BadReply("reply has no choices[0].text");
  return { text: choice.text, id: typeof data.id === "string" ? data.id : undefined };
}
