// Which special tokens `tokenizer(text)` adds, decided as Hugging Face transformers (5.x,
// TokenizersBackend) decides it, so that calibration and `--text` evaluation see the ids the
// model was trained and evaluated with:
//   - tokenizer.json's post_processor is used as shipped (Llama 3's TemplateProcessing adds
//     <|begin_of_text|>; Qwen2/3's ByteLevel adds nothing), unless
//   - tokenizer_config.json sets add_bos_token / add_eos_token, or the post_processor is null,
//     or the tokenizer class always sets them (LlamaTokenizer, GemmaTokenizer: BOS on, EOS off
//     by default): then the post_processor becomes [BOS] $A [EOS] with exactly those flags.
// A flag set for a token the config does not name is dropped, as transformers drops it.
import { TokenizerError } from '../io/errors.js';

type Json = Record<string, unknown>;

/** Tokenizer classes whose constructor always passes add_bos_token / add_eos_token (BOS on by default). */
const BOS_BY_DEFAULT: Record<string, { bos: string; eos: string }> = {
  LlamaTokenizer: { bos: '<s>', eos: '</s>' },
  LlamaTokenizerFast: { bos: '<s>', eos: '</s>' },
  CodeLlamaTokenizer: { bos: '<s>', eos: '</s>' },
  CodeLlamaTokenizerFast: { bos: '<s>', eos: '</s>' },
  GemmaTokenizer: { bos: '<bos>', eos: '<eos>' },
  GemmaTokenizerFast: { bos: '<bos>', eos: '<eos>' },
};

export interface SpecialTokenRule {
  addBos: boolean;
  addEos: boolean;
  bos: string | null;
  eos: string | null;
}

/**
 * The add_bos / add_eos rule a tokenizer_config.json states, or null when it states none and
 * the shipped post_processor stands. `postProcessorIsNull`: tokenizer.json's post_processor is null
 * (transformers then builds one from the flags, both off unless set).
 */
export function specialTokenRule(config: Json, postProcessorIsNull: boolean): SpecialTokenRule | null {
  const cls = typeof config.tokenizer_class === 'string' ? BOS_BY_DEFAULT[config.tokenizer_class] : undefined;
  const explicit = 'add_bos_token' in config || 'add_eos_token' in config;
  if (!explicit && !cls && !postProcessorIsNull) return null;
  const bos = tokenContent(config.bos_token, cls?.bos);
  const eos = tokenContent(config.eos_token, cls?.eos);
  const flag = (key: string, dflt: boolean) => (typeof config[key] === 'boolean' ? (config[key] as boolean) : dflt);
  return { addBos: flag('add_bos_token', !!cls) && bos !== null, addEos: flag('add_eos_token', false) && eos !== null, bos, eos };
}

/** tokenizer.json with its post_processor replaced as `rule` says (unchanged when rule is null). */
export function withSpecialTokenRule(tokenizer: Json, rule: SpecialTokenRule | null): Json {
  if (!rule) return tokenizer;
  const single: object[] = [];
  const specials: Record<string, object> = {};
  const special = (token: string) => {
    const id = idOf(tokenizer, token);
    single.push({ SpecialToken: { id: token, type_id: 0 } });
    specials[token] = { id: token, ids: [id], tokens: [token] };
  };
  if (rule.addBos) special(rule.bos!);
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  if (rule.addEos) special(rule.eos!);
  return { ...tokenizer, post_processor: { type: 'TemplateProcessing', single, pair: [], special_tokens: specials } };
}

/** A token named in tokenizer_config.json: a string, an AddedToken object, or null (none). */
function tokenContent(value: unknown, classDefault: string | undefined): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  if (value === null) return null;
  return classDefault ?? null;
}

function idOf(tokenizer: Json, token: string): number {
  const added = (tokenizer.added_tokens as Array<{ id: number; content: string }> | undefined)?.find((t) => t.content === token);
  if (added) return added.id;
  const vocab = (tokenizer.model as Json | undefined)?.vocab;
  const id = Array.isArray(vocab)
    ? vocab.findIndex((v) => Array.isArray(v) && v[0] === token)
    : (vocab as Record<string, number> | undefined)?.[token];
  if (typeof id !== 'number' || id < 0) throw new TokenizerError(`tokenizer_config.json asks for special token ${JSON.stringify(token)}, which tokenizer.json does not hold`);
  return id;
}
